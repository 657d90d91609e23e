"""Reports: pick a month and a department, download CSV, XLSX, PDF or HTML made by the report code.

The file is made by ``monitor/report`` (the same code as ``telmon report``) in
a temporary directory, sent as an attachment and deleted. Every download is an
audit row; whole caller numbers need a stated reason (``number.unmasked``).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import re
import shutil
import tempfile
import threading
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from ..report import command
from ..report.period import DEFAULT_TZ
from .framework import Ctx, Problem, page
from .pages_review import department_param

MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
_STDOUT = threading.Lock()   # the report command prints the paths it wrote; not onto the server's stdout


@page("reports")
def form(ctx: Ctx) -> Response:
    """GET /reports."""
    today = dt.date.today()
    last = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return ctx.render("reports.html", month=last, departments=[d.name for d in ctx.web.directory.departments],
                      formats=list(MEDIA))


@page("reports")
def download(ctx: Ctx) -> Response:
    """POST /reports: the report file."""
    month, fmt = ctx.param("month"), ctx.param("format")
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise Problem(400, "달은 2026-11 꼴로 넣으세요.")
    if fmt not in MEDIA:
        raise Problem(400, "형식은 csv, xlsx, pdf, html 가운데 하나입니다.")
    department = department_param(ctx)
    unmasked = ctx.param("unmasked") == "1"
    reason = ctx.param("reason", limit=500)
    if unmasked and len(reason) < 5:
        raise Problem(400, "번호 전체가 든 보고서에는 이유가 필요합니다(5자 이상). 이유는 감사 기록에 남습니다.")
    tmp = Path(tempfile.mkdtemp(prefix="telmon-web-report-"))
    args = argparse.Namespace(month=month, department=[department] if department else None, formats=[fmt],
                              out=str(tmp), timezone=DEFAULT_TZ, unmasked=unmasked, no_progress=True)
    err = io.StringIO()
    try:
        with _STDOUT, contextlib.redirect_stdout(io.StringIO()):
            code = command.run(args, ctx.web.settings, ctx.web.directory, err)
        made = sorted(tmp.glob(f"*.{fmt}"))
        if code != 0 or not made:
            raise Problem(400, "보고서를 만들 수 없습니다: " + (err.getvalue().strip().splitlines() or ["?"])[-1])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    target = f"{month}" + (f" {department}" if department else "") + f" {fmt}"
    ctx.audit("report.downloaded", target, reason if unmasked else "")
    if unmasked:
        ctx.audit("number.unmasked", f"report {target}", reason)
    return FileResponse(made[0], media_type=MEDIA[fmt], filename=made[0].name,
                        headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))

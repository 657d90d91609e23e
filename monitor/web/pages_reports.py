"""Reports: pick a month and a department, download CSV, XLSX, PDF or HTML made by the report code.

The file is made by ``monitor/report`` (the same code as ``telmon report``) in
a temporary directory, sent as an attachment and deleted. Every download is an
audit row; whole caller numbers need a stated reason (``number.unmasked``).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from ..report.make import ReportRequest, make_report
from ..report.period import ReportError
from .framework import Ctx, Problem, page
from .pages_review import department_param

MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf", "html": "text/html; charset=utf-8"}


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
    request = ReportRequest(month=month, out=str(tmp), formats=[fmt], departments=[department] if department else None,
                            unmasked=unmasked, reason=reason, owner_log=False, progress=False)
    try:
        try:
            make_report(ctx.web.settings, ctx.web.directory, request, io.StringIO())
        except ReportError as exc:
            raise Problem(400, f"보고서를 만들 수 없습니다: {exc}") from None
        made = sorted(tmp.glob(f"*.{fmt}"))
        if not made:
            raise Problem(400, "보고서를 만들 수 없습니다: ?")
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

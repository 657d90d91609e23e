"""The review queue, the review page (listen, read, decide) and the recordings it plays.

Decisions go through :func:`monitor.review.decide`, the same store and the same
record as ``telmon review`` (who, when, note, the original verdict and its
evidence). Opening a review page is a ``transcript.opened`` audit row, fetching
its recording a ``recording.played`` row, deciding a ``review.decided`` row.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import FileResponse, RedirectResponse, Response

from ..core.charter import SPEECH_RULES
from ..review import decide
from ..storage.models import CallRow
from ..storage.workbench import RECORDINGS
from .framework import MAX_NOTE, Ctx, Problem, page
from .queries import QueueFilter, evidence, load_call, review_queue

LINKEDID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
RECORDING = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
AUDIO_TYPES = {".wav": "audio/wav", ".wav16": "audio/wav", ".gsm": "audio/x-gsm", ".ogg": "audio/ogg"}


def _scope(ctx: Ctx) -> Optional[tuple[str, ...]]:
    assert ctx.user is not None
    return ctx.user.departments if ctx.user.role == "supervisor" else None


def person_extension(ctx: Ctx, text: str) -> Optional[str]:
    """An extension from a person's extension or directory name; 400 when neither."""
    if not text:
        return None
    if text.isdigit() and len(text) <= 16:
        return text
    match = next((p.extension for p in ctx.web.directory.people if p.name == text or text in p.aliases), None)
    if match is None:
        raise Problem(400, f"'{text}': 주소록에 없는 사람입니다. 이름이나 내선 번호를 넣으세요.")
    return match


def department_param(ctx: Ctx) -> Optional[str]:
    """The ``department`` field, as the directory spells it; 400 when unknown."""
    text = ctx.param("department")
    if not text:
        return None
    dept = ctx.web.directory.department(text)
    if dept is None:
        raise Problem(400, f"'{text}': 없는 부서입니다.")
    return str(dept.name)


@page("review")
def queue(ctx: Ctx) -> Response:
    """GET /review."""
    rule = ctx.param("rule")
    if rule and rule not in SPEECH_RULES:
        raise Problem(400, f"규칙은 {', '.join(SPEECH_RULES)} 가운데 하나입니다.")
    f = QueueFilter(department_param(ctx), person_extension(ctx, ctx.param("person")), rule or None,
                    ctx.param("not_stated") == "1", _scope(ctx))
    number = ctx.page_number()
    found = review_queue(ctx.web.engine, f, number, ctx.web.settings.web.page_size)
    given = {k: ctx.param(k) for k in ("department", "person", "rule", "not_stated") if ctx.param(k)}
    return ctx.render("review_queue.html", page=found, f=f, person=ctx.param("person"),
                      departments=_departments(ctx), directory=ctx.web.directory, speech_rules=SPEECH_RULES,
                      link=lambda n: "/review?" + urlencode(dict(given, page=n)))


def _departments(ctx: Ctx) -> list[str]:
    scope = _scope(ctx)
    return [d.name for d in ctx.web.directory.departments if scope is None or d.name in scope]


def _check(ctx: Ctx, linkedid: str, rule: str) -> tuple[Any, Any]:
    if not LINKEDID.fullmatch(linkedid) or rule not in SPEECH_RULES:
        raise Problem(404, "그런 검사가 없습니다.")
    call = load_call(ctx.web.engine, linkedid)
    verdict = call.verdicts.get(rule) if call is not None else None
    if call is None or verdict is None:
        raise Problem(404, "그런 검사가 없습니다.")
    assert ctx.user is not None
    if not ctx.user.sees_department(call.department):
        raise ctx.deny(f"{linkedid} {rule}", "다른 부서의 통화입니다.")
    return call, verdict


def _recording_name(ctx: Ctx, linkedid: str, rule: str) -> Optional[str]:
    table = RECORDINGS
    with ctx.web.engine.connect() as conn:
        return conn.scalar(select(table.c.name).where(table.c.linkedid == linkedid, table.c.rule == rule,
                                                      table.c.deleted_at.is_(None)))


@page("review")
def show(ctx: Ctx) -> Response:
    """GET /review/{linkedid}/{rule}."""
    linkedid, rule = ctx.request.path_params["linkedid"], ctx.request.path_params["rule"]
    call, verdict = _check(ctx, linkedid, rule)
    ctx.audit("transcript.opened", f"{linkedid} {rule}")
    ev = evidence(verdict.value)
    checked = evidence(ev.get("original", {}).get("value")) if "review" in ev else ev
    person = ctx.web.directory.person(call.record.answered_by or "") if call.record.answered_by else None
    if call.record.direction == "outbound":
        person = ctx.web.directory.person(call.record.caller or "")
    undecided = verdict.result == "unclear" or (verdict.result == "fail" and "review" not in ev)
    return ctx.render("review.html", call=call, rec=call.record, verdict=verdict, ev=ev, checked=checked,
                      review=ev.get("review"), original=ev.get("original"), person=person,
                      recording=_recording_name(ctx, linkedid, rule), undecided=undecided)


@page("review")
def decide_page(ctx: Ctx) -> Response:
    """POST /review/{linkedid}/{rule}: confirm (violation) or reject (it was stated)."""
    linkedid, rule = ctx.request.path_params["linkedid"], ctx.request.path_params["rule"]
    call, verdict = _check(ctx, linkedid, rule)
    decision, note = ctx.param("decision"), ctx.param("note", limit=MAX_NOTE)
    if decision not in ("confirm", "reject"):
        raise Problem(400, "결정은 '위반 확인' 또는 '밝힘(위반 아님)'입니다.")
    ev = evidence(verdict.value)
    if not (verdict.result == "unclear" or (verdict.result == "fail" and "review" not in ev)):
        raise Problem(409, "이미 결정된 검사입니다.")
    assert ctx.user is not None
    decide(ctx.web.store, call, rule, decision == "confirm", ctx.user.name, note)
    ctx.audit("review.decided", f"{linkedid} {rule}",
              ("confirmed (violation)" if decision == "confirm" else "rejected (stated)") + (f": {note}" if note
                                                                                          else ""))
    return RedirectResponse("/review?decided=" + linkedid, status_code=303)


@page("listen")
def recording(ctx: Ctx) -> Response:
    """GET /recordings/{name}: a kept recording, only from the spool, only for who may hear it."""
    name = ctx.request.path_params["name"]
    if not RECORDING.fullmatch(name):
        raise Problem(404, "그런 녹음이 없습니다.")
    table, calls = RECORDINGS, CallRow.__table__
    with ctx.web.engine.connect() as conn:
        row = conn.execute(select(table.c.linkedid, table.c.rule, table.c.path, calls.c.department)
                           .join(calls, calls.c.linkedid == table.c.linkedid)
                           .where(table.c.name == name, table.c.deleted_at.is_(None))).first()
    if row is None:
        raise Problem(404, "그런 녹음이 없습니다(이미 지워졌을 수 있습니다).")
    spool = Path(ctx.web.settings.agi.spool_dir).resolve()
    path = Path(row.path).resolve()
    if not path.is_relative_to(spool) or path.name != name or not path.is_file():
        raise Problem(404, "그런 녹음이 없습니다.")
    assert ctx.user is not None
    if not ctx.user.sees_department(row.department):
        raise ctx.deny(f"recording {name}", "다른 부서의 녹음입니다.")
    requested = ctx.request.headers.get("range", "")
    if not requested or re.match(r"bytes=0-", requested):   # the start of a playback, not every range
        ctx.audit("recording.played", f"{row.linkedid} {row.rule} {name}")
    return FileResponse(path, media_type=AUDIO_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-store"})

"""The call search and a call's journey; the compliance officer's "show the number" with a reason.

Caller numbers are masked everywhere (``010-****-5678``). Only a role with the
``unmask`` permission sees a whole number, one call at a time, after stating
why; the reason is an audit row (``number.unmasked``). Supervisors see their
own departments' calls only: another department's journey is a 403 and an
audit row.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional
from urllib.parse import urlencode

from starlette.responses import Response

from .framework import Ctx, Problem, page
from .journey import bars, steps
from ..core.charter import CALL_RULES, SPEECH_RULES
from .labels import DIRECTION, OUTCOME, RESULT, RULE
from .pages_review import LINKEDID, department_param, person_extension
from .queries import CallFilter, load_call, search_calls

FILTER_KEYS = ("since", "until", "department", "person", "direction", "outcome", "rule", "result")


def _day(ctx: Ctx, name: str, end: bool = False) -> Optional[float]:
    text = ctx.param(name)
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Problem(400, f"'{name}' 날짜는 2026-11-25 꼴로 넣으세요.") from None
    start = dt.datetime.combine(day, dt.time()).timestamp()
    return start + 86400.0 if end else start


def _choice(ctx: Ctx, name: str, allowed: dict[str, str], pattern: str = r"[a-z_/]{1,16}") -> Optional[str]:
    text = ctx.param(name)
    if not text:
        return None
    # Values the tracker may add later are accepted when they look like one (no free text in SQL anyway).
    if text not in allowed and not re.fullmatch(pattern, text):
        raise Problem(400, f"'{name}' 값 '{text}'을(를) 알 수 없습니다.")
    return text


def call_filter(ctx: Ctx) -> CallFilter:
    """The search form's fields, checked."""
    assert ctx.user is not None
    f = CallFilter(since=_day(ctx, "since"), until=_day(ctx, "until", end=True), department=department_param(ctx),
                   person=person_extension(ctx, ctx.param("person")),
                   direction=_choice(ctx, "direction", DIRECTION), outcome=_choice(ctx, "outcome", OUTCOME),
                   rule=_choice(ctx, "rule", RULE, r"R\d{1,2}"), result=_choice(ctx, "result", RESULT),
                   departments=ctx.user.departments if ctx.user.role == "supervisor" else None)
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise Problem(400, "기간의 끝이 시작보다 앞입니다.")
    if f.department and not ctx.user.sees_department(f.department):
        raise ctx.deny(f"calls of {f.department}", "다른 부서의 통화입니다.")
    return f


@page("calls")
def calls(ctx: Ctx) -> Response:
    """GET /calls."""
    f = call_filter(ctx)
    number = ctx.page_number()
    found = search_calls(ctx.web.engine, f, number, ctx.web.settings.web.page_size)
    given = {k: ctx.param(k) for k in FILTER_KEYS if ctx.param(k)}
    assert ctx.user is not None
    departments = [d.name for d in ctx.web.directory.departments if ctx.user.sees_department(d.name)]
    return ctx.render("calls.html", page=found, given=given, departments=departments,
                      link=lambda n: "/calls?" + urlencode(dict(given, page=n)),
                      rules=CALL_RULES, directions=DIRECTION, outcomes=OUTCOME,
                      results=RESULT, directory=ctx.web.directory)


def _journey(ctx: Ctx, unmasked: bool, reason: str = "") -> Response:
    linkedid = ctx.request.path_params["linkedid"]
    if not LINKEDID.fullmatch(linkedid):
        raise Problem(404, "그런 통화가 없습니다.")
    call = load_call(ctx.web.engine, linkedid)
    if call is None:
        raise Problem(404, "그런 통화가 없습니다.")
    assert ctx.user is not None
    if not ctx.user.sees_department(call.department):
        raise ctx.deny(f"call {linkedid}", "다른 부서의 통화입니다.")
    if unmasked:
        ctx.audit("number.unmasked", f"call {linkedid}", reason)
    rec = call.record
    cadence = ctx.web.settings.cadence_obj
    speech = {r: v for r, v in sorted(call.verdicts.items()) if r in SPEECH_RULES}
    return ctx.render("journey.html", call=call, rec=rec, steps=steps(rec, cadence, ctx.web.directory, unmasked),
                      bars=bars(rec, ctx.web.directory, unmasked), unmasked=unmasked, reason=reason,
                      verdicts=sorted(call.verdicts.items()), speech=speech,
                      answered=ctx.web.directory.person(rec.answered_by) if rec.answered_by else None)


@page("calls")
def journey(ctx: Ctx) -> Response:
    """GET /calls/{linkedid}."""
    return _journey(ctx, unmasked=False)


@page("unmask")
def unmask(ctx: Ctx) -> Response:
    """POST /calls/{linkedid}/unmask: the whole numbers of one call, with the stated reason audited."""
    reason = ctx.param("reason", limit=500)
    if len(reason) < 5:
        raise Problem(400, "번호 전체를 보려면 이유를 적어야 합니다(5자 이상). 이유는 감사 기록에 남습니다.")
    return _journey(ctx, unmasked=True, reason=reason)

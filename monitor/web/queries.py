"""The workbench's reads: the call search, the review queue, one call with everything it holds.

Each list is one SQL statement over indexed columns (``calls.started_at``,
``(department, started_at)``, ``(answered_by, started_at)``,
``(direction, started_at)``, ``verdicts (rule, result)``), newest (calls) or
oldest (queue) first, a page at a time; one row more than a page is fetched to
know whether a next page exists, instead of counting millions of rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from sqlalchemy import and_, exists, or_, select

from ..core.charter import SPEECH_RULES
from ..storage.convert import CALL_COLUMNS, call_from_rows, read_children
from ..storage.models import CallRow, VerdictRow
from ..storage.store import StoredCall


@dataclass
class CallFilter:
    """What the call search asks for (all optional)."""

    since: Optional[float] = None
    until: Optional[float] = None
    department: Optional[str] = None
    person: Optional[str] = None         # an extension
    direction: Optional[str] = None
    outcome: Optional[str] = None
    rule: Optional[str] = None
    result: Optional[str] = None
    departments: Optional[Sequence[str]] = None   # a supervisor's: nothing outside them


@dataclass
class Page:
    """One page of rows and whether more follow."""

    rows: list[Any]
    number: int
    more: bool
    verdicts: dict[int, dict[str, str]] = field(default_factory=dict)   # call id -> rule -> result




def search_calls(engine: Any, f: CallFilter, number: int, size: int) -> Page:
    """A page of calls matching ``f``, newest first, with each call's verdict results."""
    c = CallRow.__table__
    query = select(c.c.id, c.c.linkedid, c.c.started_at, c.c.ended_at, c.c.direction, c.c.caller, c.c.dialed,
                   c.c.outcome, c.c.answered_by, c.c.department, c.c.queue)
    if f.since is not None:
        query = query.where(c.c.started_at >= f.since)
    if f.until is not None:
        query = query.where(c.c.started_at < f.until)
    if f.department:
        query = query.where(c.c.department == f.department)
    if f.person:
        query = query.where(or_(c.c.answered_by == f.person, and_(c.c.direction == "outbound",
                                                                  c.c.caller == f.person)))
    if f.direction:
        query = query.where(c.c.direction == f.direction)
    if f.outcome:
        query = query.where(c.c.outcome == f.outcome)
    if f.rule or f.result:
        v = VerdictRow.__table__
        cond = [v.c.call_id == c.c.id]
        if f.rule:
            cond.append(v.c.rule == f.rule)
        if f.result:
            cond.append(v.c.result == f.result)
        query = query.where(exists(select(v.c.id).where(*cond)))
    if f.departments is not None:
        query = query.where(c.c.department.in_(list(f.departments)))
    query = query.order_by(c.c.started_at.desc(), c.c.id.desc()).limit(size + 1).offset((number - 1) * size)
    with engine.connect() as conn:
        rows = list(conn.execute(query))
        page = Page(rows[:size], number, len(rows) > size)
        ids = [r.id for r in page.rows]
        if ids:
            v = VerdictRow.__table__
            for call_id, rule, result in conn.execute(select(v.c.call_id, v.c.rule, v.c.result)
                                                      .where(v.c.call_id.in_(ids))):
                page.verdicts.setdefault(call_id, {})[rule] = result
    return page


@dataclass
class QueueFilter:
    """The review queue's filters."""

    department: Optional[str] = None
    person: Optional[str] = None
    rule: Optional[str] = None
    not_stated: bool = False             # also "not stated" checks nobody has reviewed yet
    departments: Optional[Sequence[str]] = None


def review_queue(engine: Any, f: QueueFilter, number: int, size: int) -> Page:
    """Speech checks waiting for a person, oldest call first."""
    c, v = CallRow.__table__, VerdictRow.__table__
    waiting = v.c.result == "unclear"
    if f.not_stated:
        # A "not stated" (fail) check not yet decided by a person: its value has no "review".
        waiting = or_(waiting, and_(v.c.result == "fail", ~v.c.value.contains('"review":')))
    query = (select(c.c.linkedid, c.c.started_at, c.c.direction, c.c.answered_by, c.c.caller, c.c.department,
                    v.c.rule, v.c.result, v.c.detail)
             .join(v, v.c.call_id == c.c.id)
             .where(v.c.rule.in_([f.rule] if f.rule else list(SPEECH_RULES)), waiting))
    if f.department:
        query = query.where(c.c.department == f.department)
    if f.person:
        query = query.where(or_(c.c.answered_by == f.person, and_(c.c.direction == "outbound",
                                                                  c.c.caller == f.person)))
    if f.departments is not None:
        query = query.where(c.c.department.in_(list(f.departments)))
    query = query.order_by(c.c.started_at, c.c.id, v.c.rule).limit(size + 1).offset((number - 1) * size)
    with engine.connect() as conn:
        rows = list(conn.execute(query))
    return Page(rows[:size], number, len(rows) > size)


def load_call(engine: Any, linkedid: str) -> Optional[StoredCall]:
    """One stored call with its offers, transfers, holds, waits and verdicts."""
    with engine.connect() as conn:
        row = conn.execute(select(*CALL_COLUMNS).where(CallRow.linkedid == linkedid)).first()
        if row is None:
            return None
        return call_from_rows(row, read_children(conn, [row.id]))


def evidence(value: Any) -> dict:
    """A speech verdict's evidence (the reviewed ones keep the checked evidence beside the decision)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}

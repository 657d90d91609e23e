"""Reading stored calls back: the read side of :class:`~.store.Store`.

Calls are streamed in chunks by start time (keyset: each chunk starts after the last
call of the previous one), each chunk's children fetched with one ``call_id IN (...)``
query per table (``convert.read_children``). No connection stays open between chunks,
so a caller may write (a review decision, a settled R8) while it iterates, and a month
of calls never sits in memory at once.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from ..core.judged import JudgedCall
from .convert import CALL_COLUMNS, call_from_rows, read_children
from .merge import Stored, stored_knowledge
from .models import CallRow

CHUNK = 2000   # calls per chunk: well under SQLite's bound-parameter limit for the children's IN (...)


def stream_calls(engine: Engine, since: Optional[float] = None, until: Optional[float] = None,
                 department: Optional[str] = None) -> Iterator[JudgedCall]:
    """Stored calls by start time (then id), streamed; optionally a time window and one department."""
    c = CallRow.__table__.c
    base: Any = select(*CALL_COLUMNS).order_by(c.started_at, c.id).limit(CHUNK)
    if since is not None:
        base = base.where(c.started_at >= since)
    if until is not None:
        base = base.where(c.started_at < until)
    if department is not None:
        base = base.where(c.department == department)
    last: Optional[tuple[float, int]] = None
    while True:
        query = base
        if last is not None:
            query = query.where(or_(c.started_at > last[0], and_(c.started_at == last[0], c.id > last[1])))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
            kids = read_children(conn, [r.id for r in rows]) if rows else {}
        for row in rows:
            yield call_from_rows(row, kids)
        if len(rows) < CHUNK:
            return
        last = (rows[-1].started_at, rows[-1].id)


class CallReader:
    """The reading methods of :class:`~.store.Store` (which provides ``engine``)."""

    engine: Engine

    def load_calls(self, since: Optional[float] = None, until: Optional[float] = None,
                   department: Optional[str] = None) -> Iterator[JudgedCall]:
        """Stored calls by start time, streamed; optionally a time window and one department."""
        return stream_calls(self.engine, since, until, department)

    def stored_knowledge(self, linkedids: list[str]) -> dict[str, Stored]:
        """What is stored of these calls (see monitor/storage/merge.py): id, knowledge, R8."""
        with self.engine.connect() as conn:
            return stored_knowledge(conn, linkedids)

    def latest_end(self) -> Optional[float]:
        """When the last stored call ended (None when none is stored): where a restart's gap begins."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.max(CallRow.ended_at)))

    def count_calls(self) -> int:
        """How many calls are stored."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count(CallRow.id))) or 0)

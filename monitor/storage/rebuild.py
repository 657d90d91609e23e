"""Building report facts for calls that have none: the 0002 migration, and the report's safety net.

Calls are read in chunks by id (keyset: ``id > last``, no cursor held open while
inserting), each chunk's children with one ``call_id IN (...)`` query per table, as
every reader reads them (``convert.call_from_rows``: the facts are derived from exactly
the records ``Store.load_calls`` gives back), and the facts are inserted with one
multi-row insert per chunk.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import func, select

from .convert import FIRST_CALL_COLUMNS, call_from_rows, read_children
from .facts import FACTS, facts_values, insert_facts
from .models import CallRow

CHUNK = 2000   # calls per chunk: well under SQLite's bound-parameter limit


def build_missing(conn: Any, since: Optional[float] = None, until: Optional[float] = None) -> int:
    """Insert the facts of every call (started in ``[since, until)``) that has none; returns how many."""
    calls = CallRow.__table__
    done, last = 0, None
    while True:
        query = (select(*FIRST_CALL_COLUMNS).select_from(calls.outerjoin(FACTS, FACTS.c.call_id == calls.c.id))
                 .where(FACTS.c.call_id.is_(None)).order_by(calls.c.id).limit(CHUNK))
        if last is not None:
            query = query.where(calls.c.id > last)
        if since is not None:
            query = query.where(calls.c.started_at >= since)
        if until is not None:
            query = query.where(calls.c.started_at < until)
        rows = conn.execute(query).all()
        if not rows:
            return done
        kids = read_children(conn, [r.id for r in rows])
        values = []
        for row in rows:
            call = call_from_rows(row, kids)
            fact = facts_values(call.record, call.verdicts, call.department, decoded=True)
            fact["call_id"] = row.id
            values.append(fact)
        insert_facts(conn, values)
        done += len(rows)
        last = rows[-1].id


def count_missing(conn: Any, since: float, until: float, department: Optional[str] = None) -> int:
    """How many calls started in ``[since, until)`` (of one department) have no facts (two index counts)."""
    c, f = CallRow.__table__.c, FACTS.c
    q_calls = select(func.count()).select_from(CallRow.__table__).where(c.started_at >= since, c.started_at < until)
    q_facts = select(func.count()).select_from(FACTS).where(f.started_at >= since, f.started_at < until)
    if department is not None:
        q_calls = q_calls.where(c.department == department)
        q_facts = q_facts.where(f.department == department)
    return int(conn.scalar(q_calls) or 0) - int(conn.scalar(q_facts) or 0)


"""What the database already holds of calls about to be stored: enough to decide which record to keep."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..core.keep import Knowledge, knowledge
from ..core.rules import Verdict
from .models import CallRow, HoldRow, OfferRow, TransferRow, VerdictRow


@dataclass(frozen=True)
class Stored:
    """A stored call's row id, what it knows, and its R8 verdict."""

    call_id: int
    knowledge: Knowledge
    r8: Optional[Verdict]


def _count(child: type) -> object:
    table = child.__table__   # type: ignore[attr-defined]
    return (select(func.count()).select_from(table).where(table.c.call_id == CallRow.id)
            .correlate(CallRow).scalar_subquery())


def stored_knowledge(conn: Connection, linkedids: list[str]) -> dict[str, Stored]:
    """For each of ``linkedids`` already stored: its id, knowledge and R8 (one query, chunked)."""
    out: dict[str, Stored] = {}
    parts = _count(OfferRow) + _count(TransferRow) + _count(HoldRow)   # type: ignore[operator]
    for i in range(0, len(linkedids), 500):
        chunk = linkedids[i:i + 500]
        query = (select(CallRow.id, CallRow.linkedid, CallRow.outcome, CallRow.source, CallRow.started_at,
                        CallRow.ended_at, parts, VerdictRow.result, VerdictRow.value, VerdictRow.detail)
                 .outerjoin(VerdictRow, (VerdictRow.call_id == CallRow.id) & (VerdictRow.rule == "R8"))
                 .where(CallRow.linkedid.in_(chunk)))
        for cid, linkedid, outcome, source, start, end, n, result, value, detail in conn.execute(query):
            r8 = Verdict("R8", result, json.loads(value), detail) if result is not None else None
            out[linkedid] = Stored(cid, knowledge(outcome, source or "ami", int(n or 0), start, end), r8)
    return out

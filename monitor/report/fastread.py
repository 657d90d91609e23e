"""The month's calls as one flat row each: verdicts pivoted into columns by SQL, no records built.

Why: the report needs ~20 facts per call, not the whole :class:`CallRecord`. Building
records (``reader.py``) cost ~100 µs a call; one SQL statement that returns a flat
tuple per call lets the database do the joining in C. Measured on a SQLite month of
1 M calls (docs/REPORT.md): the calls alone stream in 2.3 s; pivoting the verdicts
with one ``LEFT JOIN verdicts ON call_id = c.id AND rule = 'Rn'`` per rule (each a
probe of the existing unique index ``(call_id, rule)``) costs 8 s, while conditional
aggregation (``MAX(CASE WHEN rule = ...)`` grouped by call) costs 18 s, so the
joins were chosen. Only rules that occur in the database at all are joined (a probe
of ``ix_verdicts_rule_result`` each): a probe that never matches still costs time.
The children the figures need are folded to scalars by correlated subqueries
(``ix_*_call_id`` each): the transfer count, lost transfers, the answered offer's
ringing seconds and, for the call sheet only, the longest wait. No new index was
needed: every probe already has one (``EXPLAIN QUERY PLAN``: no table scan).

Calls nobody answered need their offers (who let it ring): those are fetched per
chunk with one ``call_id IN (...)`` query, as ``reader.py`` does.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Optional

from sqlalchemy import and_, case, func, null, select

from ..core.record import LEG_TRANSFER, OUTBOUND
from ..storage.models import CallRow, OfferRow, TransferRow, VerdictRow, WaitRow
from ..storage.store import Store

CHUNK = 2000   # calls per offers query: well under SQLite's bound-parameter limit

_C = CallRow.__table__
_V = VerdictRow.__table__
BASE = ("id", "linkedid", "started_at", "direction", "caller", "dialed", "outcome", "department", "answered_by")


def rules_present(conn: Any, rules: tuple[str, ...]) -> tuple[str, ...]:
    """The rules with at least one stored verdict (one index probe each)."""
    return tuple(r for r in rules if conn.execute(select(_V.c.id).where(_V.c.rule == r).limit(1)).first())


def month_query(since: float, until: float, department: Optional[str], rules: tuple[str, ...],
                with_waits: bool) -> Any:
    """The flat per-call select: BASE columns, then (result, value, detail-if-fail) per rule, then
    transfers, lost transfers, answered offer's ringing seconds, and (``with_waits``) the longest wait."""
    c = _C
    cols: list[Any] = [c.c[n] for n in BASE]
    frm: Any = c
    for rule in rules:
        v = _V.alias(f"v_{rule.lower()}")
        frm = frm.outerjoin(v, and_(v.c.call_id == c.c.id, v.c.rule == rule))
        cols += [v.c.result, v.c.value, case((v.c.result == "fail", v.c.detail), else_=null())]
    t = TransferRow.__table__.alias("t")
    cols.append(select(func.count()).select_from(t).where(t.c.call_id == c.c.id).scalar_subquery())
    t2, to = TransferRow.__table__.alias("t2"), OfferRow.__table__.alias("to_")
    # A transfer is lost when its target offer (by position) is missing or was never answered.
    cols.append(select(func.count()).select_from(
        t2.outerjoin(to, and_(to.c.call_id == t2.c.call_id, to.c.position == t2.c.target_position)))
        .where(t2.c.call_id == c.c.id, to.c.answered_at.is_(None)).scalar_subquery())
    ao = OfferRow.__table__.alias("ao")
    # The first answered non-transfer offer: NULL when none or when a trunk answered (no rings then);
    # a missing ring start/end is 0 s of ringing, as Offer.ring_seconds says.
    cols.append(select(case((ao.c.to_trunk, null()), else_=func.coalesce(ao.c.ring_end - ao.c.ring_start, 0.0)))
                .where(ao.c.call_id == c.c.id, ao.c.answered_at.is_not(None), ao.c.leg != LEG_TRANSFER)
                .order_by(ao.c.position).limit(1).scalar_subquery())
    if with_waits:
        w = WaitRow.__table__.alias("w")
        cols.append(select(func.max(w.c.ended_at - w.c.started_at)).where(w.c.call_id == c.c.id)
                    .scalar_subquery())
    query = (select(*cols).select_from(frm).where(c.c.started_at >= since, c.c.started_at < until)
             .order_by(c.c.started_at, c.c.id))
    if department is not None:
        query = query.where(c.c.department == department)
    return query


def _offers(conn: Any, ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    """(extension, ring_start, ring_end, answered_at, to_trunk) of these calls' offers, in position order."""
    o = OfferRow.__table__.c
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    if ids:
        query = (select(o.call_id, o.extension, o.ring_start, o.ring_end, o.answered_at, o.to_trunk)
                 .where(o.call_id.in_(ids)).order_by(o.call_id, o.position))
        for row in conn.execute(query).all():
            grouped[row[0]].append(tuple(row[1:]))
    return grouped


Chunk = tuple[tuple[str, ...], list[tuple[Any, ...]], dict[int, list[tuple[Any, ...]]]]


def stream_flat(store: Store, since: float, until: float, department: Optional[str], rules: tuple[str, ...],
                with_waits: bool) -> Iterator[Chunk]:
    """Chunks of (rules joined, flat rows, offers of the chunk's unanswered non-outbound calls).

    Not read ahead by a thread: tried, and 15 % slower on SQLite (the GIL is released and
    retaken at every row step, so the two threads convoy instead of overlapping).
    """
    with store.engine.connect() as rows_conn, store.engine.connect() as kids_conn:
        present = rules_present(kids_conn, rules)
        query = month_query(since, until, department, present, with_waits)
        # Two connections: one keeps the cursor open (server-side on PostgreSQL), the other
        # fetches offers; interleaving both on one connection would buffer the whole cursor.
        result = rows_conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for chunk in result.partitions(CHUNK):
            rows = [tuple(r) for r in chunk]
            ids = [r[0] for r in rows if not r[8] and r[3] != OUTBOUND]
            yield present, rows, _offers(kids_conn, ids)

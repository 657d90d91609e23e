"""Reading a month of stored calls fast: SQLAlchemy Core, no ORM objects.

``Store.load_calls`` builds ORM rows with five eager-loaded relations: right for
a few calls, but at ~400 µs a call a month of a million calls took minutes, most of
it in ORM identity-map bookkeeping (docs/REPORT.md has the profile). The report
reads the same tables with plain Core selects instead: the calls streamed in time
order, and each chunk's offers, transfers, holds, waits and verdicts fetched with
one ``call_id IN (...)`` query per table. The records built are the same
:class:`StoredCall` values ``load_calls`` yields (the tests compare both).
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterator, Optional

from sqlalchemy import select

from ..core.record import CallRecord, Hold, Offer, Transfer, WaitStretch
from ..core.rules import Verdict
from ..storage.models import CallRow, HoldRow, OfferRow, TransferRow, VerdictRow, WaitRow
from ..storage.store import Store, StoredCall

CHUNK = 2000   # calls per child query: well under SQLite's bound-parameter limit

_C = CallRow.__table__.c
CALL_COLUMNS = (_C.id, _C.linkedid, _C.direction, _C.caller, _C.dialed, _C.outcome, _C.started_at, _C.ended_at,
                _C.answered_by, _C.answered_at, _C.remote_number, _C.queue, _C.queue_joined_at, _C.queue_left_at,
                _C.hangup_cause, _C.incomplete_reason, _C.department, _C.uniqueids)
_O, _T, _H, _W, _V = (t.__table__.c for t in (OfferRow, TransferRow, HoldRow, WaitRow, VerdictRow))
_CHILD_QUERIES = {
    "offers": (_O.call_id, _O.position, _O.extension, _O.channel, _O.uniqueid, _O.leg, _O.dial_start,
               _O.ring_start, _O.ring_end, _O.answered_at, _O.status, _O.cause, _O.to_trunk),
    "transfers": (_T.call_id, _T.position, _T.kind, _T.by_party, _T.to_party, _T.at, _T.target_position),
    "holds": (_H.call_id, _H.position, _H.by_party, _H.started_at, _H.ended_at),
    "waits": (_W.call_id, _W.position, _W.kind, _W.started_at, _W.ended_at),
    "verdicts": (_V.call_id, _V.id, _V.rule, _V.result, _V.value, _V.detail),
}


def children(conn: Any, ids: list[int]) -> dict[str, dict[int, list[Any]]]:
    """Every child row of these calls, per table, grouped by call id, in stored order."""
    out: dict[str, dict[int, list[Any]]] = {}
    for name, cols in _CHILD_QUERIES.items():
        grouped: dict[int, list[Any]] = defaultdict(list)
        query = select(*cols).where(cols[0].in_(ids)).order_by(cols[0], cols[1])
        for row in conn.execute(query).all():   # one fetch, not a fetchone per row
            grouped[row[0]].append(row)
        out[name] = grouped
    return out


_VALUES: dict[str, Any] = {}


def _value(text: str) -> Any:
    """A verdict's JSON value. Scalars (rings, seconds, null) repeat across a month: decoded once each;
    dicts and lists (speech evidence) are decoded every time, as callers may keep or change them."""
    if text in _VALUES:
        return _VALUES[text]
    value = json.loads(text)
    if not isinstance(value, (dict, list)) and len(_VALUES) < 100_000:
        _VALUES[text] = value
    return value


def build_call(row: Any, kids: dict[str, dict[int, list[Any]]]) -> StoredCall:
    """The stored call of one ``CALL_COLUMNS`` row, with its chunk's ``children``."""
    cid = row[0]
    offers = [Offer(o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11], bool(o[12]))
              for o in kids["offers"].get(cid, ())]
    transfers = [Transfer(t[2], t[3], t[4], t[5], offers[t[6]] if t[6] is not None else None)
                 for t in kids["transfers"].get(cid, ())]
    record = CallRecord(
        linkedid=row[1], direction=row[2], caller=row[3], dialed=row[4], outcome=row[5], start=row[6],
        end=row[7], answered_by=row[8], answered_at=row[9], remote_number=row[10], offers=offers, queue=row[11],
        queue_joined_at=row[12], queue_left_at=row[13],
        holds=[Hold(h[2], h[3], h[4]) for h in kids["holds"].get(cid, ())], transfers=transfers,
        waits=[WaitStretch(w[2], w[3], w[4]) for w in kids["waits"].get(cid, ())],
        hangup_cause=row[14], incomplete_reason=row[15], uniqueids=json.loads(row[17] or "[]"))
    verdicts = {v[2]: Verdict(v[2], v[3], _value(v[4]), v[5]) for v in kids["verdicts"].get(cid, ())}
    return StoredCall(record, verdicts, row[16])


def stream_calls(store: Store, since: float, until: float, department: Optional[str] = None) -> Iterator[StoredCall]:
    """The calls started in ``[since, until)`` (optionally of one department), by start time, streamed."""
    query = (select(*CALL_COLUMNS).where(_C.started_at >= since, _C.started_at < until)
             .order_by(_C.started_at, _C.id))
    if department is not None:
        query = query.where(_C.department == department)
    # Two connections: one keeps the calls cursor open (server-side on PostgreSQL), the other
    # runs the child queries; interleaving both on one connection would buffer the cursor.
    with store.engine.connect() as calls_conn, store.engine.connect() as kids_conn:
        result = calls_conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        for chunk in result.partitions(CHUNK):
            kids = children(kids_conn, [r[0] for r in chunk])
            for row in chunk:
                yield build_call(row, kids)

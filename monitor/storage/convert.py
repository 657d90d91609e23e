"""Between core records (dataclasses) and database rows, both ways, losslessly: the one mapping.

Writing: :func:`insert_values` gives a call's ``calls`` row and its children as plain
insert parameters. Reading: :func:`read_children` fetches a chunk of calls' children
with one ``call_id IN (...)`` query per table and :func:`call_from_rows` builds the
stored call of one ``CALL_COLUMNS`` row. Every reader (``Store.load_calls``, the
workbench, the facts rebuild) and the writer go through these, so a column added to
a table is mapped here once. SQLAlchemy Core only: building ORM objects cost ~70 % of
``save_calls`` (attribute instrumentation on every column) and ~400 µs a call read.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Mapping, Optional

from sqlalchemy import select

from ..core.judged import JudgedCall
from ..core.record import CallRecord, Hold, Offer, Transfer, WaitStretch
from ..core.rules import Verdict
from .models import CallRow, HoldRow, OfferRow, TransferRow, VerdictRow, WaitRow

#: The child tables of a call, in the order of :func:`insert_values`' children.
CHILD_TABLES = (OfferRow, TransferRow, HoldRow, WaitRow, VerdictRow)

InsertValues = tuple[dict[str, Any], tuple[list[dict[str, Any]], ...]]


def offer_index(offers: list[Offer], target: Optional[Offer]) -> Optional[int]:
    """Position of a transfer's target among the call's offers (how a target is stored: by position).

    The tracker hands out the very offer object, so identity is tried first (two
    offers can be equal field by field); equality is the fallback for records built
    elsewhere, so a target is never dropped silently.
    """
    if target is None:
        return None
    for i, offer in enumerate(offers):
        if offer is target:
            return i
    for i, offer in enumerate(offers):
        if offer == target:
            return i
    return None


def insert_values(record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]) -> InsertValues:
    """The insert parameters of one call: its ``calls`` row and its children per table of ``CHILD_TABLES``
    (``call_id`` left for the writer, which knows it only after inserting the call)."""
    offers = list(record.offers)
    call = {
        "linkedid": record.linkedid, "direction": record.direction, "caller": record.caller or "",
        "dialed": record.dialed or "", "outcome": record.outcome, "started_at": record.start,
        "ended_at": record.end, "answered_by": record.answered_by, "answered_at": record.answered_at,
        "remote_number": record.remote_number, "queue": record.queue, "queue_joined_at": record.queue_joined_at,
        "queue_left_at": record.queue_left_at, "hangup_cause": record.hangup_cause,
        "incomplete_reason": record.incomplete_reason, "department": department,
        "uniqueids": json.dumps(record.uniqueids), "source": record.source,
        "flags": json.dumps(record.flags) if record.flags else None,
    }
    return call, (
        [{"position": i, "extension": o.extension, "channel": o.channel, "uniqueid": o.uniqueid, "leg": o.leg,
          "dial_start": o.dial_start, "ring_start": o.ring_start, "ring_end": o.ring_end,
          "answered_at": o.answered_at, "status": o.status or "", "cause": o.cause, "to_trunk": o.to_trunk}
         for i, o in enumerate(offers)],
        [{"position": i, "kind": t.kind, "by_party": t.by, "to_party": t.to, "at": t.at,
          "target_position": offer_index(offers, t.target)} for i, t in enumerate(record.transfers)],
        [{"position": i, "by_party": h.by, "started_at": h.start, "ended_at": h.end}
         for i, h in enumerate(record.holds)],
        [{"position": i, "kind": w.kind, "started_at": w.start, "ended_at": w.end}
         for i, w in enumerate(record.waits)],
        [{"rule": v.rule, "result": v.result, "value": json.dumps(v.value), "detail": v.detail}
         for v in verdicts.values()],
    )


_C = CallRow.__table__.c
#: The ``calls`` columns of the first schema (``id`` first: the children's key): all a call's judging and
#: its report facts need, so a migration can rebuild facts before later revisions add their columns.
FIRST_CALL_COLUMNS = (_C.id, _C.linkedid, _C.direction, _C.caller, _C.dialed, _C.outcome, _C.started_at,
                      _C.ended_at, _C.answered_by, _C.answered_at, _C.remote_number, _C.queue, _C.queue_joined_at,
                      _C.queue_left_at, _C.hangup_cause, _C.incomplete_reason, _C.department, _C.uniqueids)
#: Every ``calls`` column :func:`call_from_rows` reads.
CALL_COLUMNS = FIRST_CALL_COLUMNS + (_C.source, _C.flags)
_O, _T, _H, _W, _V = (t.__table__.c for t in CHILD_TABLES)
# Per child table: (call_id, order column, the columns call_from_rows reads).
_CHILD_COLUMNS = {
    "offers": (_O.call_id, _O.position, _O.extension, _O.channel, _O.uniqueid, _O.leg, _O.dial_start,
               _O.ring_start, _O.ring_end, _O.answered_at, _O.status, _O.cause, _O.to_trunk),
    "transfers": (_T.call_id, _T.position, _T.kind, _T.by_party, _T.to_party, _T.at, _T.target_position),
    "holds": (_H.call_id, _H.position, _H.by_party, _H.started_at, _H.ended_at),
    "waits": (_W.call_id, _W.position, _W.kind, _W.started_at, _W.ended_at),
    "verdicts": (_V.call_id, _V.id, _V.rule, _V.result, _V.value, _V.detail),
}
Children = dict[str, dict[int, list[Any]]]


def read_children(conn: Any, ids: list[int]) -> Children:
    """Every child row of these calls, per table, grouped by call id, in stored order."""
    out: Children = {}
    for name, cols in _CHILD_COLUMNS.items():
        grouped: dict[int, list[Any]] = defaultdict(list)
        query = select(*cols).where(cols[0].in_(ids)).order_by(cols[0], cols[1])
        for row in conn.execute(query).all():   # one fetch, not a fetchone per row
            grouped[row.call_id].append(row)
        out[name] = grouped
    return out


_VALUES: dict[str, Any] = {}


def decode_value(text: str) -> Any:
    """A stored verdict's JSON value. Scalars (rings, seconds, null) repeat across a month: decoded once
    each; dicts and lists (speech evidence) are decoded every time, as callers may keep or change them."""
    if text in _VALUES:
        return _VALUES[text]
    value = json.loads(text)
    if not isinstance(value, (dict, list)) and len(_VALUES) < 100_000:
        _VALUES[text] = value
    return value


def call_from_rows(row: Any, kids: Children) -> JudgedCall:
    """The stored call of one ``CALL_COLUMNS`` row (or ``FIRST_CALL_COLUMNS``: the later columns then take
    their defaults), with its chunk's :func:`read_children`."""
    cid, later = row.id, row._mapping
    flags = later.get("flags")
    offers = [Offer(extension=o.extension, channel=o.channel, uniqueid=o.uniqueid, leg=o.leg,
                    dial_start=o.dial_start, ring_start=o.ring_start, ring_end=o.ring_end,
                    answered_at=o.answered_at, status=o.status, cause=o.cause, to_trunk=bool(o.to_trunk))
              for o in kids["offers"].get(cid, ())]
    transfers = [Transfer(kind=t.kind, by=t.by_party, to=t.to_party, at=t.at,
                          target=offers[t.target_position] if t.target_position is not None else None)
                 for t in kids["transfers"].get(cid, ())]
    record = CallRecord(
        linkedid=row.linkedid, direction=row.direction, caller=row.caller, dialed=row.dialed,
        outcome=row.outcome, start=row.started_at, end=row.ended_at, answered_by=row.answered_by,
        answered_at=row.answered_at, remote_number=row.remote_number, offers=offers, queue=row.queue,
        queue_joined_at=row.queue_joined_at, queue_left_at=row.queue_left_at,
        holds=[Hold(by=h.by_party, start=h.started_at, end=h.ended_at) for h in kids["holds"].get(cid, ())],
        transfers=transfers,
        waits=[WaitStretch(kind=w.kind, start=w.started_at, end=w.ended_at) for w in kids["waits"].get(cid, ())],
        hangup_cause=row.hangup_cause, incomplete_reason=row.incomplete_reason,
        uniqueids=json.loads(row.uniqueids or "[]"), source=later.get("source") or "ami",
        flags=json.loads(flags) if flags else [],
    )
    verdicts = {v.rule: Verdict(v.rule, v.result, decode_value(v.value), v.detail)
                for v in kids["verdicts"].get(cid, ())}
    return JudgedCall(record, verdicts, row.department)

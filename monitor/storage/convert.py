"""Between core records (dataclasses) and database rows, both ways, losslessly."""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from ..core.record import CallRecord, Hold, Offer, Transfer, WaitStretch
from ..core.rules import Verdict
from .models import CallRow, HoldRow, OfferRow, TransferRow, VerdictRow, WaitRow


def row_from_record(record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]) -> CallRow:
    """A new ``CallRow`` (with children) for a finished call."""
    offers = list(record.offers)
    row = CallRow(
        linkedid=record.linkedid, direction=record.direction, caller=record.caller or "",
        dialed=record.dialed or "", outcome=record.outcome, started_at=record.start, ended_at=record.end,
        answered_by=record.answered_by, answered_at=record.answered_at, remote_number=record.remote_number,
        queue=record.queue, queue_joined_at=record.queue_joined_at, queue_left_at=record.queue_left_at,
        hangup_cause=record.hangup_cause, incomplete_reason=record.incomplete_reason, department=department,
        uniqueids=json.dumps(record.uniqueids), source=record.source,
        flags=json.dumps(record.flags) if record.flags else None,
    )
    row.offers = [OfferRow(position=i, extension=o.extension, channel=o.channel, uniqueid=o.uniqueid, leg=o.leg,
                           dial_start=o.dial_start, ring_start=o.ring_start, ring_end=o.ring_end,
                           answered_at=o.answered_at, status=o.status or "", cause=o.cause, to_trunk=o.to_trunk)
                  for i, o in enumerate(offers)]
    row.transfers = [TransferRow(position=i, kind=t.kind, by_party=t.by, to_party=t.to, at=t.at,
                                 target_position=_index(offers, t.target))
                     for i, t in enumerate(record.transfers)]
    row.holds = [HoldRow(position=i, by_party=h.by, started_at=h.start, ended_at=h.end)
                 for i, h in enumerate(record.holds)]
    row.waits = [WaitRow(position=i, kind=w.kind, started_at=w.start, ended_at=w.end)
                 for i, w in enumerate(record.waits)]
    row.verdicts = [VerdictRow(rule=v.rule, result=v.result, value=json.dumps(v.value), detail=v.detail)
                    for v in verdicts.values()]
    return row


def _index(offers: list[Offer], target: Optional[Offer]) -> Optional[int]:
    """Position of a transfer's target among the call's offers.

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


def record_from_row(row: CallRow) -> tuple[CallRecord, dict[str, Verdict]]:
    """The ``CallRecord`` and verdicts stored in a ``CallRow``."""
    offers = [Offer(extension=o.extension, channel=o.channel, uniqueid=o.uniqueid, leg=o.leg,
                    dial_start=o.dial_start, ring_start=o.ring_start, ring_end=o.ring_end,
                    answered_at=o.answered_at, status=o.status, cause=o.cause, to_trunk=o.to_trunk)
              for o in row.offers]
    transfers = [Transfer(kind=t.kind, by=t.by_party, to=t.to_party, at=t.at,
                          target=offers[t.target_position] if t.target_position is not None else None)
                 for t in row.transfers]
    record = CallRecord(
        linkedid=row.linkedid, direction=row.direction, caller=row.caller, dialed=row.dialed,
        outcome=row.outcome, start=row.started_at, end=row.ended_at, answered_by=row.answered_by,
        answered_at=row.answered_at, remote_number=row.remote_number, offers=offers, queue=row.queue,
        queue_joined_at=row.queue_joined_at, queue_left_at=row.queue_left_at,
        holds=[Hold(by=h.by_party, start=h.started_at, end=h.ended_at) for h in row.holds],
        transfers=transfers,
        waits=[WaitStretch(kind=w.kind, start=w.started_at, end=w.ended_at) for w in row.waits],
        hangup_cause=row.hangup_cause, incomplete_reason=row.incomplete_reason,
        uniqueids=json.loads(row.uniqueids or "[]"), source=row.source or "ami",
        flags=json.loads(row.flags) if row.flags else [],
    )
    verdicts = {v.rule: Verdict(v.rule, v.result, json.loads(v.value), v.detail) for v in row.verdicts}
    return record, verdicts


_CHILDREN = (OfferRow, TransferRow, HoldRow, WaitRow, VerdictRow)   # the order of _insert_values' children


def _insert_values(record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]
                   ) -> tuple[dict[str, Any], tuple[list[dict[str, Any]], ...]]:
    """The insert parameters of one call: its ``calls`` row and its children per table of ``_CHILDREN``.

    The same columns and values as :func:`~.convert.row_from_record` (which reading
    and the tests use), built as plain dicts: building mapped objects only to read
    their attributes back cost ~70 % of ``save_calls`` in the profile of ingest
    stage (e) (SQLAlchemy's attribute instrumentation on every column).
    ``tests/test_storage*`` round-trip every field through this path.
    """
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
          "target_position": _index(offers, t.target)} for i, t in enumerate(record.transfers)],
        [{"position": i, "by_party": h.by, "started_at": h.start, "ended_at": h.end}
         for i, h in enumerate(record.holds)],
        [{"position": i, "kind": w.kind, "started_at": w.start, "ended_at": w.end}
         for i, w in enumerate(record.waits)],
        [{"rule": v.rule, "result": v.result, "value": json.dumps(v.value), "detail": v.detail}
         for v in verdicts.values()],
    )

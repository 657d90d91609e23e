"""A call record and its verdicts as the stable JSON object of ``--json`` output.

The keys listed in the foundation issue are a contract: checks outside the test
suite read them, so keys are only ever added, never renamed or removed.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from .cadence import Cadence
from .charter import TABLE_RULES
from .record import CallRecord, Offer
from .rules import Verdict

# Verdicts are listed in charter.TABLE_RULES' order. The greeting-check rules (R2, R3, R7) appear
# once the speech worker has judged the call (``telmon calls --json``); a replayed stream has no
# recordings, so they never appear there.


def _r(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


def offer_json(offer: Offer, cadence: Cadence) -> dict[str, Any]:
    """One offer: the phone, how long it rang, the ring count and whether it answered."""
    return {
        "extension": offer.extension,
        "ring_seconds": _r(offer.ring_seconds),
        "rings": cadence.rings(offer.ring_seconds),
        "answered": offer.answered,
        "leg": offer.leg,
        "ring_start": _r(offer.ring_start),
        "answered_at": _r(offer.answered_at),
        "status": offer.status,
    }


def verdict_json(v: Verdict) -> dict[str, Any]:
    """One verdict: result, the measured value and a readable reason."""
    return {"result": v.result, "value": v.value, "detail": v.detail}


def call_json(call: CallRecord, verdicts: Mapping[str, Verdict], cadence: Cadence,
              department: Optional[str] = None) -> dict[str, Any]:
    """The whole call as one JSON-ready dict (see the module docstring)."""
    answered = call.answered_offer
    longest = call.longest_wait
    return {
        "linkedid": call.linkedid,
        "direction": call.direction,
        "caller": call.caller,
        "dialed": call.dialed,
        "outcome": call.outcome,
        "answered_by": call.answered_by,
        "department": department,
        "start": _r(call.start),
        "answered_at": _r(call.answered_at),
        "end": _r(call.end),
        "ring_seconds": _r(answered.ring_seconds) if answered else None,
        "rings": cadence.rings(answered.ring_seconds) if answered else None,
        "queue": call.queue,
        "queue_joined_at": _r(call.queue_joined_at),
        "queue_wait_seconds": _r(call.queue_wait_seconds),
        "hold_seconds": _r(call.hold_seconds),
        "holds": [{"by": h.by, "start": _r(h.start), "end": _r(h.end), "seconds": _r(h.seconds)}
                  for h in call.holds],
        "longest_wait_seconds": _r(longest.seconds) if longest else 0.0,
        "longest_wait_kind": longest.kind if longest else None,
        "waits": [{"kind": w.kind, "start": _r(w.start), "end": _r(w.end), "seconds": _r(w.seconds)}
                  for w in call.waits],
        "offers": [offer_json(o, cadence) for o in call.offers],
        "transfers": [
            {
                "kind": t.kind,
                "by": t.by,
                "to": t.to,
                "at": _r(t.at),
                "answered": t.answered,
                "target_ring_seconds": _r(t.target.ring_seconds) if t.target else None,
                "target_rings": cadence.rings(t.target.ring_seconds) if t.target else None,
            }
            for t in call.transfers
        ],
        "hangup_cause": call.hangup_cause,
        "incomplete_reason": call.incomplete_reason,
        "verdicts": {str(k): verdict_json(verdicts[k]) for k in TABLE_RULES if k in verdicts},
    }

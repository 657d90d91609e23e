"""Ground truth from the SIP phones' own clocks, and the verdicts the charter gives it.

Every time here is the ``time.time()`` a scripted phone logged when it sent or
received a SIP message (``sipphone`` dialog events), never anything Asterisk
said: the truth is independent of the AMI stream it checks. The verdicts are
derived from those figures with the charter's thresholds (``CHARTER.md``),
written out here a second time on purpose: they must not share code with
``monitor.core.rules``, which they check.
"""
from __future__ import annotations

import math
from typing import Any, Optional

CYCLE = 3.0          # Korean ring-back: 1 s on + 2 s off
MAX_RINGS = 2        # R1: answer before the 3rd ring
MAX_WAIT = 180.0     # R4: nobody waits more than 3 minutes
MAX_TRANSFERS = 1    # R5: bounced more than once fails
MISSED = ("abandoned", "no_answer", "busy", "rejected", "voicemail")

Dlg = Any  # a sipphone.Dialog (the kit's module is imported at run time)


def rings(seconds: Optional[float]) -> int:
    """Rings heard in ``seconds`` of alerting (the charter's floor(s / cycle) + 1)."""
    if not seconds or seconds <= 0:
        return 0
    return int(math.floor(seconds / CYCLE + 1e-9)) + 1


def first(dlg: Dlg, *whats: str) -> Optional[float]:
    """The earliest time the dialog logged any of ``whats``."""
    times = [t for t, w, _ in dlg.events if w in whats]
    return min(times) if times else None


def ring_end(dlg: Dlg) -> Optional[float]:
    """When an incoming call stopped alerting: answered, cancelled, rejected or hung up."""
    return first(dlg, "tx_200", "rx_CANCEL", "rx_BYE", "tx_486", "tx_603", "tx_480")


def offer(extension: str, dlg: Dlg, *, start: Optional[float] = None) -> dict[str, Any]:
    """One phone alerted for the caller, from its own 180 (or ``start``) to the end of alerting."""
    ring_start = start if start is not None else first(dlg, "tx_180")
    end = ring_end(dlg)
    seconds = 0.0 if ring_start is None or end is None else round(end - ring_start, 3)
    return {"extension": extension, "ring_seconds": seconds, "answered": first(dlg, "tx_200") is not None,
            "ring_start": ring_start}


def picked_offer(extension: str, rung: Dlg, picked_at: float) -> dict[str, Any]:
    """The colleague who picked the call up: answered at the pickup, ringing as long as the rung phone had."""
    start = first(rung, "tx_180")
    return {"extension": extension, "ring_seconds": round(picked_at - start, 3) if start else 0.0,
            "answered": True, "ring_start": start}


def met(extension: str, at: float) -> dict[str, Any]:
    """A person who took the caller without ringing: retrieved the park, met them in a room."""
    return {"extension": extension, "ring_seconds": 0.0, "answered": True, "ring_start": at}


def hangup_time(*dlgs: Dlg) -> float:
    """The last BYE (sent or received) or CANCEL among the dialogs: when the call was over."""
    times = [first(d, "tx_BYE", "rx_BYE", "rx_CANCEL", "tx_CANCEL", "tx_486", "tx_603") for d in dlgs]
    found = [t for t in times if t is not None]
    if not found:
        raise ValueError("no dialog of the call ended")
    return max(found)


def call(cid: str, *, caller: str, dialed: str, direction: str, outcome: str, start: float, end: float,
         offers: list[dict[str, Any]], answered_by: Optional[str] = None, answered_at: Optional[float] = None,
         queue: Optional[dict[str, Any]] = None, holds: Optional[list[dict[str, Any]]] = None,
         transfers: Optional[list[dict[str, Any]]] = None, waits: Optional[list[dict[str, Any]]] = None,
         note: str = "") -> dict[str, Any]:
    """One call of the truth file, with the charter's verdicts for it."""
    record = {
        "id": cid, "caller": caller, "dialed": dialed, "direction": direction, "outcome": outcome,
        "answered_by": answered_by, "answered_at": answered_at, "start": start, "end": end,
        "offers": sorted(offers, key=lambda o: (o["ring_start"] or 0.0)), "queue": queue,
        "holds": holds or [], "transfers": transfers or [], "waits": waits or [], "note": note,
    }
    record["verdicts"] = verdicts(record)
    return record


def wait(kind: str, start: float, end: float) -> dict[str, Any]:
    """A stretch in which the caller waited for a person."""
    return {"kind": kind, "start": start, "seconds": round(end - start, 3)}


def verdicts(c: dict[str, Any]) -> dict[str, str]:
    """R1, R4, R5 and R8 as the charter gives them for these figures."""
    return {"R1": _r1(c), "R4": _r4(c), "R5": _r5(c),
            "R8": "pending" if c["direction"] == "inbound" and c["outcome"] in MISSED else "n/a"}


def _r1(c: dict[str, Any]) -> str:
    """Every office phone is judged: answered after ring 2 fails, and so does ringing past
    ring 2 unanswered while the caller still waited (not a ringall member cancelled
    a moment after a colleague answered)."""
    if c["direction"] == "outbound" or c["outcome"] == "conference":
        return "n/a"
    office = [o for o in c["offers"] if not o.get("outside")]
    for o in office:
        if rings(o["ring_seconds"]) <= MAX_RINGS:
            continue
        if o["answered"]:
            return "fail"
        answered_at = o.get("caller_answered_at", c["answered_at"])
        ended = (o["ring_start"] or 0.0) + o["ring_seconds"]
        if answered_at is None or ended <= answered_at + 0.5:
            return "fail"
    return "pass" if any(o["answered"] for o in office) else "n/a"


def _r4(c: dict[str, Any]) -> str:
    waits = [w for w in c["waits"] if not (c["direction"] == "outbound" and w["kind"] == "ringing")]
    if not waits:
        return "n/a"
    return "fail" if max(w["seconds"] for w in waits) > MAX_WAIT else "pass"


def _r5(c: dict[str, Any]) -> str:
    transfers = c["transfers"]
    if not transfers:
        return "n/a"
    if any(t["answered_by"] is None and t["kind"] != "voicemail" for t in transfers):
        return "fail"
    return "fail" if len(transfers) > MAX_TRANSFERS else "pass"

"""R8 ``callback``: a missed inbound caller is called back by the same department.

This rule cannot be judged when the missed call ends: it waits for a later
outbound call to the same number from the same department, or for the window
(default 24 h) to close. :class:`CallbackBook` holds the missed calls still
waiting and settles them as later calls finish (``observe``) and as event time
passes (``expire``). It is pure: time comes from the calls' own timestamps.

A callback *attempt* counts, answered or not (the department did call back);
the verdict's detail says whether the customer picked up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .channels import number_key, same_number
from .record import OUTBOUND, CallRecord
from .rules import FAIL, NA, PASS, PENDING, DeptLookup, Verdict, department_of_call, missed_inbound


@dataclass
class MissedCall:
    """A missed inbound call waiting for its callback."""

    linkedid: str
    number: str
    department: Optional[str]
    missed_at: float        # when the caller gave up (the call's end)

    def due(self, window: float) -> float:
        """When the callback window closes."""
        return self.missed_at + window


class CallbackBook:
    """Pending R8 verdicts, settled by later calls or by the window closing."""

    def __init__(self, window_seconds: float, dept_of: DeptLookup) -> None:
        self.window = window_seconds
        self.dept_of = dept_of
        self.pending: dict[str, MissedCall] = {}
        # Pending linkedids by number key (see ``number_key``), in insertion order: a callback
        # looks up its own number instead of comparing against every missed call (a busy
        # day holds thousands; the profile of ingest stage (e) showed same_number per call).
        self._by_number: dict[str, dict[str, None]] = {}

    def _add(self, missed: MissedCall) -> None:
        old = self.pending.get(missed.linkedid)
        if old is not None:
            self._unindex(old)
        self.pending[missed.linkedid] = missed
        key = number_key(missed.number)
        if key is not None:
            self._by_number.setdefault(key, {})[missed.linkedid] = None

    def _remove(self, missed: MissedCall) -> None:
        del self.pending[missed.linkedid]
        self._unindex(missed)

    def _unindex(self, missed: MissedCall) -> None:
        key = number_key(missed.number)
        same = self._by_number.get(key) if key is not None else None
        if same is not None:
            same.pop(missed.linkedid, None)
            if not same and key is not None:
                del self._by_number[key]

    def initial(self, call: CallRecord) -> Verdict:
        """R8 for a call that just finished: pending when missed, else not applicable."""
        if call.outcome == "incomplete":
            return Verdict("R8", NA, None, "incomplete call")
        if not missed_inbound(call):
            return Verdict("R8", NA, None, "not a missed inbound call")
        if not call.caller or not any(c.isdigit() for c in call.caller):
            return Verdict("R8", NA, None, "caller number withheld: cannot be called back")
        due = call.end + self.window
        return Verdict("R8", PENDING, None, f"awaiting callback until {due:.0f}")

    def observe(self, call: CallRecord) -> list[tuple[str, Verdict]]:
        """Register a finished call; return (linkedid, verdict) for every R8 it settles.

        The call's own initial R8 (pending or n/a) is included first.
        """
        own = self.initial(call)
        settled: list[tuple[str, Verdict]] = [(call.linkedid, own)]
        if call.direction == OUTBOUND and call.remote_number:
            settled.extend(self._match(call))
        if own.result == PENDING:
            self._add(MissedCall(call.linkedid, call.caller, department_of_call(call, self.dept_of), call.end))
        return settled

    def _match(self, call: CallRecord) -> list[tuple[str, Verdict]]:
        dept = self.dept_of(call.caller) if call.caller else None
        out: list[tuple[str, Verdict]] = []
        key = number_key(call.remote_number)
        candidates = [self.pending[k] for k in self._by_number.get(key, ()) if k in self.pending] if key else []
        for missed in candidates:
            if not same_number(missed.number, call.remote_number):
                continue
            if missed.department and dept != missed.department:
                continue  # another department calling is not this department's callback
            if call.start < missed.missed_at:
                continue
            delay = round(call.start - missed.missed_at, 3)
            picked = "answered" if call.outcome == "answered" else "not answered"
            late = call.start > missed.due(self.window)
            verdict = Verdict("R8", FAIL if late else PASS, delay,
                              f"called back by {call.caller} after {delay / 3600:.1f} h ({picked})"
                              + (" — after the window" if late else ""))
            out.append((missed.linkedid, verdict))
            self._remove(missed)
        return out

    def expire(self, now: float) -> list[tuple[str, Verdict]]:
        """Fail every missed call whose window closed before ``now`` without a callback."""
        out = []
        # Runs every minute of event time over every pending call: the window check is
        # inlined (it is MissedCall.due) and nothing is copied unless something is due.
        closed = now - self.window
        due = [m for m in self.pending.values() if m.missed_at < closed + 1.0]   # loose; exact test below
        for missed in due:
            if now > missed.due(self.window):
                out.append((missed.linkedid, Verdict(
                    "R8", FAIL, None, f"not called back within {self.window / 3600:g} h")))
                self._remove(missed)
        return out

    def restore(self, missed: Iterable[MissedCall]) -> None:
        """Reload pending missed calls (e.g. from the database after a restart)."""
        for m in missed:
            self._add(m)

"""The charter's call rules as pure functions of a finished call record.

Every rule returns a :class:`Verdict` with the measured value that decided it,
so a supervisor can see *why*. Thresholds come from :class:`Thresholds`
(configuration), never from constants in the rule bodies.

* R1 ``ring``: each phone offered the caller is judged on its own. Answered at
  ring <= ``max_rings`` passes; answered later fails; a phone that rang more than
  ``max_rings`` rings without being answered while the caller was still waiting
  fails too (someone let it ring). The call's R1 is the worst of its offers.
* R4 ``wait``: any single stretch in which the caller is not talking to a person
  (ringing, queue, hold, waiting on a transfer) over ``max_wait_seconds`` fails.
* R5 ``transfer``: fails when the caller is lost after a transfer (the target never
  answered) or is bounced more than ``max_transfers`` times.
* R8 ``callback`` lives in :mod:`monitor.core.callback`: it needs later calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

from .cadence import Cadence
from .charter import CALL_END_RULES
from .record import INBOUND, OUTBOUND, CallRecord, LEG_TRANSFER, Offer, WaitStretch

PASS, FAIL, NA, PENDING = "pass", "fail", "n/a", "pending"

Value = Union[int, float, str, None]
DeptLookup = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule on one call."""

    rule: str
    result: str      # pass | fail | n/a | pending (R8 until the callback window closes)
    value: Value = None
    detail: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Rule thresholds; defaults are the charter's (see CHARTER.md)."""

    max_rings: int = 2                 # R1: answer before the 3rd ring
    max_wait_seconds: float = 180.0    # R4: nobody waits more than 3 minutes
    max_transfers: int = 1             # R5: bounced more than once fails
    callback_window_seconds: float = 24 * 3600.0  # R8


@dataclass(frozen=True)
class OfferVerdict:
    """R1 for one offer: the rings it reached and whether that broke the rule."""

    offer: Offer
    rings: int
    result: str


def judge_offer(offer: Offer, call: CallRecord, cadence: Cadence, limits: Thresholds) -> OfferVerdict:
    """R1 for a single offer (a phone rung for this caller)."""
    rings = cadence.rings(offer.ring_seconds)
    if offer.to_trunk:
        # An outside phone ringing is not ours to answer.
        return OfferVerdict(offer, rings, NA)
    if offer.answered:
        return OfferVerdict(offer, rings, PASS if rings <= limits.max_rings else FAIL)
    if rings > limits.max_rings and _caller_was_waiting(offer, call):
        return OfferVerdict(offer, rings, FAIL)
    return OfferVerdict(offer, rings, NA)


def _caller_was_waiting(offer: Offer, call: CallRecord) -> bool:
    """True when the caller was still on the line, unanswered, while this phone rang.

    A ringall member that keeps ringing for a moment after a colleague answered
    (Asterisk cancels it within milliseconds) was not letting the caller wait.
    """
    if offer.ring_end is None:
        return False
    answered_at = call.answered_at if offer.leg != LEG_TRANSFER else None
    if offer.leg == LEG_TRANSFER:
        transfer = next((t for t in call.transfers if t.target is offer), None)
        answered_at = transfer.target.answered_at if transfer and transfer.target else None
    return answered_at is None or offer.ring_end <= answered_at + 0.5


def judge_ring(call: CallRecord, cadence: Cadence, limits: Thresholds) -> Verdict:
    """R1 for the call: fails if any offer fails, passes if the answering phone passed."""
    judged = [judge_offer(o, call, cadence, limits) for o in call.offers]
    failed = [j for j in judged if j.result == FAIL]
    if failed:
        worst = max(failed, key=lambda j: j.rings)
        how = "answered" if worst.offer.answered else "rang unanswered"
        return Verdict("R1", FAIL, worst.rings, f"{worst.offer.extension} {how} at ring {worst.rings}")
    answered = call.answered_offer
    if answered is not None and not answered.to_trunk:
        rings = cadence.rings(answered.ring_seconds)
        return Verdict("R1", PASS, rings, f"{answered.extension} answered at ring {rings}")
    passed = [j for j in judged if j.result == PASS]
    if passed:
        return Verdict("R1", PASS, passed[0].rings, f"{passed[0].offer.extension} answered at ring {passed[0].rings}")
    return Verdict("R1", NA, None, "no office phone answered or rang past the limit")


def r4_stretches(call: CallRecord) -> list[WaitStretch]:
    """The stretches R4 measures: every wait, except an outbound call's ringing (the customer's phone)."""
    return [w for w in call.waits if not (call.direction == OUTBOUND and w.kind == "ringing")]


def r4_longest(call: CallRecord) -> Optional[WaitStretch]:
    """The longest single stretch R4 measures (the first of equals), or None when the caller never waited."""
    return max(r4_stretches(call), key=lambda w: w.seconds, default=None)


def judge_wait(call: CallRecord, limits: Thresholds) -> Verdict:
    """R4: the longest single stretch without a person must stay within the limit."""
    longest = r4_longest(call)
    if longest is None:
        return Verdict("R4", NA, None, "the caller never waited")
    seconds = round(longest.seconds, 3)
    result = FAIL if longest.seconds > limits.max_wait_seconds else PASS
    return Verdict("R4", result, seconds, f"longest wait: {longest.kind} {seconds:.1f} s")


def judge_transfer(call: CallRecord, limits: Thresholds) -> Verdict:
    """R5: every transfer must reach a person, and the caller is not bounced around."""
    if not call.transfers:
        return Verdict("R5", NA, 0, "no transfer")
    count = len(call.transfers)
    # A caller sent to a mailbox on purpose is not lost: the message reaches the person.
    lost = [t for t in call.transfers if not t.answered and t.kind != "voicemail"]
    if lost:
        t = lost[-1]
        return Verdict("R5", FAIL, count, f"caller lost after {t.kind} transfer {t.by} -> {t.to}")
    if count > limits.max_transfers:
        return Verdict("R5", FAIL, count, f"caller transferred {count} times")
    return Verdict("R5", PASS, count, f"{count} transfer(s), all answered")


def judge_call(call: CallRecord, cadence: Cadence, limits: Thresholds) -> dict[str, Verdict]:
    """R1, R4 and R5 for one finished call. An incomplete call gets no verdict."""
    if call.outcome == "incomplete":
        reason = call.incomplete_reason or "events lost"
        return {r: Verdict(r, NA, None, f"incomplete call: {reason}") for r in CALL_END_RULES}
    if call.source != "ami":
        # Recovered from Asterisk's own log (CEL): no ringing, hold or queue times to judge by.
        return {r: Verdict(r, NA, None, f"not known: recovered from {call.source.upper()} while telmon was down")
                for r in CALL_END_RULES}
    return {
        "R1": judge_ring(call, cadence, limits),
        "R4": judge_wait(call, limits),
        "R5": judge_transfer(call, limits),
    }


def missed_inbound(call: CallRecord) -> bool:
    """True for an inbound caller nobody answered: the calls R8 wants called back."""
    return call.direction == INBOUND and call.outcome in ("abandoned", "no_answer", "busy", "rejected", "voicemail")


def department_of_call(call: CallRecord, dept_of: DeptLookup) -> Optional[str]:
    """The department that owned the call: who answered, else who was rung, else what was dialed."""
    candidates: list[Optional[str]] = [call.answered_by, *(o.extension for o in call.offers if not o.to_trunk),
                                       call.dialed]
    if call.direction == OUTBOUND:
        candidates = [call.caller, *candidates]
    for ext in candidates:
        if ext:
            dept = dept_of(ext)
            if dept:
                return dept
    return None


"""What is happening now: the calls in progress by department, computed from the tracker's live calls.

The tracker computes it (:meth:`~monitor.core.tracker.Tracker.live_view`); the
metrics only turn it into gauges, so the rules of "ringing now" and "waiting now"
are domain facts defined here once.

* A phone *rings now* when an office phone offered to a caller started ringing and
  neither stopped nor was picked up.
* A caller *waits now* in the same stretches R4 measures: in a queue nobody has
  answered from (menu seconds before it included), on hold (a Hold, or music on
  hold outside a queue), waiting on a blind transfer, on park or alone in a
  conference room, in an IVR menu, or ringing before anyone answered (not on
  outbound calls: that is the customer's phone). The wait's age is counted from the
  start of the current stretch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from .calls import LiveCall, first_wait_start
from .record import LEG_DIRECT, LEG_QUEUE, LEG_TRANSFER, Offer
from .rules import DeptLookup


def ringing_now(offer: Offer) -> bool:
    """True while an office phone alerts for the caller (not picked up, not stopped)."""
    return (not offer.to_trunk and offer.ring_start is not None and offer.ring_end is None
            and offer.answered_at is None)


def _still_offered(offer: Offer) -> bool:
    # Dialled or ringing, and neither answered nor ended (DialEnd sets a status).
    return offer.answered_at is None and offer.ring_end is None and not offer.status


def _outbound(call: LiveCall) -> bool:
    return not call.origin.trunk and any(o.to_trunk for o in call.offers if o.leg == LEG_DIRECT)


def _in_menu(call: LiveCall) -> bool:
    # Answered by the PBX, no phone offered yet, not a mailbox or a meeting room: an IVR menu.
    return (not call.offers and call.pbx_answered_at is not None and call.voicemail_at is None
            and call.conference is None)


def wait_start(call: LiveCall) -> Optional[float]:
    """When the caller's current wait for a person began (event time), or None when not waiting."""
    if call.origin.hung_up:
        return None
    starts = [h.start for h in call.open_holds.values()]
    starts += [s for s, e in call.moh if e is None]
    answered = [o for o in call.offers if o.answered and o.leg != LEG_TRANSFER]
    if call.in_queue and call.queue_joined_at is not None:
        if not any(o.leg == LEG_QUEUE for o in answered):
            starts.append(first_wait_start(call, call.queue_joined_at))
    elif (call.queue_joined_at is None and not answered and not _outbound(call)
          and (any(_still_offered(o) for o in call.offers if o.leg == LEG_DIRECT) or _in_menu(call))):
        starts.append(call.start)
    last = call.transfers[-1] if call.transfers else None
    if last is not None and last.kind in ("blind", "park", "conference") and not last.answered:
        if last.target is None or _still_offered(last.target):
            starts.append(last.at)
    return min(starts) if starts else None


def live_department(call: LiveCall, dept_of: DeptLookup) -> Optional[str]:
    """The department a call in progress belongs to, chosen as for a finished call (``department_of_call``)."""
    candidates = [o.extension for o in call.offers if o.answered and not o.to_trunk]
    candidates += [o.extension for o in call.offers if not o.to_trunk] + [call.origin.exten]
    if _outbound(call):
        candidates.insert(0, call.origin.extension)
    for ext in candidates:
        dept = dept_of(ext) if ext else None
        if dept:
            return dept
    return None


@dataclass(frozen=True)
class LiveView:
    """The calls in progress at ``now`` (event time), per department (None: no directory department).

    A value, not a window on the tracker: it holds counts and seconds only, so it
    can be read anywhere after it was made.
    """

    now: float
    ringing: Mapping[Optional[str], int] = field(default_factory=dict)      # office phones ringing now
    waiting: Mapping[Optional[str], int] = field(default_factory=dict)      # callers waiting for a person
    longest: Mapping[Optional[str], float] = field(default_factory=dict)    # the longest such wait so far (s)
    in_progress: Mapping[Optional[str], int] = field(default_factory=dict)  # calls in progress


def live_view(calls: Iterable[LiveCall], now: float, dept_of: DeptLookup) -> LiveView:
    """The live view of ``calls`` at ``now``: ringing phones, waiting callers, longest waits, calls."""
    ringing: dict[Optional[str], int] = {}
    waiting: dict[Optional[str], int] = {}
    longest: dict[Optional[str], float] = {}
    in_progress: dict[Optional[str], int] = {}
    for call in calls:
        dept = live_department(call, dept_of)
        in_progress[dept] = in_progress.get(dept, 0) + 1
        for offer in call.offers:
            if ringing_now(offer):
                phone_dept = dept_of(offer.extension) or None
                ringing[phone_dept] = ringing.get(phone_dept, 0) + 1
        start = wait_start(call)
        if start is not None:
            waiting[dept] = waiting.get(dept, 0) + 1
            longest[dept] = max(longest.get(dept, 0.0), max(0.0, now - start))
    return LiveView(now, ringing, waiting, longest, in_progress)

"""Live gauges computed at scrape time from the tracker: who rings, who waits, and the AMI link.

Nothing here is stored between scrapes (prometheus_client calls
:meth:`LiveCollector.collect` on every scrape): the calls in progress are read
from :meth:`Tracker.live_calls` and judged as ``calls.py`` would judge them if
they ended now.

* A phone *rings now* when an office phone offered to a caller started ringing and
  neither stopped nor was picked up.
* A caller *waits now* in the same stretches R4 measures: in a queue nobody has
  answered from (menu seconds before it included), on hold (a Hold, or music on
  hold outside a queue), waiting on a blind transfer, on park or alone in a
  conference room, in an IVR menu, or ringing before anyone answered (not on
  outbound calls: that is the customer's phone). The wait's age is counted from the start of the
  current stretch.

"Now" is the tracker's event clock, moved on by the wall-clock time since that
clock last moved. Event time alone would stand still whenever Asterisk is quiet,
and a caller alone in a queue makes no events at all until a phone rings for
them (``d2_queue_190s``: none for 187 s), which is exactly when the 3-minute
alert must fire. The scrape only learns that the clock moved when it looks, so
right after events the age may lag by up to one scrape interval, never lead.

Every department always gets a sample (0 when nothing happens), so a dashboard
shows "0 waiting", not "No data", on a quiet afternoon.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..core.calls import LiveCall, first_wait_start
from ..core.record import LEG_DIRECT, LEG_QUEUE, LEG_TRANSFER, Offer
from ..core.rules import DeptLookup

UNKNOWN = "unknown"   # the label of a call no directory department owns
SNAPSHOT_ATTEMPTS = 5


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


def live_department(call: LiveCall, dept_of: DeptLookup) -> str:
    """The department a call in progress belongs to, chosen as for a finished call (``department_of_call``)."""
    candidates = [o.extension for o in call.offers if o.answered and not o.to_trunk]
    candidates += [o.extension for o in call.offers if not o.to_trunk] + [call.origin.exten]
    if _outbound(call):
        candidates.insert(0, call.origin.extension)
    for ext in candidates:
        dept = dept_of(ext) if ext else None
        if dept:
            return dept
    return UNKNOWN


@dataclass
class LiveView:
    """One snapshot of the calls in progress, by department."""

    now: float
    ringing: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    longest: dict[str, float] = field(default_factory=dict)
    in_progress: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)


class LiveCollector:
    """A prometheus_client collector reading the tracker (and the AMI link, the speech backlog) per scrape."""

    def __init__(self, tracker, dept_of: DeptLookup, departments: list[str], book=None, state=None,
                 speech_backlog: Optional[Callable[[], Optional[int]]] = None,
                 wall: Callable[[], float] = time.time,
                 speech_fallbacks: Optional[Callable[[], Optional[int]]] = None) -> None:
        self.tracker = tracker
        self.dept_of = dept_of
        self.departments = departments
        self.book = book
        self.state = state
        self.speech_backlog = speech_backlog
        self.speech_fallbacks = speech_fallbacks
        self.wall = wall
        self.started = wall()
        self._anchor = (tracker.clock, self.started)   # (event clock, wall time it was first seen)

    def now(self) -> float:
        """The event clock, extrapolated by wall time since it last moved (see the module docstring)."""
        clock, wall = self.tracker.clock, self.wall()
        if clock != self._anchor[0]:
            self._anchor = (clock, wall)
        return clock + max(0.0, wall - self._anchor[1])

    def snapshot(self) -> LiveView:
        """The live view now; retried when the event loop changes the tracker mid-read."""
        for attempt in range(SNAPSHOT_ATTEMPTS):
            try:
                return self._snapshot()
            except RuntimeError:   # "dictionary changed size during iteration" (another thread fed an event)
                if attempt == SNAPSHOT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _snapshot(self) -> LiveView:
        view = LiveView(self.now())
        for call in self.tracker.live_calls():
            dept = live_department(call, self.dept_of)
            view.in_progress[dept] += 1
            for offer in call.offers:
                if ringing_now(offer):
                    view.ringing[self.dept_of(offer.extension) or UNKNOWN] += 1
            start = wait_start(call)
            if start is not None:
                view.waiting[dept] += 1
                view.longest[dept] = max(view.longest.get(dept, 0.0), max(0.0, view.now - start))
        if self.book is not None:
            for missed in list(self.book.pending.values()):
                view.callbacks[missed.department or UNKNOWN] += 1
        return view

    def describe(self) -> Iterable[Metric]:
        """The metric names (for the registry's duplicate check), without computing anything."""
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        """Every live metric, computed now."""
        return list(self._families(self.snapshot()))

    def _families(self, view: Optional[LiveView]) -> Iterable[Metric]:
        per_dept = [
            ("telmon_phones_ringing", "Office phones ringing for a caller now.", "ringing"),
            ("telmon_callers_waiting", "Callers waiting for a person now (queue, hold, transfer, "
                                       "ringing before an answer).", "waiting"),
            ("telmon_longest_wait_seconds", "Seconds the longest-waiting caller has waited so far "
                                            "(R4 limit: 180 s by default).", "longest"),
            ("telmon_calls_in_progress", "Calls in progress.", "in_progress"),
            ("telmon_callbacks_pending", "Missed callers not yet called back within the R8 window.", "callbacks"),
        ]
        for name, text, attr in per_dept:
            family = GaugeMetricFamily(name, text, labels=["department"])
            if view is not None:
                values = getattr(view, attr)
                for dept in list(dict.fromkeys(self.departments + sorted(values))):
                    family.add_metric([dept], float(values.get(dept, 0)))
            yield family
        yield from self._ami(view is not None)
        if self.speech_backlog is not None:
            family = GaugeMetricFamily("telmon_speech_backlog", "Greeting checks waiting for the speech worker.")
            if view is not None:
                family.add_metric([], float(self.speech_backlog() or 0))
            yield family
        if self.speech_fallbacks is not None:
            fallbacks = CounterMetricFamily("telmon_speech_fallback_checks",
                                            "Greeting checks run with Vosk alone although Whisper is configured "
                                            "(its model missing or corrupt, or it failed on the recording).")
            if view is not None:
                fallbacks.add_metric([], float(self.speech_fallbacks() or 0))
            yield fallbacks

    def _ami(self, fill: bool) -> Iterable[Metric]:
        if self.state is None:
            return
        s = self.state
        connected = GaugeMetricFamily("telmon_ami_connected", "1 while logged in to Asterisk's AMI, else 0.")
        reconnects = CounterMetricFamily("telmon_ami_reconnects", "AMI sessions re-established after a drop.")
        failures = CounterMetricFamily("telmon_ami_login_failures", "AMI logins refused by Asterisk.")
        age = GaugeMetricFamily("telmon_ami_last_event_age_seconds",
                                "Seconds since the last AMI message (events, or the keepalive's Ping answers) "
                                "or, before any, since telmon started.")
        if fill:
            connected.add_metric([], 1.0 if s.connected else 0.0)
            reconnects.add_metric([], float(s.reconnects))
            failures.add_metric([], float(s.login_failures))
            last = s.last_event_wall if s.last_event_wall is not None else self.started
            age.add_metric([], max(0.0, self.wall() - last))
        yield from (connected, reconnects, failures, age)

"""Live gauges read at scrape time: who rings, who waits (the tracker's live view), and the AMI link.

Nothing here is stored between scrapes (prometheus_client calls
:meth:`LiveCollector.collect` on every scrape). What "ringing now" and "waiting
now" mean is core's (monitor/core/liveview.py); this module turns
:meth:`Tracker.live_view <monitor.core.tracker.Tracker.live_view>` into gauges.

Threads. The scrape runs in the HTTP server's thread while the event loop feeds
the tracker. The collector asks the tracker for its live view under the lock the
tracker also holds while it applies an event (``tracker.guard``, installed by
:meth:`Metrics.watch <monitor.metrics.registry.Metrics.watch>`), so the view is
the state between two events, never a half-applied one, and needs no retry. A
published snapshot refreshed by the event loop would avoid the lock but show a
state up to one refresh old, and needs a timer in every program that feeds a
pipeline; the lock costs the event loop at most one view's computation (a few
microseconds per call in progress) per scrape.

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
from typing import Any, Callable, Iterable, Mapping, Optional

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..core.liveview import LiveView
from ..core.rules import DeptLookup

UNKNOWN = "unknown"   # the label of a call no directory department owns


def by_label(values: Mapping[Optional[str], float]) -> dict[str, float]:
    """A live view's per-department values keyed by label (no department: ``unknown``)."""
    return {dept or UNKNOWN: float(value) for dept, value in values.items()}


class LiveCollector:
    """A prometheus_client collector reading the tracker (and the AMI link, the speech backlog) per scrape."""

    def __init__(self, tracker: Any, dept_of: DeptLookup, departments: list[str], book: Any = None,
                 state: Any = None,
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
        clock: float = self.tracker.clock
        wall = self.wall()
        if clock != self._anchor[0]:
            self._anchor = (clock, wall)
        return clock + max(0.0, wall - self._anchor[1])

    def snapshot(self) -> LiveView:
        """The tracker's live view now (taken under its lock: see the module docstring)."""
        view: LiveView = self.tracker.live_view(self.now(), self.dept_of)
        return view

    def callbacks(self) -> dict[str, float]:
        """Missed calls waiting for their R8 callback, per department label."""
        if self.book is None:
            return {}
        # The book changes in the event loop (outside the tracker's lock): ``tuple`` copies its
        # values in one step that holds the GIL, so the loop cannot change it mid-copy.
        pending = tuple(self.book.pending.values())
        counts: dict[str, float] = {}
        for missed in pending:
            label = missed.department or UNKNOWN
            counts[label] = counts.get(label, 0.0) + 1
        return counts

    def describe(self) -> Iterable[Metric]:
        """The metric names (for the registry's duplicate check), without computing anything."""
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        """Every live metric, computed now."""
        view = self.snapshot()
        values = {"ringing": by_label(view.ringing), "waiting": by_label(view.waiting),
                  "longest": by_label(view.longest), "in_progress": by_label(view.in_progress),
                  "callbacks": self.callbacks()}
        return list(self._families(values))

    def _families(self, values: Optional[dict[str, dict[str, float]]]) -> Iterable[Metric]:
        per_dept = [
            ("telmon_phones_ringing", "Office phones ringing for a caller now.", "ringing"),
            ("telmon_callers_waiting", "Callers waiting for a person now (queue, hold, transfer, "
                                       "ringing before an answer).", "waiting"),
            ("telmon_longest_wait_seconds", "Seconds the longest-waiting caller has waited so far "
                                            "(R4 limit: 180 s by default).", "longest"),
            ("telmon_calls_in_progress", "Calls in progress.", "in_progress"),
            ("telmon_callbacks_pending", "Missed callers not yet called back within the R8 window.", "callbacks"),
        ]
        for name, text, key in per_dept:
            family = GaugeMetricFamily(name, text, labels=["department"])
            if values is not None:
                got = values[key]
                for dept in list(dict.fromkeys(self.departments + sorted(got))):
                    family.add_metric([dept], float(got.get(dept, 0)))
            yield family
        yield from self._ami(values is not None)
        if self.speech_backlog is not None:
            family = GaugeMetricFamily("telmon_speech_backlog", "Greeting checks waiting for the speech worker.")
            if values is not None:
                family.add_metric([], float(self.speech_backlog() or 0))
            yield family
        if self.speech_fallbacks is not None:
            fallbacks = CounterMetricFamily("telmon_speech_fallback_checks",
                                            "Greeting checks run with Vosk alone although Whisper is configured "
                                            "(its model missing or corrupt, or it failed on the recording).")
            if values is not None:
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

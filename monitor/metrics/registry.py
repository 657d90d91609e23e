"""Prometheus metrics for the supervisors' Grafana: what happened (counters, histograms) and what is happening.

:class:`Metrics` owns a private :class:`~prometheus_client.CollectorRegistry` and
is a pipeline sink: every finished call and every verdict settled later (R8,
speech) updates its counters and histograms, labelled with the person
``core/charter.charged_extension`` names (the monthly report's person). The live
view (phones ringing, callers waiting) is the tracker's (``Tracker.live_view``),
taken at each scrape by :class:`~monitor.metrics.live.LiveCollector` with the AMI
link and the speech backlog; :meth:`Metrics.watch` registers it.
:func:`start_metrics_server` serves ``/metrics``.

Labels are bounded by construction: ``department`` and ``person`` only ever take
values from the directory (or ``unknown``), the rest come from fixed sets in the
code. A caller's number, a uniqueid or anything else a caller controls never
becomes a label (the charter withholds personal data).

Every label combination the dashboards and alerts read is created at zero when
telmon starts: ``increase()`` cannot see a series' first increment, so a counter
that appears already at 1 would hide the first call of the day.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, Optional

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, disable_created_metrics

from .. import __version__
from ..core.cadence import Cadence
from ..core.charter import CALL_RULES, JUDGED_RESULTS, charged_extension
from ..core.record import DIRECTIONS, OUTCOMES, CallRecord
from ..core.rules import Thresholds, Verdict, r4_longest
from ..directory import Directory
from .http import Exposition, MetricsEndpoint, serve
from .live import UNKNOWN, LiveCollector
from ..pipeline import Finished, Pipeline

if TYPE_CHECKING:   # types only: the settings and the AMI link's state are read, never imported at run time
    from ..live.listener import ListenerState
    from ..settings import Settings

WAIT_KINDS = ("ringing", "queue", "hold", "transfer")
RING_CYCLES = 10          # ring-second buckets: the end of ring 1 .. ring 10
WAIT_BOUNDS = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0)
REMEMBERED_CALLS = 50_000  # labels kept for verdicts settled later (R8: a day of calls, with room)


def ring_buckets(cadence: Cadence) -> list[float]:
    """Histogram bounds for ringing seconds: the end of each ring, then a few long ones.

    ``le = cycle * k`` counts the phones answered (or stopped) within ``k`` rings, so
    the R1 line (``max_rings``) is always a bucket bound, whatever the cadence.
    """
    bounds = [round(cadence.cycle * k, 6) for k in range(1, RING_CYCLES + 1)]
    return bounds + [b for b in (60.0, 120.0) if b > bounds[-1]]


def wait_buckets(thresholds: Thresholds) -> list[float]:
    """Histogram bounds for wait seconds, always including the R4 limit."""
    return sorted(set(WAIT_BOUNDS) | {float(thresholds.max_wait_seconds)})


class Metrics:
    """telmon's metrics: a pipeline sink plus, once :meth:`watch` is called, the live gauges."""

    def __init__(self, directory: Directory, cadence: Cadence, thresholds: Thresholds,
                 person_labels: bool = True, registry: Optional[CollectorRegistry] = None) -> None:
        # ``*_created`` series would double the (pre-initialised) series count and no panel reads them.
        disable_created_metrics()
        self.directory = directory
        self.person_labels = person_labels
        self.registry = registry if registry is not None else CollectorRegistry()
        self.live: Optional[LiveCollector] = None
        self._labels: OrderedDict[str, tuple[str, str]] = OrderedDict()   # linkedid -> (department, person)
        self._lock = threading.Lock()
        r = self.registry
        self.build = Info("telmon_build", "telmon version.", registry=r)
        self.build.info({"version": __version__})
        self.calls = Counter("telmon_calls", "Finished calls by direction, outcome and owning department.",
                             ["direction", "outcome", "department"], registry=r)
        verdict_labels = ["rule", "result", "department"] + (["person"] if person_labels else [])
        self.verdicts = Counter("telmon_rule_verdicts", "Rule verdicts (R1 ring, R4 wait, R5 transfer, R8 callback, "
                                "R2/R3/R7 speech) by result; R8 counts 'pending' when a call is missed, then "
                                "'pass' or 'fail' when it settles.", verdict_labels, registry=r)
        self.ring = Histogram("telmon_ring_seconds", "Seconds an office phone rang for a caller, per phone offered "
                              "(answered=yes: until it was picked up); bucket bounds are ring boundaries.",
                              ["department", "answered"], buckets=ring_buckets(cadence), registry=r)
        self.wait = Histogram("telmon_wait_seconds", "The longest single wait of each call (the R4 measure) by "
                              "what the caller was waiting on.", ["department", "kind"],
                              buckets=wait_buckets(thresholds), registry=r)
        self._zero_series()
        # What /metrics caches between changes; ``version`` moves after every change.
        self.history = [self.build, self.calls, self.verdicts, self.ring, self.wait]
        self.version = 0

    @classmethod
    def from_settings(cls, settings: "Settings", directory: Directory) -> "Metrics":
        """The metrics of ``telmon run`` and the demo, as configured (``[metrics]``, cadence, thresholds)."""
        return cls(directory, settings.cadence_obj, settings.thresholds_obj, settings.metrics.person_labels)

    @property
    def departments(self) -> list[str]:
        """Every department label value: the directory's departments, then ``unknown``."""
        return [d.name for d in self.directory.departments] + [UNKNOWN]

    def _people(self, department: str) -> list[str]:
        names = [p.name for p in self.directory.people_in(department)] if department != UNKNOWN else []
        return list(dict.fromkeys(names)) + [UNKNOWN]

    def _zero_series(self) -> None:
        for dept in self.departments:
            for direction in DIRECTIONS:
                for outcome in OUTCOMES:
                    self.calls.labels(direction, outcome, dept)
            for answered in ("yes", "no"):
                self.ring.labels(dept, answered)
            for kind in WAIT_KINDS:
                self.wait.labels(dept, kind)
            people = self._people(dept) if self.person_labels else [None]
            for rule in CALL_RULES:
                for result in JUDGED_RESULTS:
                    for person in people:
                        self._verdict(rule, result, dept, person)

    def _verdict(self, rule: str, result: str, department: str, person: Optional[str]) -> Counter:
        if self.person_labels:
            return self.verdicts.labels(rule, result, department, person or UNKNOWN)
        return self.verdicts.labels(rule, result, department)

    def is_office(self, extension: str) -> bool:
        """True for an office phone (an extension of a directory department)."""
        return bool(self.directory.department_of(extension))

    def person_of(self, record: CallRecord) -> str:
        """The directory name of the person a call's verdicts are charged to (``charter.charged_extension``)."""
        ext = charged_extension(record, self.is_office)
        person = self.directory.person(ext) if ext else None
        return person.name if person is not None else UNKNOWN

    # -- the Sink protocol ------------------------------------------------------------
    def call_finished(self, finished: Finished) -> None:
        """Count the call, its verdicts, its phones' ringing and its longest wait."""
        rec = finished.record
        dept = finished.department or UNKNOWN
        person = self.person_of(rec)
        with self._lock:
            self._labels[rec.linkedid] = (dept, person)
            while len(self._labels) > REMEMBERED_CALLS:
                self._labels.popitem(last=False)
        self.calls.labels(rec.direction, rec.outcome, dept).inc()
        for verdict in finished.verdicts.values():
            self._verdict(verdict.rule, verdict.result, dept, person).inc()
        if rec.outcome == "incomplete":
            self._changed()
            return   # its events are not all known: no measurement from it (as no verdict)
        for offer in rec.offers:
            if not offer.to_trunk and offer.ring_start is not None:
                self.ring.labels(dept, "yes" if offer.answered else "no").observe(offer.ring_seconds)
        longest = r4_longest(rec)   # the R4 measure
        if longest is not None:
            self.wait.labels(dept, longest.kind if longest.kind in WAIT_KINDS else "ringing").observe(longest.seconds)
        self._changed()

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Count a verdict decided after its call ended, under that call's department and person."""
        with self._lock:
            dept, person = self._labels.get(linkedid, (UNKNOWN, UNKNOWN))
        self._verdict(verdict.rule, verdict.result, dept, person).inc()
        self._changed()

    def _changed(self) -> None:
        # Called after the counters moved, from the event loop and possibly other threads (a
        # speech result, the database writer). ``+= 1`` is a read then a write: under the lock
        # every change gets its own number, so http.py's cache (re-render when the number moved)
        # does not depend on how threads happen to interleave.
        with self._lock:
            self.version += 1

    # -- the live view ----------------------------------------------------------------
    def watch(self, pipeline: Pipeline, state: Optional["ListenerState"] = None,
              speech_backlog: Optional[Callable[[], Optional[int]]] = None,
              wall: Optional[Callable[[], float]] = None,
              speech_fallbacks: Optional[Callable[[], Optional[int]]] = None) -> LiveCollector:
        """Export the live gauges of ``pipeline`` (and the AMI link ``state``, the speech backlog) at each scrape."""
        with self._lock:
            for missed in pipeline.book.pending.values():   # restored from the database after a restart
                self._labels.setdefault(missed.linkedid, (missed.department or UNKNOWN, UNKNOWN))
        # The scrape reads the tracker from the HTTP thread: under this lock, which the tracker
        # also holds while it applies an event (see metrics/live.py).
        pipeline.tracker.guard = threading.Lock()
        kwargs = {"wall": wall} if wall is not None else {}
        self.live = LiveCollector(pipeline.tracker, self.directory.department_of, self.departments,
                                  pipeline.book, state, speech_backlog, speech_fallbacks=speech_fallbacks, **kwargs)
        self.registry.register(self.live)
        return self.live


def start_metrics_server(metrics: Metrics, host: str, port: int) -> MetricsEndpoint:
    """Serve ``metrics`` on ``http://host:port/metrics`` in a daemon thread (port 0: a free one).

    The address is always passed on (a wildcard default would publish the call
    records on every interface); see monitor/metrics/http.py for why the text of
    the counters is cached between changes.
    """
    return serve(Exposition(metrics), host, port)

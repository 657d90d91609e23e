"""Bytes to verdicts: codec, tracker, rules and the R8 book wired together.

One pipeline serves ``telmon replay``, the demo and the live listener alike, so
a recorded stream and a live socket are judged by exactly the same code. The
pipeline itself does no I/O either; what happens to a finished call (store it,
print it, count it in metrics) is up to the *sinks* handed to it.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Protocol

from .ami.codec import AmiDecoder, Banner, Malformed, Message
from .core.cadence import Cadence
from .core.callback import CallbackBook, MissedCall
from .core.limits import Unfit, fit_record
from .core.judged import JudgedCall
from .core.record import CallRecord
from .core.rules import DeptLookup, Thresholds, Verdict, department_of_call, judge_call
from .core.tracker import Tracker, TrackerOptions
from .core.masking import scrub

if TYPE_CHECKING:   # settings and the directory are only read here, never needed to import the pipeline
    from .directory import Directory
    from .settings import Settings

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0   # how often (in event time) stale calls and R8 windows are checked


Finished = JudgedCall   # the name sinks have used; one type (monitor/core/judged.py)


class Sink(Protocol):
    """Where finished calls and later-settled verdicts go (database, terminal, metrics)."""

    def call_finished(self, finished: Finished) -> None:
        """A call ended; its R8 may still be pending."""

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """A verdict of an earlier call was decided later (R8)."""


class Pipeline:
    """Feeds AMI bytes or events through the core and hands results to sinks."""

    def __init__(self, cadence: Cadence, thresholds: Thresholds, options: TrackerOptions,
                 dept_of: DeptLookup, sinks: Iterable[Sink] = ()) -> None:
        self.cadence = cadence
        self.thresholds = thresholds
        self.dept_of = dept_of
        self.tracker = Tracker(options)
        self.book = CallbackBook(thresholds.callback_window_seconds, dept_of)
        self.sinks = list(sinks)
        self.malformed: list[Malformed] = []
        self.malformed_count = 0
        self.decoder = self.new_decoder()
        self._last_tick = 0.0
        self.judged: OrderedDict[str, None] = OrderedDict()   # linkedids judged lately (bounded)

    @classmethod
    def from_settings(cls, settings: "Settings", directory: "Directory", sinks: Iterable[Sink] = ()) -> "Pipeline":
        """The pipeline every command judges with: the settings' cadence, thresholds and tracker
        options, departments from the directory (one place, so replay and run never differ)."""
        options = TrackerOptions(trunks=frozenset(settings.tracker.trunks),
                                 stale_after=settings.tracker.stale_call_seconds)
        return cls(settings.cadence_obj, settings.thresholds_obj, options, directory.department_of, sinks)

    def new_decoder(self) -> AmiDecoder:
        """A decoder that skips the events the tracker does not read (a new one per stream)."""
        return AmiDecoder(wanted=self.tracker.wanted_events, wanted_when=self.tracker.wanted_when)

    def feed_bytes(self, data: bytes, source: str = "stream") -> list[Finished]:
        """Decode bytes (any chunking) and process every complete event."""
        return self._process(self.decoder.feed(data), source)

    def end_stream(self, source: str = "stream") -> list[Finished]:
        """The current stream ended: report a truncated tail, start a fresh decoder."""
        done = self._process(self.decoder.close(), source)
        self.decoder = self.new_decoder()
        return done

    def feed_event(self, event: Mapping[str, str], wall: Optional[float] = None) -> list[Finished]:
        """Process one already-parsed event (``wall``: a trusted clock that vouches for its time)."""
        done = [self._judge(r) for r in self.tracker.feed(event, wall)]
        if self.tracker.clock < self._last_tick:
            self._last_tick = self.tracker.clock   # the stream's clock was re-established earlier
        if self.tracker.clock - self._last_tick >= TICK_SECONDS:
            done.extend(self.tick())
        return done

    def tick(self, now: Optional[float] = None) -> list[Finished]:
        """Flush stale calls and close R8 windows up to ``now`` (default: the event clock)."""
        now = self.tracker.clock if now is None else now
        self._last_tick = now
        done = [self._judge(r) for r in self.tracker.expire(now)]
        for linkedid, verdict in self.book.expire(now):
            self.settle(linkedid, verdict)
        return done

    def flush(self, reason: str) -> list[Finished]:
        """Flush every call in progress as incomplete (shutdown, end of a backfill)."""
        return [self._judge(r) for r in self.tracker.flush_all(reason)]

    def reconcile(self, active: list[Mapping[str, str]], across_gap: set[str], reason: str,
                  now: Optional[float] = None) -> list[Finished]:
        """After an AMI reconnect: settle calls that were live across the gap (see Tracker.reconcile)."""
        return [self._judge(r) for r in self.tracker.reconcile(active, across_gap, reason, now)]

    def restore_pending(self, missed: Iterable[MissedCall]) -> None:
        """Resume R8 judging of missed calls stored before a restart."""
        self.book.restore(missed)

    def _process(self, items: list[Message | Banner | Malformed], source: str) -> list[Finished]:
        done: list[Finished] = []
        for item in items:
            if isinstance(item, Message):
                if item.event:
                    done.extend(self.feed_event(item))
            elif isinstance(item, Malformed):
                self.malformed_count += 1
                if len(self.malformed) < 1000:
                    self.malformed.append(item)
                n = self.malformed_count
                if n <= 20 or n % 1000 == 0:    # a hostile stream must not flood the log (or the disk under it)
                    log.warning("%s: skipped malformed AMI frame at byte %d: %s%s", source, item.offset,
                                scrub(item.reason), f" ({n} so far)" if n > 20 else "")
        return done

    def judge(self, record: CallRecord) -> Finished:
        """Judge a record built elsewhere (recovered from CEL) and hand it to the sinks like any other."""
        return self._judge(record)

    def _judge(self, record: CallRecord) -> Finished:
        try:
            record = fit_record(record)   # within the database's limits, changes flagged (core/limits.py)
        except Unfit:
            pass    # a required time is not a number: the store dead-letters it with the reason
        verdicts = judge_call(record, self.cadence, self.thresholds)
        settled = self.book.observe(record)
        verdicts["R8"] = settled[0][1]
        finished = Finished(record, verdicts, department_of_call(record, self.dept_of))
        self.judged[record.linkedid] = None          # recovery from CEL skips what was judged already
        if len(self.judged) > 20000:
            self.judged.popitem(last=False)
        for sink in self.sinks:
            try:
                sink.call_finished(finished)
            except Exception:  # one failing sink (or call) never stops the monitor
                log.exception("sink %s failed on call %s", type(sink).__name__, record.linkedid)
        for linkedid, verdict in settled[1:]:
            self.settle(linkedid, verdict)
        return finished

    def settle(self, linkedid: str, verdict: Verdict) -> None:
        """Hand a verdict decided after the call ended (R8, speech) to every sink."""
        for sink in self.sinks:
            try:
                sink.verdict_settled(linkedid, verdict)
            except Exception:
                log.exception("sink %s failed settling %s of %s", type(sink).__name__, verdict.rule, linkedid)

"""Recorded AMI streams into the database: ``telmon replay`` and the demo's paced replay.

Adapters around :class:`~monitor.pipeline.Pipeline`: they read files, sleep (for
the paced demo), and write to the store. All judging happens in the pipeline.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from .ami.codec import Message
from .core.rules import PENDING, Verdict
from .pipeline import Finished, Pipeline
from .storage.sink import StoreSink

__all__ = ["Collector", "StoreSink", "Tally", "finish_storing", "paced_replay", "pending_verdicts", "replay_files"]

log = logging.getLogger(__name__)

CHUNK = 1 << 20   # read recordings a MiB at a time: memory stays flat on a year of history


@dataclass
class Collector:
    """Keeps every finished call of a replay in order, with verdicts settled later applied."""

    calls: dict[str, Finished] = field(default_factory=dict)
    on_finish: Optional[Callable[[Finished], None]] = None
    on_settle: Optional[Callable[[str, Verdict], None]] = None

    def call_finished(self, finished: Finished) -> None:
        """Remember the call (and show it, for the live demo)."""
        self.calls[finished.record.linkedid] = finished
        if self.on_finish is not None:
            self.on_finish(finished)

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Apply a late verdict (R8) to a call already collected."""
        if linkedid in self.calls:
            self.calls[linkedid].verdicts[verdict.rule] = verdict
        if self.on_settle is not None:
            self.on_settle(linkedid, verdict)

    def ordered(self) -> list[Finished]:
        """Calls by start time."""
        return sorted(self.calls.values(), key=lambda f: (f.record.start, f.record.linkedid))


@dataclass
class Tally:
    """Counts a replay's calls without keeping them (``telmon replay --quiet``: a year of
    history would otherwise hold every finished call in memory until the end)."""

    calls: int = 0
    pending: set[str] = field(default_factory=set)   # calls whose R8 still waits

    def call_finished(self, finished: Finished) -> None:
        """Count the call; remember it only while its R8 verdict is pending."""
        self.calls += 1
        r8 = finished.verdicts.get("R8")
        if r8 is not None and r8.result == PENDING:
            self.pending.add(finished.record.linkedid)

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """A settled R8 verdict: the call no longer waits."""
        if verdict.rule == "R8" and verdict.result != PENDING:
            self.pending.discard(linkedid)


def replay_files(pipeline: Pipeline, paths: Iterable[Path]) -> None:
    """Feed recorded streams, one after the other, as fast as they can be read.

    One tracker spans all files (a capture split across files still assembles);
    each file gets its own decoder because each starts with its own banner.
    """
    for path in paths:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                pipeline.feed_bytes(chunk, source=str(path))
        pipeline.end_stream(source=str(path))


def paced_replay(pipeline: Pipeline, paths: Iterable[Path], speed: float, max_gap: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Feed recorded streams with their original timing (``speed`` times faster).

    Gaps between captures are cut to ``max_gap`` seconds of wall time, so the demo
    shows calls ringing and ending live without waiting out the idle minutes.
    """
    previous: Optional[float] = None
    for path in paths:
        decoder = pipeline.new_decoder()
        items = decoder.feed(Path(path).read_bytes()) + decoder.close()
        for item in items:
            if not isinstance(item, Message) or not item.event:
                continue
            ts = _timestamp(item)
            if ts is not None and previous is not None and ts > previous:
                sleep(min((ts - previous) / speed, max_gap))
            if ts is not None:
                previous = ts if previous is None else max(previous, ts)
            pipeline.feed_event(item)


def _timestamp(msg: Message) -> Optional[float]:
    try:
        return float(msg["Timestamp"])
    except (KeyError, ValueError):
        return None


def pending_verdicts(finished: Iterable[Finished]) -> int:
    """How many R8 verdicts are still waiting for a callback or for their window to close."""
    return sum(1 for f in finished if f.verdicts.get("R8") and f.verdicts["R8"].result == PENDING)


def finish_storing(sink: StoreSink, spill_dir: Path, patience: float = 60.0,
                   sleep: Callable[[float], None] = time.sleep) -> bool:
    """The end of a replay or backfill: write what is held, waiting up to ``patience`` seconds for an
    unavailable database (backing off), then spill the rest to ``spill_dir``; True when all was stored."""
    delay, waited = 1.0, 0.0
    while not sink.try_flush():
        if waited >= patience:
            sink.spill(spill_dir)
            return False
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 15.0)
    return True

"""The pipeline sinks that keep what a command shows: every call in order (:class:`Collector`,
``telmon replay``, the demo, ``telmon run``'s log line) or only counts (:class:`Tally`, backfills).

Sinks that write elsewhere live beside what they write to: the database
(``monitor/storage/sink.py``), Prometheus (``monitor/metrics.py``), the speech
spool (``monitor/speech/worker.py``). Like every sink, these are called on the
one thread that owns the pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .core.rules import PENDING, Verdict
from .pipeline import Finished

__all__ = ["Collector", "Tally", "pending_verdicts"]


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


def pending_verdicts(finished: Iterable[Finished]) -> int:
    """How many R8 verdicts are still waiting for a callback or for their window to close."""
    return sum(1 for f in finished if f.verdicts.get("R8") and f.verdicts["R8"].result == PENDING)

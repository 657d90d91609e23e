"""The pipeline sink that stores finished calls: batches, outages, and nothing lost.

Calls are saved in batches (one transaction each). When the database is away
(:class:`StorageUnavailable`: connection, lock, disk full) the calls stay held
here and the next flush tries again; the outage is logged once when it starts
and once when it ends, and counted (:class:`StorageHealth`, exported on
/metrics). A call the database refuses never blocks the others: the store
fits or dead-letters it. Verdicts settled while the database is away wait with
the calls. :meth:`StoreSink.spill` writes whatever is still held to a file when
telmon must stop before the database is back.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ..core.rules import Verdict
from .failures import StorageUnavailable
from .spill import spill

log = logging.getLogger(__name__)


@dataclass
class StorageHealth:
    """The database link as /metrics shows it."""

    up: bool = True
    outages: int = 0
    outage_since: Optional[float] = None
    held: int = 0                # calls waiting for the database
    last_error: str = ""

    def failed(self, why: str, held: int) -> None:
        """A write failed for a transient reason: one log line per outage."""
        self.held = held
        self.last_error = why
        if self.up:
            self.up = False
            self.outages += 1
            self.outage_since = time.monotonic()
            log.error("database unavailable (%s): holding %d calls and retrying", why, held)

    def worked(self, stored: int) -> None:
        """A write succeeded: the outage, if any, is over."""
        self.held = 0
        if not self.up:
            lasted = time.monotonic() - (self.outage_since or time.monotonic())
            log.warning("database back after %.0f s; %d held calls stored", lasted, stored)
            self.up = True
            self.outage_since = None


class StoreSink:
    """Saves finished calls in batches and settles later verdicts (see the module docstring)."""

    def __init__(self, store: Any, batch: int = 500, health: Optional[StorageHealth] = None) -> None:
        self.store = store
        self.batch = batch
        self.health = health or StorageHealth()
        self._pending: dict[str, Any] = {}              # linkedid -> Finished
        self._verdicts: list[tuple[str, Verdict]] = []  # settled for calls already written, not yet stored
        self.saved = 0

    @property
    def held(self) -> int:
        """Calls not yet written."""
        return len(self._pending)

    def call_finished(self, finished: Any) -> None:
        """Queue a call for the next batch (written when the batch is full)."""
        self._pending[finished.record.linkedid] = finished
        if len(self._pending) >= self.batch and self.health.up:
            self.try_flush()

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Update a verdict in the queued batch, or in the database if already saved."""
        queued = self._pending.get(linkedid)
        if queued is not None:
            queued.verdicts[verdict.rule] = verdict
            return
        self._verdicts.append((linkedid, verdict))
        if self.health.up:
            self.try_flush()

    def try_flush(self) -> bool:
        """Write everything held; False (and everything still held) when the database is away."""
        try:
            self.flush()
            return True
        except StorageUnavailable as exc:
            self.health.failed(str(exc), len(self._pending))
            return False

    def flush(self) -> None:
        """Write the queued calls, then the held verdicts; raises StorageUnavailable (nothing lost)."""
        stored = 0
        if self._pending:
            batch = list(self._pending.values())
            self.store.save_calls([(f.record, f.verdicts, f.department) for f in batch])
            self._pending.clear()   # only once written: a failed write keeps the calls for a retry
            self.saved += len(batch)
            stored = len(batch)
        while self._verdicts:
            linkedid, verdict = self._verdicts[0]
            self.store.set_verdict(linkedid, verdict)
            self._verdicts.pop(0)
        self.health.worked(stored)

    def spill(self, folder: Path) -> Optional[Path]:
        """Write the calls still held to a spill file (stored at the next start); None when none were held."""
        held = list(self._pending.values())
        for linkedid, verdict in self._verdicts:   # a late verdict of a call already stored: carried by a copy
            log.warning("verdict %s of call %s not stored (database unavailable)", verdict.rule, linkedid)
        path = spill(folder, [(f.record, f.verdicts, f.department) for f in held])
        if path is not None:
            log.error("database unavailable at shutdown: %d calls saved in %s (stored at the next start)",
                      len(held), path)
            self._pending.clear()
        return path


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

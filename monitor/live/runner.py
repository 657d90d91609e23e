"""``telmon run`` and the live demo: listener, database writer, FastAGI and signals wired together.

The AMI event loop must never wait for the database: finished calls go to a
writer thread through a queue (:class:`ThreadedSink`), so a slow or briefly
unavailable database delays storage, not call tracking. SIGTERM/SIGINT stop the
listener, store every call still in progress as incomplete (never silently
dropped), drain the queue, and exit within SHUTDOWN_SECONDS: calls a database
that is away cannot take are spilled to a file and stored at the next start.
"""
from __future__ import annotations

import asyncio
import logging
import os
import queue
import random
import signal
import threading
import time
import typing
from pathlib import Path
from typing import Any, Callable, Optional

from ..core.rules import Verdict
from ..pipeline import Finished, Pipeline
from ..storage.sink import StoreSink
from ..storage.spill import load_spilled
from .handover import HandOver

log = logging.getLogger(__name__)

_STOP = object()
SHUTDOWN_SECONDS = 4.0     # SIGTERM to exit, at most (systemd's default stop timeout is 90 s; ours is < 5 s)
HARD_EXIT_SECONDS = 4.8    # the watchdog's last word, should anything still block


class ThreadedSink:
    """Hands finished calls and settled verdicts to a :class:`StoreSink` running in its own thread.

    While the database is away the calls stay held in the sink and a write is
    tried again with exponential backoff (``backoff_min`` doubling to
    ``backoff_max``), not in a tight loop, and never ahead of newer calls: one
    refused call is fitted or dead-lettered by the store, never retried.
    """

    def __init__(self, inner: StoreSink, backoff_min: float = 1.0, backoff_max: float = 30.0) -> None:
        self.inner = inner
        self.queue: "queue.Queue[object]" = queue.Queue()
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self._after: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._work, name="telmon-db-writer", daemon=True)
        self._thread.start()

    def call_finished(self, finished: Finished) -> None:
        """Queue a finished call for the writer (never blocks the event loop)."""
        self.queue.put(("call", finished))

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Queue a late verdict."""
        self.queue.put(("verdict", (linkedid, verdict)))

    def after_written(self, action: Callable[[], None]) -> None:
        """Run ``action`` in the writer thread once everything queued before it is committed.

        The speech worker deletes a recording this way: only after its verdicts are stored.
        """
        self.queue.put(("after", action))

    @property
    def backlog(self) -> int:
        """Items waiting for the database (queued, and held through an outage)."""
        return self.queue.qsize() + self.inner.held

    def _work(self) -> None:
        delay = self.backoff_min
        next_try = 0.0
        while True:
            waiting = self.inner.held > 0 or not self.inner.health.up
            timeout = max(0.0, next_try - time.monotonic()) if waiting else None
            try:
                item = self.queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                if self.inner.try_flush():
                    self._run_after()
                return
            if item is not None:
                kind, payload = typing.cast(tuple[str, Any], item)
                if kind == "call":
                    self.inner.call_finished(payload)    # batches; written when full or idle
                elif kind == "after":
                    self._after.append(payload)          # run once what came before it is committed
                    if self.inner.health.up and self.inner.try_flush():
                        self._run_after()
                else:
                    self.inner.verdict_settled(*payload)
            if self.queue.empty() and time.monotonic() >= next_try:
                if self.inner.try_flush():
                    self._run_after()
                    delay = self.backoff_min
                    next_try = 0.0
                else:
                    next_try = time.monotonic() + delay * random.uniform(0.8, 1.2)
                    delay = min(self.backoff_max, delay * 2)

    def _run_after(self) -> None:
        """Everything queued so far is committed: run the actions that waited for it (a database
        outage keeps them waiting, so a recording is never deleted before its verdict is stored)."""
        actions, self._after = self._after, []
        for action in actions:
            try:
                action()
            except Exception:   # e.g. a file that cannot be deleted: logged, the writer goes on
                log.exception("post-commit action failed")

    def close(self, timeout: Optional[float] = None, spill_dir: Optional[Path] = None) -> int:
        """Write everything queued, then stop the writer; calls the database did not take in
        ``timeout`` seconds are spilled to ``spill_dir`` (stored at the next start). Returns
        how many were spilled."""
        self.queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            # Still blocked in a write (a database that hangs): take what is queued into the sink.
            while True:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP and item[0] == "call":  # type: ignore[index]
                    self.inner._pending[item[1].record.linkedid] = item[1]  # type: ignore[index]
        held = self.inner.held
        if held and spill_dir is not None:
            try:
                self.inner.spill(spill_dir)
            except OSError as exc:
                log.error("%d calls could not be stored or saved to %s: %s", held, spill_dir, exc.strerror or exc)
        return held


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (a graceful, flushing shutdown), and arm a watchdog that
    ends the process after HARD_EXIT_SECONDS whatever still blocks (a hung database, a stuck thread)."""
    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=_watchdog, name="telmon-stop-watchdog", daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass


def _watchdog() -> None:
    time.sleep(HARD_EXIT_SECONDS)
    log.error("telmon did not stop within %.1f s; exiting now", HARD_EXIT_SECONDS)
    logging.shutdown()
    os._exit(1)


async def _bounded(call: Callable[[], Any], seconds: float, what: str) -> None:
    """Run a blocking ``call`` in a daemon thread, waiting at most ``seconds`` (a default executor
    would be joined at exit, so a stuck call would hold the process)."""
    done = threading.Event()

    def run() -> None:
        try:
            call()
        except Exception:
            log.exception("%s failed during shutdown", what)
        finally:
            done.set()
    threading.Thread(target=run, name=f"telmon-stop-{what}", daemon=True).start()
    deadline = time.monotonic() + seconds
    while not done.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if not done.is_set():
        log.warning("%s did not finish within %.1f s at shutdown", what, seconds)


async def shutdown(pipeline: Pipeline, writer: ThreadedSink, speech: Any = None,
                   spill_dir: Optional[Path] = None, budget: float = SHUTDOWN_SECONDS - 0.5,
                   hand_over: Optional[HandOver] = None) -> int:
    """Store calls still in progress as incomplete, finish greeting checks, drain the database queue,
    all within ``budget`` seconds; what the database cannot take in time is spilled to a file."""
    started = time.monotonic()
    held = pipeline.flush("telmon stopped while the call was in progress")
    if speech is not None:
        # Checks already running settle their verdicts into the writer's queue first.
        await _bounded(speech.close, budget / 3, "speech")
    if hand_over is not None:
        hand_over.apply_pending()    # on the loop's thread, before the writer is told to stop
    left = max(0.5, budget - (time.monotonic() - started))
    done = threading.Event()
    spilled: list[int] = []

    def close() -> None:
        spilled.append(writer.close(left - 0.3, spill_dir))
        done.set()
    threading.Thread(target=close, name="telmon-stop-writer", daemon=True).start()
    while not done.is_set() and time.monotonic() - started < budget + 0.4:
        await asyncio.sleep(0.02)
    return len(held)


class LiveMonitor:
    """One running monitor: AMI listener, pipeline, database writer (and FastAGI, when given)."""

    def __init__(self, settings, directory, store, extra_sinks: Optional[list] = None, metrics=None,
                 recorder=None) -> None:
        from .listener import Listener

        self.spill_dir = settings.spill_path
        stored = load_spilled(store, self.spill_dir)   # calls held at the last stop, database away
        if stored:
            log.info("stored %d calls kept from the last run in %s", stored, self.spill_dir)
        self.store = store
        self.writer = ThreadedSink(StoreSink(store, batch=200))
        self.pipeline = Pipeline.from_settings(settings, directory, [self.writer, *(extra_sinks or [])])
        self.pipeline.restore_pending(store.pending_callbacks())
        # Verdicts decided on other threads (the speech worker) reach the pipeline on the loop's thread.
        self.hand_over = HandOver()
        self.listener = Listener(settings.ami, self.pipeline, recorder=recorder)
        self._recover_first: tuple[Optional[Callable[[float], None]], Optional[float]] = (None, None)
        if settings.cel_path:
            self._cel_recovery(settings, store)
        self.speech = None   # the SpeechWorker, when telmon run starts one (its backlog is a metric)
        if metrics is not None:   # monitor.metrics.Metrics: counts calls as they end, reads live state per scrape
            self.pipeline.sinks.append(metrics)
            metrics.watch(self.pipeline, self.listener.state, lambda: self.speech.backlog if self.speech else 0,
                          speech_fallbacks=lambda: getattr(self.speech, "fallbacks", 0))
            from ..metrics.storage import StorageCollector
            metrics.registry.register(StorageCollector(self.writer.inner.health, store))
        self.stop = asyncio.Event()

    def settle_from_thread(self, linkedid: str, verdict: Verdict) -> None:
        """From any thread (the speech worker's): settle a late verdict on the loop's thread."""
        self.hand_over.put(self.pipeline.settle, linkedid, verdict)

    def after_stored_from_thread(self, action: Callable[[], None]) -> None:
        """From any thread: run ``action`` once everything handed over before it is committed
        (it reaches the writer's queue in order, after the verdicts it follows)."""
        self.hand_over.put(self.writer.after_written, action)

    def _cel_recovery(self, settings, store) -> None:
        """Recover from Asterisk's CEL the calls of every gap: since the last stored call at start, since
        the connection dropped after a reconnect (monitor/recovery.py)."""
        from ..recovery import MARGIN, recover
        trunks = frozenset(settings.tracker.trunks)

        def from_cel(since: float) -> None:
            got = recover(self.pipeline, store, settings.cel_path, since - MARGIN, trunks=trunks)
            log.info("recovered %d calls from CEL since %.0f (%d known already)", got.calls, since - MARGIN, got.known)
        self.listener.recover = from_cel
        # Where the gap began: the last stored call's end, else when an earlier run first connected
        # (a run killed before it stored anything still watched from then on).
        marker = self.spill_dir / "watching-since"
        since = store.latest_end()
        if since is None and marker.is_file():
            try:
                since = float(marker.read_text(encoding="utf-8").strip())
            except (OSError, ValueError):
                since = None
        self._recover_first = (from_cel, since)

        def mark(pbx_time: float) -> None:
            if not marker.exists():
                marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                marker.write_text(f"{pbx_time:.6f}\n", encoding="utf-8")
        self.listener.connected_at = mark

    async def run(self) -> int:
        """Listen until ``stop`` is set, then shut down cleanly; returns calls flushed as incomplete."""
        self.hand_over.attach(asyncio.get_running_loop())
        recover, since = self._recover_first
        if recover is not None and since is not None:
            # Calls that began and ended while telmon was down: over, so no connection is needed.
            try:
                recover(since)
            except Exception:
                log.exception("recovering the calls made while telmon was down from CEL failed")
        await self.listener.run(self.stop)
        try:
            return await shutdown(self.pipeline, self.writer, self.speech, self.spill_dir, hand_over=self.hand_over)
        finally:
            self.hand_over.detach()

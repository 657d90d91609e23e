"""``telmon run`` and the live demo: listener, database writer, FastAGI and signals wired together.

The AMI event loop must never wait for the database: finished calls go to a
writer thread through a queue (:class:`ThreadedSink`), so a slow or briefly
unavailable database delays storage, not call tracking. SIGTERM/SIGINT stop the
listener, store every call still in progress as incomplete (never silently
dropped), drain the queue, and exit.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
import time
from typing import Any, Callable, Optional

from ..pipeline import Finished, Pipeline
from ..core.rules import Verdict
from ..replay import StoreSink

log = logging.getLogger(__name__)

_STOP = object()


class ThreadedSink:
    """Hands finished calls and settled verdicts to a sink running in its own thread."""

    def __init__(self, inner: StoreSink, retry_seconds: float = 2.0) -> None:
        self.inner = inner
        self.queue: "queue.Queue[object]" = queue.Queue()
        self.retry_seconds = retry_seconds
        self.failures = 0
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
        """Items waiting for the database."""
        return self.queue.qsize()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                self._write_with_retry(self.inner.flush)
                return
            kind, payload = item  # type: ignore[misc]
            if kind == "call":
                self._write_with_retry(lambda: self.inner.call_finished(payload))  # batches; flushed when idle
            elif kind == "after":
                self._write_with_retry(self.inner.flush)
                try:
                    payload()
                except Exception:   # e.g. a file that cannot be deleted: logged, the writer goes on
                    log.exception("post-commit action failed")
            else:
                self._write_with_retry(self.inner.flush)   # the call must be stored before its update
                self._write_with_retry(lambda: self.inner.verdict_settled(*payload))
            if self.queue.empty():
                self._write_with_retry(self.inner.flush)

    def _write_with_retry(self, write: Callable[[], None]) -> None:
        # A database that is down must not lose calls: keep them and retry.
        while True:
            try:
                write()
                return
            except Exception as exc:
                self.failures += 1
                log.error("database write failed (%s); retrying in %.0f s", exc, self.retry_seconds)
                time.sleep(self.retry_seconds)

    def close(self, timeout: Optional[float] = None) -> None:
        """Write everything queued, then stop the writer thread."""
        self.queue.put(_STOP)
        self._thread.join(timeout)


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (a graceful, flushing shutdown)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass


async def shutdown(pipeline: Pipeline, writer: ThreadedSink, speech: Any = None) -> int:
    """Store calls still in progress as incomplete, finish greeting checks, drain the database queue."""
    held = pipeline.flush("telmon stopped while the call was in progress")
    loop = asyncio.get_running_loop()
    if speech is not None:
        # Checks already running settle their verdicts into the writer's queue first.
        await loop.run_in_executor(None, speech.close)
    await loop.run_in_executor(None, writer.close)
    return len(held)


class LiveMonitor:
    """One running monitor: AMI listener, pipeline, database writer (and FastAGI, when given)."""

    def __init__(self, settings, directory, store, extra_sinks: Optional[list] = None, metrics=None) -> None:
        from ..core.tracker import TrackerOptions
        from .listener import Listener

        self.writer = ThreadedSink(StoreSink(store, batch=200))
        options = TrackerOptions(trunks=frozenset(settings.tracker.trunks),
                                 stale_after=settings.tracker.stale_call_seconds)
        self.pipeline = Pipeline(settings.cadence_obj, settings.thresholds_obj, options,
                                 directory.department_of, [self.writer, *(extra_sinks or [])])
        self.pipeline.restore_pending(store.pending_callbacks())
        self.listener = Listener(settings.ami, self.pipeline)
        self.speech = None   # the SpeechWorker, when telmon run starts one (its backlog is a metric)
        if metrics is not None:   # monitor.metrics.Metrics: counts calls as they end, reads live state per scrape
            self.pipeline.sinks.append(metrics)
            metrics.watch(self.pipeline, self.listener.state, lambda: self.speech.backlog if self.speech else 0)
        self.stop = asyncio.Event()

    async def run(self) -> int:
        """Listen until ``stop`` is set, then shut down cleanly; returns calls flushed as incomplete."""
        await self.listener.run(self.stop)
        return await shutdown(self.pipeline, self.writer, self.speech)

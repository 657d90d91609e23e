"""Results made on other threads, applied on the one thread that owns the pipeline.

The pipeline and its sinks (the call collector, the metrics' ``version``, the
database writer's queue order) are not locked: they are fed by one thread, the
asyncio event loop in ``telmon run`` and the demo. The speech worker decides
verdicts on its own threads (the dispatcher, a pool slot's callback), so it never
calls the pipeline itself: it hands each verdict to a :class:`HandOver`, which
queues it and wakes the loop with ``call_soon_threadsafe``; the loop applies it.
What must follow a verdict goes the same way, so order is kept: the worker's
"delete the recording once this is stored" reaches the database writer's queue
after the verdict it waits for, never before.

Without a loop (a batch caller, a test) nothing is applied behind the caller's
back: results wait until the caller's own thread calls :meth:`HandOver.apply_pending`.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)


class HandOver:
    """A thread-safe queue of calls, run in order on the owner's thread only."""

    def __init__(self) -> None:
        self._pending: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def put(self, fn: Callable[..., None], *args: Any) -> None:
        """From any thread: queue ``fn(*args)`` for the owner (and wake the loop, if one is attached)."""
        with self._lock:
            self._pending.append((fn, args))
            loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self.apply_pending)
            except RuntimeError:    # the loop closed meanwhile: the item waits for apply_pending
                pass

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on the loop applies what arrives (and what waited before it started)."""
        with self._lock:
            self._loop = loop
        loop.call_soon_threadsafe(self.apply_pending)

    def detach(self) -> None:
        """The loop is stopping: later items wait for an explicit :meth:`apply_pending`."""
        with self._lock:
            self._loop = None

    @property
    def pending(self) -> int:
        """Items queued and not applied yet."""
        return len(self._pending)

    def apply_pending(self) -> int:
        """On the owner's thread: apply everything queued so far, in order; returns how many."""
        applied = 0
        while True:
            with self._lock:
                if not self._pending:
                    return applied
                fn, args = self._pending.popleft()
            try:
                fn(*args)
            except Exception:   # one failing result never stops the owner
                log.exception("applying a result handed over from another thread failed")
            applied += 1

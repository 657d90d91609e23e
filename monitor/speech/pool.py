"""Worker processes for greeting checks that survive the death of one of them.

``concurrent.futures.ProcessPoolExecutor`` breaks for good when one child dies
(the OOM killer, a crash in native code): every later check raised
``BrokenProcessPool``. Here each process has its own slot thread and pipe, so a
death is noticed by the one slot whose check was running: that process is
replaced (the model loads again), the check is retried once on the new process,
and if it kills that one too, only this call fails. A check running longer than
``timeout`` is treated the same way. Checks merely waiting are not affected.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Callable, Optional

from ..errors import TelmonError

log = logging.getLogger(__name__)

_STOP = None


class CheckFailed(TelmonError, RuntimeError):
    """The check could not be run (its process died twice, or it ran too long twice)."""


def _nothing() -> None:
    """The default process initializer."""


def _child(conn: Connection, initializer: Callable[..., None], initargs: tuple, fn: Callable[..., Any]) -> None:
    initializer(*initargs)
    conn.send(("ready", None))
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        if args is _STOP:
            return
        try:
            conn.send(("ok", fn(*args)))
        except Exception as exc:   # the check's own error goes back to the caller, the process lives on
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Task:
    args: tuple
    done: Callable[[Any, Optional[BaseException]], None]
    attempts: int = 0
    meta: dict = field(default_factory=dict)


class CheckPool:
    """``processes`` workers running ``fn(*args)``; ``submit`` never blocks, ``done(result, error)`` is called once."""

    def __init__(self, fn: Callable[..., Any], processes: int = 1, initializer: Callable[..., None] = _nothing,
                 initargs: tuple = (), timeout: float = 120.0, start_timeout: float = 120.0) -> None:
        self.fn, self.initializer, self.initargs = fn, initializer, initargs
        self.timeout, self.start_timeout = timeout, start_timeout
        self.replaced = 0
        self._ctx = mp.get_context("spawn")     # a fresh interpreter: no threads or locks inherited from telmon
        self._tasks: "queue.Queue[Optional[_Task]]" = queue.Queue()
        self._procs: list[Optional[Any]] = [None] * processes
        self._closing = False
        self._threads = [threading.Thread(target=self._slot, args=(i,), name=f"telmon-speech-{i}", daemon=True)
                         for i in range(processes)]
        for t in self._threads:
            t.start()

    def pids(self) -> list[int]:
        """The worker processes' ids (for operators, and for tests that kill one)."""
        return [p.pid for p in self._procs if p is not None and p.is_alive()]

    def submit(self, args: tuple, done: Callable[[Any, Optional[BaseException]], None]) -> None:
        """Queue one check; ``done`` runs in a slot thread."""
        self._tasks.put(_Task(args, done))

    def _spawn(self, slot: int) -> tuple[Any, Connection]:
        began = time.monotonic()
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_child, args=(child, self.initializer, self.initargs, self.fn),
                                 name=f"telmon-speech-{slot}", daemon=True)
        try:
            proc.start()
        except Exception as exc:   # e.g. a function that cannot be sent to a new interpreter
            raise CheckFailed(f"speech worker process could not start: {exc}") from exc
        finally:
            child.close()
        if not parent.poll(self.start_timeout):
            raise CheckFailed(f"speech worker process did not start within {self.start_timeout:g} s")
        parent.recv()       # "ready" (EOFError if it died loading the model)
        self._procs[slot] = proc
        log.info("speech worker %d ready (process %d, model loaded in %.1f s)", slot, proc.pid,
                 time.monotonic() - began)
        return proc, parent

    def _slot(self, slot: int) -> None:
        proc, conn = None, None
        try:       # load the model now, not when the first call ends
            proc, conn = self._spawn(slot)
        except (EOFError, OSError, CheckFailed) as exc:
            log.error("speech worker %d did not start (%s); retried with the first check", slot, exc)
        while True:
            task = self._tasks.get()
            if task is None:
                break
            task.attempts += 1
            try:
                if proc is None or not proc.is_alive():
                    proc, conn = self._spawn(slot)
                assert conn is not None
                conn.send(task.args)
                if not conn.poll(self.timeout):
                    raise TimeoutError(f"check ran over {self.timeout:g} s")
                status, value = conn.recv()
            except (EOFError, OSError, TimeoutError, CheckFailed) as exc:
                # The process died (or hung): replace it; retry this check once, then give up on it alone.
                self._kill(proc)
                proc, conn = None, None
                self.replaced += 1
                why = "worker process died" if isinstance(exc, (EOFError, OSError)) else str(exc)
                if task.attempts < 2 and not self._closing:
                    log.warning("speech worker %d: %s during a check; replacing it and retrying the check once",
                                slot, why)
                    self._tasks.put(task)
                else:
                    log.error("speech worker %d: %s again; this call's greeting is not checked", slot, why)
                    task.done(None, CheckFailed(f"{why} (twice)"))
                continue
            except Exception as exc:   # e.g. arguments that cannot be sent: this check fails, the slot goes on
                task.done(None, CheckFailed(f"{type(exc).__name__}: {exc}"))
                continue
            task.done(value if status == "ok" else None, None if status == "ok" else CheckFailed(value))
        if conn is not None:
            try:
                conn.send(_STOP)
            except OSError:
                pass
        if proc is not None:
            proc.join(5)
            self._kill(proc)

    @staticmethod
    def _kill(proc: Any) -> None:
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5)

    def close(self, wait: bool = True) -> None:
        """Finish queued checks (``wait``) or drop them, then stop the processes."""
        self._closing = True
        if not wait:
            while True:
                try:
                    task = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if task is not None:
                    task.done(None, CheckFailed("telmon stopped before the check ran"))
        for _ in self._threads:
            self._tasks.put(None)
        for t in self._threads:
            t.join()
        while True:     # a check re-queued for its retry while the slots were stopping
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                task.done(None, CheckFailed("telmon stopped before the check ran"))

"""The speech worker: greeting checks in worker processes, outside the AMI event loop.

Every finished call is handed over (``call_finished`` never blocks): a dispatcher
thread claims the call's jobs in the spool (:mod:`.spool`), picks the one of the
staff member the rules are about (the answering extension inbound, the caller
outbound), and deletes any other recording of the call unchecked (internal
calls, transfer targets, a second answer). It waits until MixMonitor has closed
the file, then a worker process (:mod:`.pool`, the model loaded once) runs the
check and the verdicts come back as late verdicts (``settle``), like R8; ``settle``
is called on the worker's own threads, so ``telmon run`` passes a hand-over to the
event loop (``monitor/live/handover.py``), never the pipeline itself. The
recording and the claim are deleted once the database has committed them
(``after_commit``), unless ``retain`` is set or a person may need to hear it (the
check was unclear or not stated: kept until reviewed, then purged by
``monitor/storage/recordings.py``). The backlog is bounded: beyond it a
greeting is not checked, which is logged, counted (``overflows``) and recorded as
``unclear``. A corrupt or missing recording, or a check that kills its process
twice, fails that call's speech verdicts only.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import asdict
from typing import Any, Callable, Optional

from ..core.charter import staff_extension
from ..core.record import INBOUND, OUTBOUND
from ..core.rules import NA, Verdict
from ..pipeline import Finished
from .check_job import RESULT_OF, init_child, plain, run_check
from .pool import CheckPool
from .spool import Claim, Spool, wait_closed

log = logging.getLogger(__name__)

__all__ = ["RESULT_OF", "SpeechWorker", "rules_for", "run_check"]
SWEEP_SECONDS = 600.0


def rules_for(finished: Finished) -> list[str]:
    """Which speech rules a call needs: R3 for answered inbound calls (R2 too if R1 failed), R7 outbound."""
    rec = finished.record
    if rec.outcome != "answered":
        return []
    if rec.direction == INBOUND:
        r1 = finished.verdicts.get("R1")
        return ["R3", "R2"] if r1 is not None and r1.result == "fail" else ["R3"]
    if rec.direction == OUTBOUND:
        return ["R7"]
    return []


def _run_now(fn: Callable[[], None]) -> None:
    fn()


class SpeechWorker:
    """A pipeline sink that schedules greeting checks, reports their verdicts and cleans the spool."""

    def __init__(self, spool_dir: str, directory, settle: Callable[[str, Verdict], None],
                 processes: int = 1, max_backlog: int = 100, head_seconds: float = 8.0,
                 retain: bool = False, model_path: Optional[str] = None, limits: Any = None,
                 after_commit: Callable[[Callable[[], None]], None] = _run_now, file_wait: float = 10.0,
                 stale_seconds: float = 5 * 3600.0, check_timeout: float = 120.0,
                 engines: tuple[str, ...] = ("vosk", "whisper"), whisper_dir: Optional[str] = None) -> None:
        self.spool = Spool(spool_dir, stale_seconds)
        self.directory = directory
        self.settle = settle
        self.max_backlog = max_backlog
        self.head_seconds = head_seconds
        self.retain = retain
        self.limits = limits
        self.after_commit = after_commit
        self.file_wait = file_wait
        self.overflows = self.failures = self.checked = self.discarded = self.fallbacks = 0
        self._backlog = 0
        self._lock = threading.Lock()
        self.pool = CheckPool(run_check, processes, init_child, (model_path, tuple(engines), whisper_dir),
                              timeout=check_timeout)
        self._intake: "queue.Queue[Optional[tuple]]" = queue.Queue()
        self._thread = threading.Thread(target=self._dispatch, name="telmon-speech-intake", daemon=True)
        self._thread.start()
        for claim in self.spool.unfinished():      # a previous telmon stopped before storing these verdicts
            self._intake.put(("recover", claim))

    @property
    def backlog(self) -> int:
        """Checks queued or running."""
        return self._backlog

    def call_finished(self, finished: Finished) -> None:
        """Hand a finished call to the dispatcher (never blocks; no file access on the event loop)."""
        rec = finished.record
        rules = rules_for(finished)
        staff = staff_extension(rec)
        overflow = False
        if rules:
            with self._lock:
                overflow = self._backlog >= self.max_backlog
                if not overflow:
                    self._backlog += 1
        self._intake.put(("call", rec.linkedid, rules, staff, overflow))

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Late verdicts of other rules need nothing from the speech worker."""

    def _dispatch(self) -> None:
        last_sweep = 0.0
        while True:
            try:
                item = self._intake.get(timeout=60)
            except queue.Empty:
                item = ()
            if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                last_sweep = time.monotonic()
                self.spool.sweep()
            if item is None:
                return
            try:
                if item and item[0] == "call":
                    self._take_call(*item[1:])
                elif item:
                    self._recover(item[1])
            except Exception:   # one bad job never stops the worker
                log.exception("speech intake failed on %s", item[1])

    def _take_call(self, linkedid: str, rules: list[str], staff: Optional[str], overflow: bool) -> None:
        claims = self.spool.claim(linkedid)
        mine = next((c for c in claims if rules and c.job.extension == staff), None)
        for other in claims:
            if other is not mine:    # not the person the rules are about: deleted unchecked
                self.discarded += 1
                log.info("greeting recording of call %s (extension %s) deleted unchecked: %s", linkedid,
                         other.job.extension, "no greeting rule applies" if not rules else
                         "not the staff member the rules are about")
                self.spool.release(other)
        if not rules:
            return
        if mine is None or overflow:
            if not overflow:
                self._finish_backlog()
            elif mine is not None:
                self.overflows += 1
                log.warning("speech backlog full (%d checks waiting): greeting of call %s not checked",
                            self._backlog, linkedid)
                self._settle(linkedid, mine, {r: plain(r, "unclear", None, "not checked: speech backlog full")
                                              for r in rules}, count=False)
            return
        from .greeting import expected_for
        expected = expected_for(self.directory, mine.job.extension)
        self.spool.note(mine, rules=rules, expected=asdict(expected) if expected else None)
        self._submit(linkedid, mine)

    def _recover(self, claim: Claim) -> None:
        if not claim.rules:
            log.info("greeting job %s was claimed but never checked: removed", claim.path.name)
            self.spool.release(claim)
            return
        log.info("greeting check of call %s resumed after a restart", claim.job.linkedid)
        with self._lock:
            self._backlog += 1
        self._submit(claim.job.linkedid, claim)

    def _submit(self, linkedid: str, claim: Claim) -> None:
        rules = claim.rules or []
        if not wait_closed(claim.audio, self.file_wait):
            # Never read a file Asterisk is still writing (its WAV header is written on close).
            why = (f"recording not finished: Asterisk had not closed it {self.file_wait:g} s after the call ended"
                   if claim.audio.exists() else "recording unusable: missing (Asterisk wrote no file)")
            self._settle(linkedid, claim, {r: plain(r, "unclear", None, why) for r in rules})
            return
        self.pool.submit((claim.job, claim.expected, rules, self.head_seconds, self.retain, self.limits),
                         lambda result, error: self._done(linkedid, claim, result, error))

    def _done(self, linkedid: str, claim: Claim, results: Optional[dict], error: Optional[BaseException]) -> None:
        rules = claim.rules or []
        if error is not None:
            self.failures += 1
            log.error("greeting check of call %s failed: %s", linkedid, error)
            results = {r: plain(r, "unclear", None, f"check failed: {error}") for r in rules}
        else:
            self.checked += 1
            self._note_fallback(linkedid, results or {})
        self._settle(linkedid, claim, results or {})

    def _note_fallback(self, linkedid: str, results: dict) -> None:
        why = next((f["value"]["fallback"] for f in results.values()
                    if isinstance(f.get("value"), dict) and f["value"].get("fallback")), None)
        if why is None:
            return
        self.fallbacks += 1      # telmon_speech_fallback_checks: an operator sees the second engine is missing
        if self.fallbacks == 1 or self.fallbacks % 100 == 0:
            log.warning("greeting check of call %s ran without its second engine (%d so far): %s",
                        linkedid, self.fallbacks, why)

    def _settle(self, linkedid: str, claim: Claim, results: dict, count: bool = True) -> None:
        for fields in results.values():
            verdict = Verdict(fields["rule"], fields["result"] if fields["result"] != "n/a" else NA,
                              fields["value"], fields["detail"])
            self.settle(linkedid, verdict)
            ev: dict = verdict.value if isinstance(verdict.value, dict) else {}
            log.info("greeting check of call %s, extension %s: %s %s (%s)%s", linkedid, claim.job.extension,
                     verdict.rule, verdict.result, verdict.detail,
                     f", judged at {ev['sample_rate']} Hz ({ev.get('bandwidth')})" if ev.get("sample_rate") else "")
        if count:
            self._finish_backlog()
        # Delete only once the verdicts are in the database: a crash before that leaves the claim to redo.
        # A recording the evidence names is kept for review (tracked and purged by the storage side).
        keep = self.retain or any(isinstance(f["value"], dict) and "recording" in f["value"] for f in results.values())
        self.after_commit(lambda: self.spool.release(claim, keep_audio=keep))

    def _finish_backlog(self) -> None:
        with self._lock:
            self._backlog -= 1

    def close(self, wait: bool = True) -> None:
        """Finish queued checks (or drop them) and stop the processes."""
        self._intake.put(None)
        self._thread.join()
        self.pool.close(wait=wait)

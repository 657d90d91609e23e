"""The speech worker: greeting checks in a process pool, outside the AMI event loop.

A finished call whose answering party was recorded (a job file from the FastAGI
service in the spool directory) is queued here; a pool of processes, each with
the model loaded once, runs the check; the verdicts come back as late verdicts
(``verdict_settled``), like R8. A slow or failing check never delays call
tracking. The backlog is bounded: when it is full a call's greeting is not
checked, which is logged, counted (``overflows``) and recorded as ``unclear``.
A corrupt or missing recording fails that call's speech verdicts only.
Recordings are deleted after the check unless a person may need to hear them
(the check was unclear or not stated: kept until reviewed, then purged by
``monitor/storage/recordings.py``) or ``retain`` is set.
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Optional

from ..core.record import INBOUND, OUTBOUND
from ..core.rules import NA, Verdict
from ..pipeline import Finished

log = logging.getLogger(__name__)

RESULT_OF = {"stated": "pass", "not_stated": "fail", "unclear": "unclear"}
_ENGINE: Any = None


def _init_child(model_path: Optional[str]) -> None:
    global _ENGINE
    from .engine import Engine
    _ENGINE = Engine.load(model_path)


def run_check(job: dict, expected: Optional[dict], rules: list[str], head_seconds: float,
              retain: bool, limits: Any = None) -> dict[str, dict]:
    """In a pool process: check one greeting; returns rule -> verdict fields (JSON-ready)."""
    from .audio import AudioError, read_audio
    from .greeting import Expected, check_greeting
    audio_path = job["answering_audio"]
    keep = retain
    try:
        if expected is None:
            return {r: _plain(r, "n/a", None, f"extension {job['extension']} is not in the directory") for r in rules}
        try:
            audio = read_audio(audio_path)
        except AudioError as exc:
            return {r: _plain(r, "unclear", None, f"recording unusable: {exc}") for r in rules}
        result = check_greeting(_ENGINE, audio, Expected(**expected), rules, head_seconds,
                                *([limits] if limits is not None else []))
        out = {}
        # A reviewer must be able to listen to an unclear or "not stated" check (the workbench).
        keep = retain or any(v.result != "stated" for v in result.verdicts.values())
        for rule, v in result.verdicts.items():
            evidence = {
                "confidence": v.confidence, "sample_rate": result.sample_rate, "engine": result.engine,
                "seconds": round(result.seconds, 2), "speech": result.gate.speech, "gate": result.gate.reason,
                "items": [{"item": i.item, "result": i.result, "expected": i.expected, "heard": i.heard,
                           "similarity": i.similarity, "confidence": i.confidence} for i in v.items],
                "words": [[w.text, round(w.conf, 3), round(w.start, 2), round(w.end, 2)] for w in result.words],
            }
            if keep:
                evidence["recording"] = audio_path   # a reviewer can listen to it
            out[rule] = _plain(rule, RESULT_OF[v.result], evidence, f"{v.result}: {v.reason}")
        return out
    finally:
        # The mixed recording (both parties) is never needed by a review: only the answering party's.
        for key in (() if keep else ("answering_audio",)) + (() if retain else ("mixed_audio",)):
            Path(job.get(key, "")).unlink(missing_ok=True)


def _plain(rule: str, result: str, value: Any, detail: str) -> dict:
    return {"rule": rule, "result": result, "value": value, "detail": detail}


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


class SpeechWorker:
    """A pipeline sink that schedules greeting checks and reports their verdicts."""

    def __init__(self, spool_dir: str, directory, settle: Callable[[str, Verdict], None],
                 processes: int = 1, max_backlog: int = 100, head_seconds: float = 8.0,
                 retain: bool = False, model_path: Optional[str] = None, limits: Any = None) -> None:
        self.spool = Path(spool_dir)
        self.directory = directory
        self.settle = settle
        self.max_backlog = max_backlog
        self.head_seconds = head_seconds
        self.retain = retain
        self.limits = limits
        self.overflows = 0
        self.failures = 0
        self.checked = 0
        self._backlog = 0
        self._lock = threading.Lock()
        self._pool = ProcessPoolExecutor(max_workers=processes, initializer=_init_child, initargs=(model_path,))

    @property
    def backlog(self) -> int:
        """Checks queued or running."""
        return self._backlog

    def call_finished(self, finished: Finished) -> None:
        """Queue the greeting check of a finished call (never blocks)."""
        rules = rules_for(finished)
        if not rules:
            return   # most calls: no spool lookup on the event loop at all
        rec = finished.record
        job = self._job_for(rec.linkedid, rec.caller if rec.direction == OUTBOUND else rec.answered_by)
        if job is None:
            return
        with self._lock:
            if self._backlog >= self.max_backlog:
                self.overflows += 1
                log.warning("speech backlog full (%d checks waiting): greeting of call %s not checked",
                            self._backlog, rec.linkedid)
                for rule in rules:
                    self.settle(rec.linkedid, Verdict(rule, "unclear", None, "not checked: speech backlog full"))
                return
            self._backlog += 1
        from .greeting import expected_for
        expected = expected_for(self.directory, job["extension"])
        future = self._pool.submit(run_check, job, asdict(expected) if expected else None, rules,
                                   self.head_seconds, self.retain, self.limits)
        future.add_done_callback(lambda f: self._done(rec.linkedid, rules, job, f))

    def verdict_settled(self, linkedid: str, verdict: Verdict) -> None:
        """Late verdicts of other rules need nothing from the speech worker."""

    def _job_for(self, linkedid: str, extension: Optional[str]) -> Optional[dict]:
        for path in sorted(self.spool.glob(f"{linkedid}-*.json")):
            try:
                job = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.warning("greeting job %s unreadable: %s", path, exc)
                continue
            if extension is None or job.get("extension") == extension:
                path.unlink(missing_ok=True)
                return job
        return None

    def _done(self, linkedid: str, rules: list[str], job: dict, future: Future) -> None:
        with self._lock:
            self._backlog -= 1
        try:
            results = future.result()
            self.checked += 1
        except Exception as exc:   # the worker process died or the check crashed: this call only
            self.failures += 1
            log.error("greeting check of call %s failed: %s", linkedid, exc)
            results = {r: _plain(r, "unclear", None, f"check failed: {exc}") for r in rules}
        for fields in results.values():
            self.settle(linkedid, Verdict(fields["rule"], fields["result"] if fields["result"] != "n/a" else NA,
                                          fields["value"], fields["detail"]))

    def close(self, wait: bool = True) -> None:
        """Finish queued checks (or drop them) and stop the processes."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

"""The greeting spool: job files from the FastAGI hook, claimed, waited on, and removed only when done.

Hand-over is crash-safe. A finished call's jobs are *claimed* by renaming
``<stem>.json`` to ``<stem>.claimed`` (atomic; a second telmon cannot take the same
job), and the rules to check are written into the claim. The job file and its
recording are deleted only after the verdicts are committed to the database; a
telmon that dies in between finds the claims when it starts and checks them again.

A recording is read only once MixMonitor has closed it: Asterisk writes a WAV
file's sizes into its header when it closes the file, and a closed file stops
growing. Jobs nobody claims (a call telmon never saw end) are removed after
``stale_seconds``, so no recording outlives its use by more than that.
"""
from __future__ import annotations

import json
import logging
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .job import GreetingJob, JobError, decode

log = logging.getLogger(__name__)


@dataclass
class Claim:
    """One claimed job: where its claim file is, the job, and what the worker noted in it."""

    path: Path
    job: GreetingJob
    rules: Optional[list[str]] = None     # the rules to check, once the call's end decided them
    expected: Optional[dict] = None       # what the directory says the greeting should name

    @property
    def audio(self) -> Path:
        """The recording (the staff member's voice)."""
        return Path(self.job.answering_audio)

    def to_json(self) -> str:
        """The claim file's text: the job's own fields plus the notes (an earlier telmon reads it too)."""
        return json.dumps({**self.job.to_dict(), "rules": self.rules, "expected": self.expected},
                          ensure_ascii=False)


def read_claim(path: Path) -> Claim:
    """A claim file; JobError when its job or its notes are not what telmon writes."""
    data = decode(path.read_bytes())
    job = GreetingJob.from_dict(data)
    rules, expected = data.get("rules"), data.get("expected")
    if rules is not None and not (isinstance(rules, list) and all(isinstance(r, str) for r in rules)):
        raise JobError(f"field 'rules' is {rules!r}, not a list of rule names")
    if expected is not None and not isinstance(expected, dict):
        raise JobError(f"field 'expected' is {type(expected).__name__}, not an object")
    return Claim(path, job, rules, expected)


class Spool:
    """The directory Asterisk records into and the FastAGI hook leaves jobs in."""

    def __init__(self, path: str | Path, stale_seconds: float = 5 * 3600.0) -> None:
        self.path = Path(path)
        self.stale_seconds = stale_seconds

    def inside(self, job: GreetingJob) -> bool:
        """Whether the job's recording lies directly in the spool: a job (which whoever can write
        the spool can forge) must never make telmon read or delete a file elsewhere."""
        named = job.answering_audio
        if not named:
            return False
        try:
            return Path(named).resolve().parent == self.path.resolve()
        except (OSError, RuntimeError):
            return False

    def _reject(self, path: Path, why: str) -> None:
        log.error("greeting job %s %s: set aside as .bad, nothing read or deleted", path.name, why)
        try:
            path.replace(path.with_suffix(".bad"))
        except OSError:
            pass

    def claim(self, linkedid: str) -> list[Claim]:
        """Claim every job of one call (oldest answer first); unreadable jobs are logged and set aside."""
        claims = []
        for job_file in sorted(self.path.glob(f"{glob_safe(linkedid)}-*.json")):
            target = job_file.with_name(job_file.name[: -len(".json")] + ".claimed")
            try:
                os.rename(job_file, target)
            except FileNotFoundError:
                continue            # claimed by someone else in between
            try:
                claim = read_claim(target)
            except (OSError, JobError) as exc:
                log.warning("greeting job %s unreadable (%s): set aside as .bad", job_file.name, exc)
                target.replace(target.with_suffix(".bad"))
                continue
            if not self.inside(claim.job):
                self._reject(target, "names a recording outside the spool")
                continue
            claims.append(claim)
        return sorted(claims, key=lambda c: c.job.started)

    def note(self, claim: Claim, rules: list[str], expected: Optional[dict]) -> None:
        """Write the rules to check (and the expected greeting) into a claim, atomically, so a
        restart can finish the check."""
        claim.rules, claim.expected = list(rules), expected
        tmp = claim.path.with_name(claim.path.name + ".tmp")
        tmp.write_text(claim.to_json(), encoding="utf-8")
        os.replace(tmp, claim.path)

    def release(self, claim: Claim, keep_audio: bool = False) -> None:
        """The verdicts are stored: delete the recording (unless kept for review) and the claim."""
        for path in ([] if keep_audio else [claim.audio]) + [claim.path]:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:   # logged; the stale sweep tries again later
                log.error("cannot delete %s: %s", path, exc)

    def unfinished(self) -> list[Claim]:
        """Claims left by a telmon that stopped before their verdicts were stored."""
        out = []
        for path in sorted(self.path.glob("*.claimed")):
            try:
                claim = read_claim(path)
                if not self.inside(claim.job):
                    self._reject(path, "names a recording outside the spool")
                    continue
                out.append(claim)
            except (OSError, JobError) as exc:
                log.warning("claimed greeting job %s unreadable (%s): removed", path.name, exc)
                path.unlink(missing_ok=True)
        return out

    def sweep(self, now: Optional[float] = None) -> int:
        """Remove jobs (and their recordings) older than ``stale_seconds`` that no call claimed."""
        now = time.time() if now is None else now
        removed = 0
        for path in list(self.path.glob("*.json")) + list(self.path.glob("*.bad")):
            try:
                if now - path.stat().st_mtime < self.stale_seconds:
                    continue
                job = GreetingJob.from_json(path.read_bytes()) if path.suffix == ".json" else None
            except (OSError, JobError):
                job = None     # a .bad or malformed job: only the job file itself goes
            if job is not None and self.inside(job):
                Path(job.answering_audio).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            removed += 1
        if removed:
            log.info("greeting spool: %d stale job(s) of calls never seen to end removed with their recordings",
                     removed)
        return removed


def glob_safe(text: str) -> str:
    """A linkedid as the hook wrote it into file names, with glob's special characters escaped."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def is_closed(path: Path) -> bool:
    """True when the recording is complete: a WAV's header sizes match the file (written on close)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return size > 0          # raw formats carry no header: the caller also waits for it to stop growing
    if struct.unpack("<I", head[4:8])[0] != size - 8:
        return False
    pos = 12
    while pos + 8 <= len(head):
        cid, length = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"data":
            return pos + 8 + length == size
        pos += 8 + length + (length & 1)
    return False


def wait_closed(path: Path, timeout: float, poll: float = 0.1) -> bool:
    """Wait until MixMonitor has closed ``path``: complete header and no growth between two looks."""
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        if size >= 0 and size == last and is_closed(path):
            return True
        if time.monotonic() >= deadline:
            return False
        last = size
        time.sleep(poll)

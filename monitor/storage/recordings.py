"""Recordings kept only while needed: which greeting recordings exist, for which check, and their purge.

The speech worker keeps a recording only when a person may have to listen to it
(the check was unclear or not stated) or when ``[speech] retain_recordings`` is
set; its path is in the verdict's evidence (``recording``). Every verdict
written through the :class:`~monitor.storage.store.Store` that names a recording
is tracked here (one row per call and rule), with the verdict's result and, once
a person decided, when. :func:`purge` then deletes:

- a recording of a ``stated`` check at once (after ``keep_days`` when recordings
  are retained by configuration);
- a recording of a reviewed check ``keep_days`` after the review, together with
  the transcript (words heard, what each item heard): the decision, the result
  and the scores stay;
- nothing that still waits for a review.

A file is unlinked only inside the spool directory and only when no other
check still needs it (R2 and R3 of one call share one recording).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.engine import Connection

from .models import CallRow, VerdictRow
from .workbench import RECORDINGS

log = logging.getLogger(__name__)
DAY = 86400.0
TRANSCRIPT_KEYS = ("words", "recording")


def _reviewed_at(value: dict) -> Optional[float]:
    review = value.get("review")
    if not isinstance(review, dict) or not review.get("at"):
        return None
    try:
        return dt.datetime.fromisoformat(str(review["at"])).timestamp()
    except ValueError:
        return time.time()


def track(conn: Connection, linkedid: str, rule: str, result: str, value: Any, now: Optional[float] = None) -> None:
    """Note (or update) the recording a verdict names; nothing when it names none."""
    if not isinstance(value, dict) or not isinstance(value.get("recording"), str) or not value["recording"]:
        return
    path = value["recording"]
    table = RECORDINGS
    row = conn.execute(select(table.c.id, table.c.path).where(table.c.linkedid == linkedid,
                                                              table.c.rule == rule)).first()
    fields = {"path": path, "name": os.path.basename(path), "result": result, "reviewed_at": _reviewed_at(value)}
    if row is None:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        conn.execute(table.insert().values(linkedid=linkedid, rule=rule, bytes=size,
                                           stored_at=time.time() if now is None else now, **fields))
    else:
        conn.execute(update(table).where(table.c.id == row.id).values(**fields))


@dataclass
class PurgeResult:
    """What one purge did."""

    deleted: int = 0           # recordings whose time was up
    files: int = 0             # files unlinked
    transcripts: int = 0       # reviewed checks whose words were dropped
    bytes: int = 0


def purge(engine: Any, spool_dir: str, keep_days: float, retain_stated: bool = False,
          now: Optional[float] = None) -> PurgeResult:
    """Delete the recordings (and reviewed transcripts) whose retention is over; see the module's docstring."""
    now = time.time() if now is None else now
    keep = keep_days * DAY
    table = RECORDINGS
    due = and_(table.c.deleted_at.is_(None), or_(
        and_(table.c.reviewed_at.is_not(None), table.c.reviewed_at <= now - keep),
        and_(table.c.reviewed_at.is_(None), table.c.result == "pass",
             table.c.stored_at <= now - (keep if retain_stated else 0.0))))
    out = PurgeResult()
    spool = Path(spool_dir).resolve()
    with engine.begin() as conn:
        rows = list(conn.execute(select(table).where(due).order_by(table.c.id)))
        for row in rows:
            if row.reviewed_at is not None and _drop_transcript(conn, row.linkedid, row.rule, now):
                out.transcripts += 1
            conn.execute(update(table).where(table.c.id == row.id).values(deleted_at=now))
            out.deleted += 1
        for path in sorted({row.path for row in rows}):
            still = conn.scalar(select(func.count()).select_from(table)
                                .where(table.c.path == path, table.c.deleted_at.is_(None)))
            if still:
                continue   # another check of the call still waits for its review
            target = Path(path).resolve()
            if not target.is_relative_to(spool):
                log.warning("recording %s is outside the spool %s: not deleted by telmon", path, spool)
                continue
            try:
                size = target.stat().st_size
                target.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.error("cannot delete recording %s: %s", path, exc)
                continue
            out.files += 1
            out.bytes += size
    if out.deleted:
        log.info("purged %d recordings (%d files, %d bytes), %d transcripts", out.deleted, out.files, out.bytes,
                 out.transcripts)
    return out


def _drop_transcript(conn: Connection, linkedid: str, rule: str, now: float) -> bool:
    """Remove the words heard from a reviewed verdict (and its kept original); the decision stays."""
    verdicts, calls = cast(Table, VerdictRow.__table__), cast(Table, CallRow.__table__)
    row = conn.execute(select(verdicts.c.id, verdicts.c.value).join(calls, calls.c.id == verdicts.c.call_id)
                       .where(calls.c.linkedid == linkedid, verdicts.c.rule == rule)).first()
    if row is None:
        return False
    value = json.loads(row.value)
    if not isinstance(value, dict):
        return False
    stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds")
    _strip(value, stamp)
    original = value.get("original")
    if isinstance(original, dict) and isinstance(original.get("value"), dict):
        _strip(original["value"], stamp)
    conn.execute(update(verdicts).where(verdicts.c.id == row.id).values(value=json.dumps(value)))
    return True


def _strip(value: dict, stamp: str) -> None:
    for key in TRANSCRIPT_KEYS:
        value.pop(key, None)
    for item in value.get("items", []) if isinstance(value.get("items"), list) else []:
        if isinstance(item, dict):
            item.pop("heard", None)
    value["transcript_deleted_at"] = stamp


def stored(engine: Any) -> tuple[int, int]:
    """How many recordings are kept now, and their bytes (the metric)."""
    table = RECORDINGS
    with engine.connect() as conn:
        row = conn.execute(select(func.count(), func.coalesce(func.sum(table.c.bytes), 0))
                           .where(table.c.deleted_at.is_(None))).one()
    return int(row[0]), int(row[1])

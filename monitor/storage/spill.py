"""A finished call as one JSON line, and back: dead letters, and calls held when the database was away.

``telmon run`` stopping while the database is unreachable must not lose the
calls it still holds: they are written to ``unsaved-<time>.jsonl`` in the spill
directory (mode 0600) and stored at the next start (:func:`load_spilled`). A
call the database refuses even after fitting is kept in the ``dead_letters``
table in the same form, with the reason.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from ..core.record import CallRecord, Hold, Offer, Transfer, WaitStretch
from ..core.rules import Verdict
from .convert import offer_index

log = logging.getLogger(__name__)


def call_to_json(record: CallRecord, verdicts: dict[str, Verdict], department: Optional[str]) -> str:
    """One call with its verdicts and department as a JSON text (offers referenced by position)."""
    rec = dataclasses.asdict(record)
    rec["transfers"] = [dict(kind=t.kind, by=t.by, to=t.to, at=t.at, target=offer_index(record.offers, t.target))
                        for t in record.transfers]
    payload = {"record": rec, "department": department,
               "verdicts": {k: dataclasses.asdict(v) for k, v in verdicts.items()}}
    return json.dumps(payload, ensure_ascii=False, default=str)


def call_from_json(text: str) -> tuple[CallRecord, dict[str, Verdict], Optional[str]]:
    """The call :func:`call_to_json` wrote."""
    payload = json.loads(text)
    rec = dict(payload["record"])
    offers = [Offer(**o) for o in rec.pop("offers")]
    transfers = [Transfer(t["kind"], t["by"], t["to"], t["at"],
                          offers[t["target"]] if t.get("target") is not None else None) for t in rec.pop("transfers")]
    holds = [Hold(**h) for h in rec.pop("holds")]
    waits = [WaitStretch(**w) for w in rec.pop("waits")]
    record = CallRecord(**rec, offers=offers, transfers=transfers, holds=holds, waits=waits)
    verdicts = {k: Verdict(**v) for k, v in payload["verdicts"].items()}
    return record, verdicts, payload.get("department")


def spill(folder: Path, calls: Iterable[tuple[CallRecord, dict[str, Verdict], Optional[str]]]) -> Optional[Path]:
    """Write calls to a new ``unsaved-*.jsonl`` file readable by its owner only; None when there were none."""
    lines = [call_to_json(*c) + "\n" for c in calls]
    if not lines:
        return None
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"unsaved-{time.time():.6f}-{os.getpid()}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def spilled_files(folder: Path) -> list[Path]:
    """The spill files waiting in ``folder``, oldest first."""
    return sorted(folder.glob("unsaved-*.jsonl")) if folder.is_dir() else []


def read_spilled(path: Path) -> Iterator[tuple[CallRecord, dict[str, Verdict], Optional[str]]]:
    """The calls of one spill file (a torn last line, from a crash while writing, is skipped)."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                yield call_from_json(line)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s line %d: not a call (%s); skipped", path.name, n, type(exc).__name__)


def load_spilled(store: Any, folder: Path) -> int:
    """Store the calls of every spill file in ``folder``, then remove the file; how many calls."""
    total = 0
    for path in spilled_files(folder):
        calls = list(read_spilled(path))
        store.save_calls(calls)
        path.unlink()
        total += len(calls)
        log.info("stored %d calls held in %s when the database was unavailable", len(calls), path.name)
    return total

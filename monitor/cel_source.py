"""Reading Asterisk's CEL as ``cel_custom`` writes it: a CSV file, newest rows at the end.

The columns are those of Asterisk's sample ``cel_custom.conf`` mapping (the
file telmon ships in ``asterisk_conf/cel_custom.conf``), in that order, quoted
with ``CSV_QUOTE``; a first line naming the columns (``eventtype,eventtime,...``)
may give another order. ``eventtime`` is epoch seconds with microseconds when
``cel.conf`` sets no ``dateformat`` (recommended), else a local date and time
such as ``2026-11-25 02:48:25`` (``dateformat = %F %T``).

The file grows for months, so it is read from its end backwards, a block at a
time, only as far back as asked (``since``): recovering a gap of minutes reads
kilobytes, not the year. Rows that do not parse are skipped and counted.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .errors import TelmonError

log = logging.getLogger(__name__)

FIELDS = ("eventtype", "eventtime", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten",
          "context", "channame", "appname", "appdata", "amaflags", "accountcode", "uniqueid", "linkedid",
          "peer", "userfield", "userdeftype", "extra")
BLOCK = 1 << 20
ORDER_SLACK = 60.0   # seconds rows of concurrent channels may be written out of order


class CelError(TelmonError, RuntimeError):
    """The CEL source cannot be read; the message names it."""


@dataclass
class CelRead:
    """Rows read from a CEL source (oldest first) and how many lines were not rows."""

    rows: list[dict[str, str]]
    skipped: int = 0


def cel_file(source: str) -> Path:
    """The CSV file of ``source``: the file itself, or ``Master.csv`` in a ``cel-custom`` folder."""
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "Master.csv"
    if not path.is_file():
        raise CelError(f"CEL source {source}: no such file (cel_custom writes cel-custom/Master.csv)")
    return path


def event_time(text: str) -> Optional[float]:
    """``eventtime`` as epoch seconds: a number, or a local ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _lines_backwards(path: Path) -> Iterable[bytes]:
    """The file's complete lines, last first (a line still being written at the end is skipped)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        pos = fh.tell()
        tail = b""
        first = True
        while pos > 0:
            size = min(BLOCK, pos)
            pos -= size
            fh.seek(pos)
            chunk = fh.read(size) + tail
            lines = chunk.split(b"\n")
            tail = lines.pop(0)             # may continue in the previous block
            if first:
                lines.pop()                 # after the last newline: empty, or a row being written
                first = False
            yield from reversed(lines)
        if tail:
            yield tail


def read_cel(source: str, since: Optional[float] = None, until: Optional[float] = None) -> CelRead:
    """The CEL rows with ``since <= eventtime < until`` (either open), oldest first."""
    path = cel_file(source)
    header = _header(path)
    names = header or FIELDS
    out: list[dict[str, str]] = []
    skipped = 0
    try:
        for raw in _lines_backwards(path):
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if not line.strip():
                continue
            try:
                values = next(csv.reader(io.StringIO(line)))
            except (csv.Error, StopIteration):
                skipped += 1
                continue
            if header and values == list(header):
                continue
            row = dict(zip(names, values))
            ts = event_time(row.get("eventtime", "")) if len(values) == len(names) else None
            if ts is None:
                skipped += 1
                continue
            if since is not None and ts < since:
                if ts < since - ORDER_SLACK:
                    break      # written in time order (give or take threads): everything before is older
                continue
            if until is not None and ts >= until:
                continue
            row["eventtime"] = f"{ts:.6f}"
            out.append(row)
    except OSError as exc:
        raise CelError(f"CEL source {path}: cannot read it: {exc.strerror or exc}") from None
    out.reverse()
    if skipped:
        log.warning("CEL source %s: %d lines that are not CEL rows skipped", path, skipped)
    return CelRead(out, skipped)


def _header(path: Path) -> Optional[tuple[str, ...]]:
    """Column names from a first line that names them, else None (the standard order)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError as exc:
        raise CelError(f"CEL source {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        values = next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        return None
    names = tuple(v.strip().lower() for v in values)
    return names if "eventtype" in names and "linkedid" in names else None

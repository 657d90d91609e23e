"""The month's report files: one pass over the month's calls, feeding the tallies and every requested writer.

The database is read once: the month's ``call_facts`` rows (kept by the write path,
``storage/facts.py``), one range scan by start time (``fastread.py``); each row goes
to the tallies (``fast.py``) and to the call-level sinks (CSV, XLSX) and is then
dropped. HTML and PDF are made from the finished tallies. Calls that have no facts
row (stored by an older telmon after the upgrade) get one first. Used by
``telmon report`` (monitor/cli/report.py) and the workbench's downloads
(monitor/web/pages_reports.py).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..masking import log_unmasked
from ..directory import Directory
from ..storage.models import CallRow
from ..storage.rebuild import build_missing, count_missing
from ..storage.store import Store
from .aggregate import MonthReport
from .fast import FastMonth, Sink
from .period import DEFAULT_TZ, ReportError, parse_month
from .tabular import open_sinks

log = logging.getLogger("telmon.report")
FORMATS = ("csv", "xlsx", "html", "pdf")
DEFAULT_FORMATS = ("csv", "xlsx", "html")


@dataclass(frozen=True)
class ReportRequest:
    """What to make: the month (``YYYY-MM``), formats and departments as given, where, and how."""

    month: str
    out: str = "."
    formats: Optional[list[str]] = None        # None: csv, xlsx, html
    departments: Optional[list[str]] = None    # None: the whole foundation
    timezone: str = DEFAULT_TZ
    unmasked: bool = False
    reason: str = ""                           # required with unmasked; logged
    # The owner's unmasked-export log (monitor/masking.py); the workbench keeps its own audit trail instead,
    # which names the signed-in user rather than the server's process owner.
    owner_log: bool = True
    progress: bool = True                      # a progress bar, when ``err`` is a terminal


@dataclass(frozen=True)
class MadeReport:
    """What :func:`make_report` did: the finished tallies, the files written, and how long it took."""

    report: MonthReport
    written: list[Path]
    seconds: float


def parse_formats(values: Optional[list[str]]) -> list[str]:
    """The requested formats, in canonical order; unknown ones are an error."""
    wanted = {f.strip().lower() for v in (values or [",".join(DEFAULT_FORMATS)]) for f in v.split(",") if f.strip()}
    unknown = wanted - set(FORMATS)
    if unknown:
        raise ReportError(f"--format {', '.join(sorted(unknown))}: choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]


def resolve_departments(directory: Directory, names: Optional[list[str]]) -> list[str]:
    """Department names (or aliases) as the directory spells them; an unknown one is an error."""
    out = []
    for name in names or []:
        dept = directory.department(name.strip())
        if dept is None:
            known = ", ".join(d.name for d in directory.departments)
            raise ReportError(f"--department {name!r}: no such department (known: {known})")
        out.append(dept.name)
    return out


def ensure_facts(store: Store, since: float, until: float) -> int:
    """Build the facts of the month's calls that have none (two index counts when all have them)."""
    with store.engine.connect() as conn:
        if count_missing(conn, since, until) == 0:
            return 0
    with store.engine.begin() as conn:
        built = build_missing(conn, since, until)
    log.warning("built the report facts of %d calls stored without them", built)
    return built


def count_calls(store: Store, since: float, until: float, departments: list[str]) -> int:
    """How many calls the month has (for the progress bar only)."""
    query = select(func.count(CallRow.id)).where(CallRow.started_at >= since, CallRow.started_at < until)
    if departments:
        query = query.where(CallRow.department.in_(departments))
    with Session(store.engine) as session:
        return int(session.scalar(query) or 0)


class Progress:
    """A one-line progress bar on a terminal (stderr); silent otherwise."""

    def __init__(self, total: int, out: TextIO, enabled: bool) -> None:
        self.total, self.out, self.enabled = total, out, enabled and out.isatty()
        self.done, self.started, self._shown = 0, time.monotonic(), -1.0

    def step(self) -> None:
        """One more call processed; redraws at most ~10 times a second."""
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown >= 0.1 or self.done == self.total:
            self._shown = now
            frac = self.done / self.total if self.total else 1.0
            bar = "#" * int(frac * 30)
            rate = self.done / max(now - self.started, 1e-9)
            self.out.write(f"\rtelmon report [{bar:<30}] {self.done}/{self.total} calls {rate:,.0f}/s")
            self.out.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            self.out.write("\n")
            self.out.flush()


def _fan_out(sinks: list[Any]) -> Sink:
    """One callback feeding every tabular sink the same prepared rows."""
    if len(sinks) == 1:
        return sinks[0].rows
    def both(rows: list[list[Any]], violations: list[list[Any]]) -> None:
        for sink in sinks:
            sink.rows(rows, violations)
    return both


def make_report(settings: Settings, directory: Directory, req: ReportRequest, err: TextIO) -> MadeReport:
    """Read the month once and write every requested format; a bad request is a :class:`ReportError`."""
    month = parse_month(req.month, req.timezone)
    formats = parse_formats(req.formats)
    departments = resolve_departments(directory, req.departments)
    if "pdf" in formats or "html" in formats:
        from .html import check_tools
        check_tools(pdf="pdf" in formats)
    out_dir = Path(req.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"--out {out_dir}: cannot create it: {exc.strerror or exc}") from None
    suffix = "-" + "+".join(departments) if departments else ""
    prefix = f"telmon-report-{month.label}{suffix}"
    title = f"telmon monthly report {month.label}" + (f" — {', '.join(departments)}" if departments else "")
    if req.unmasked:
        # Full caller numbers are personal data: who exported them (the process owner), when and why
        # is kept in the owner's audit log (monitor/masking.py), not in the export's own folder.
        if not (req.reason or "").strip():
            raise ReportError("--unmasked needs --reason WHY (it is logged)")
        if req.owner_log:
            log_unmasked(f"report {prefix} --unmasked", req.reason)

    store = Store.open(settings.database_url)
    since, until = month.bounds
    report = MonthReport(month, directory, settings.cadence_obj, settings.thresholds_obj,
                         departments or None)
    ensure_facts(store, since, until)
    sinks = open_sinks(set(formats), out_dir, prefix, title, req.unmasked)
    progress = Progress(count_calls(store, since, until, departments), err, req.progress)
    started = time.monotonic()
    try:
        fast = FastMonth(report, sheets=bool(sinks), unmasked=req.unmasked)
        sink = _fan_out(sinks) if sinks else None
        for dept in departments or [None]:
            fast.run(store, since, until, dept, sink, progress.step if progress.enabled else None)
        fast.finish()
    finally:
        progress.close()
        store.close()
    written: list[Path] = []
    for sink in sinks:
        written += sink.finish(report)
    if "html" in formats or "pdf" in formats:
        from .html import write_html
        from .pdf import write_pdf
        html_path = write_html(report, out_dir / f"{prefix}.html", title, req.unmasked)
        if "html" in formats:
            written.append(html_path)
        if "pdf" in formats:
            written.append(write_pdf(html_path, out_dir / f"{prefix}.pdf"))
            if "html" not in formats:
                html_path.unlink(missing_ok=True)
    return MadeReport(report, written, time.monotonic() - started)

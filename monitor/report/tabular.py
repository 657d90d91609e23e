"""CSV and XLSX writers.

Both are *sinks*: ``rows()`` is fed each chunk of calls as it streams out of the
database (the call-level sheet and the violations sheet are written as they come and
never held), ``finish()`` writes the summary sheets from the finished tallies.

CSV files are UTF-8 with a byte-order mark: without it Excel reads them as the
local code page and Korean department names turn to mojibake. The mark is written
by hand and the file opened as plain UTF-8: Python's ``utf-8-sig`` codec encodes
through a Python-level incremental encoder, 10 % of a month's CSV export.

XLSX uses XlsxWriter in ``constant_memory`` mode: each row is flushed to a
temporary file once the next row starts, so memory stays flat however many calls
the month has; unlike openpyxl's write-only mode it still supports frozen panes,
column widths, number formats and conditional formats.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

from ..core.charter import SCORE_GOAL
from .aggregate import MonthReport
from .columns import CALL_HEADERS, FORMULAS, STAT_COLUMNS, VIOLATION_HEADERS
from .xlsxstream import StreamedSheet, splice

DEPT_HEADERS = ["department"] + [c.header for c in STAT_COLUMNS]
PERSON_HEADERS = ["department", "extension", "person"] + [c.header for c in STAT_COLUMNS]
TRAINING_HEADERS = ["department", "extension", "person", "violations in month", "date", "time", "linkedid",
                    "rule", "value", "evidence"]


def _csv_value(kind: str, value: Any) -> Any:
    """Rates as fractions with 4 decimals, empty for 'no data'."""
    if value is None:
        return ""
    if kind == "pct":
        return f"{value:.4f}"
    return value


def summary_rows(report: MonthReport) -> tuple[list[list[Any]], list[list[Any]]]:
    """Department rows (with a 'total' row) and person rows, raw values (None = no data)."""
    depts = [[name] + [c.get(s) for c in STAT_COLUMNS] for name, s in report.departments.items()]
    depts.append(["total"] + [c.get(report.total) for c in STAT_COLUMNS])
    people = [[k.department, k.extension, k.name] + [c.get(s) for c in STAT_COLUMNS]
              for k, s in report.sorted_people()]
    return depts, people


def training_rows(report: MonthReport) -> list[list[Any]]:
    """R9: one row per listed violation of every trainee (a note row when more exist than were kept)."""
    rows: list[list[Any]] = []
    for key, stats, kept in report.trainees():
        for v in kept:
            rows.append([key.department, key.extension, key.name, stats.violations, v.when.strftime("%Y-%m-%d"),
                         v.when.strftime("%H:%M:%S"), v.linkedid, v.rule, v.value, v.evidence])
        if stats.violations > len(kept):
            rows.append([key.department, key.extension, key.name, stats.violations, "", "", "", "", "",
                         f"{stats.violations - len(kept)} more: see the violations sheet"])
    return rows


class CsvSink:
    """Writes ``<prefix>-departments.csv``, ``-people.csv``, ``-training.csv``, ``-violations.csv``, ``-calls.csv``."""

    def __init__(self, out_dir: Path, prefix: str) -> None:
        """Open the call-level files (written as chunks come) under ``out_dir``; the summaries wait for finish."""
        self.paths = {n: out_dir / f"{prefix}-{n}.csv" for n in ("departments", "people", "training",
                                                                 "violations", "calls")}
        self._files: dict[str, TextIO] = {}
        self._calls = self._open("calls", CALL_HEADERS)
        self._violations = self._open("violations", VIOLATION_HEADERS)

    def _open(self, name: str, headers: list[str]) -> Any:
        fh = open(self.paths[name], "w", encoding="utf-8", newline="", buffering=1 << 20)
        fh.write("\ufeff")
        self._files[name] = fh
        writer = csv.writer(fh)
        writer.writerow(headers)
        return writer

    def rows(self, rows: list[list[Any]], violations: list[list[Any]]) -> None:
        """Prepared call-level rows and their violation rows (``fast.FastMonth``'s, per chunk).

        ``None`` is written as an empty field (the csv module's rule)."""
        self._calls.writerows(rows)
        if violations:
            self._violations.writerows(violations)

    def finish(self, report: MonthReport) -> list[Path]:
        """Write the summaries and close every file."""
        depts, people = summary_rows(report)
        kinds = [c.kind for c in STAT_COLUMNS]
        w = self._open("departments", DEPT_HEADERS)
        for row in depts:
            w.writerow(row[:1] + [_csv_value(k, v) for k, v in zip(kinds, row[1:])])
        w = self._open("people", PERSON_HEADERS)
        for row in people:
            w.writerow(row[:3] + [_csv_value(k, v) for k, v in zip(kinds, row[3:])])
        w = self._open("training", TRAINING_HEADERS)
        for row in training_rows(report):
            w.writerow(row)
        for fh in self._files.values():
            fh.close()
        return list(self.paths.values())


class XlsxSink:
    """One workbook: About (formulas), Departments, People, R9 training, Violations, Calls."""

    def __init__(self, path: Path, title: str, unmasked: bool = False) -> None:
        import xlsxwriter   # imported here: only the XLSX format needs it
        self.path, self.title, self.unmasked = path, title, unmasked
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
        b = self.book
        self.f_head = b.add_format({"bold": True, "bg_color": "#DDE5F0", "text_wrap": True, "valign": "top"})
        self.f_pct = b.add_format({"num_format": "0.0%"})
        self.f_score = b.add_format({"num_format": "0.0"})
        self.f_sec = b.add_format({"num_format": "0.0"})
        self.f_low = b.add_format({"bg_color": "#F8CBAD", "font_color": "#9C0006", "bold": True})
        # Sheets appear in creation order; the summaries are filled at the end (constant_memory
        # writes each sheet's rows in order, and every sheet has its own temporary file).
        self.about = b.add_worksheet("About")
        self.depts = b.add_worksheet("Departments")
        self.people = b.add_worksheet("People")
        self.training = b.add_worksheet("R9 training")
        self.violations = b.add_worksheet("Violations")
        self.calls = b.add_worksheet("Calls")
        self._header(self.violations, VIOLATION_HEADERS, [14, 9, 10, 11, 9, 18, 6, 16, 80])
        self._header(self.calls, CALL_HEADERS, [18, 11, 9, 9, 15, 15, 10, 14, 9, 10, 6, 9, 9]
                     + [8, 12] * 7 + [10])
        # Their rows go to XML files, spliced into the closed workbook's sheets of these names.
        self._vstream = StreamedSheet(self.violations.get_name(), path.parent)
        self._cstream = StreamedSheet(self.calls.get_name(), path.parent)

    def _header(self, ws: Any, headers: list[str], widths: list[int]) -> None:
        for i, h in enumerate(headers):
            ws.write_string(0, i, h, self.f_head)
            ws.set_column(i, i, widths[i] if i < len(widths) else 10)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, 0, len(headers) - 1)

    def rows(self, rows: list[list[Any]], violations: list[list[Any]]) -> None:
        """Prepared call-level rows and their violation rows (``fast.FastMonth``'s, per chunk)."""
        write = self._cstream.write
        for row in rows:
            write(row)
        for vrow in violations:
            self._vstream.write(vrow)

    def _stats_sheet(self, ws: Any, rows: list[list[Any]], lead: int, lead_widths: list[int]) -> None:
        from xlsxwriter.utility import xl_rowcol_to_cell
        headers = (["department"] if lead == 1 else ["department", "extension", "person"]) + \
            [c.header for c in STAT_COLUMNS]
        self._header(ws, headers, lead_widths + [9] * len(STAT_COLUMNS))
        ws.set_row(0, 45)
        formats = {"pct": self.f_pct, "score": self.f_score, "sec": self.f_sec}
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                kind = STAT_COLUMNS[c - lead].kind if c >= lead else "text"
                if value is None:
                    ws.write_blank(r, c, None)
                else:
                    ws.write(r, c, value, formats.get(kind))
        score_col = lead + len(STAT_COLUMNS) - 1
        if rows:
            # Highlight scores under the goal; a blank (no judged verdict) is not "under 90".
            first = xl_rowcol_to_cell(1, score_col, row_abs=False, col_abs=True)
            ws.conditional_format(1, score_col, len(rows), score_col,
                                  {"type": "formula", "criteria": f"=AND(ISNUMBER({first}),{first}<{SCORE_GOAL:g})",
                                   "format": self.f_low})

    def finish(self, report: MonthReport) -> list[Path]:
        """Write the summary sheets and close the workbook."""
        depts, people = summary_rows(report)
        ws = self.about
        ws.set_column(0, 0, 22)
        ws.set_column(1, 1, 110)
        ws.write_string(0, 0, self.title, self.f_head)
        ws.write_string(1, 0, "month")
        ws.write_string(1, 1, f"{report.month.label} ({report.month.tz.key})")
        ws.write_string(2, 0, "caller numbers")
        ws.write_string(2, 1, "UNMASKED (logged)" if self.unmasked else "masked")
        for i, (name, text) in enumerate(FORMULAS, start=4):
            ws.write_string(i, 0, name)
            ws.write_string(i, 1, text)
        self._stats_sheet(self.depts, depts, 1, [18])
        self._stats_sheet(self.people, people, 3, [18, 9, 10])
        self._header(self.training, TRAINING_HEADERS, [14, 9, 10, 10, 11, 9, 18, 6, 16, 80])
        for r, row in enumerate(training_rows(report), start=1):
            self.training.write_row(r, 0, row)
        self._vstream.close()
        self._cstream.close()
        self.book.close()
        splice(self.path, [self._vstream, self._cstream])
        return [self.path]


def open_sinks(formats: set[str], out_dir: Path, prefix: str, title: str, unmasked: bool) -> list[Any]:
    """The tabular sinks for the requested formats."""
    sinks: list[Any] = []
    if "csv" in formats:
        sinks.append(CsvSink(out_dir, prefix))
    if "xlsx" in formats:
        sinks.append(XlsxSink(out_dir / f"{prefix}.xlsx", title, unmasked))
    return sinks

"""Shared helpers of the report tests: run telmon for real, read back every format, a PostgreSQL schema.

(Kept in a test_report* module so the report's tests stay in their own files; the
tests at the bottom check the readers themselves.)
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO, TRACES
from stores import pg_schema, pg_schema_url

MONTH = "2026-11"
PREFIX = f"telmon-report-{MONTH}"
DEPARTMENTS = ["경영기획팀", "교류협력팀", "개발협력팀", "세계시민협력팀", "유라시아 협력센터"]


def telmon(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m monitor ARGS`` as a user runs it (no TELMON_* settings leak in from the test run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")} | (env or {})
    proc = subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=REPO)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def replay_captures(url: str) -> None:
    """Store every bundled capture's calls in the database at ``url``."""
    telmon("replay", "--database-url", url, *sorted(str(p) for p in TRACES.glob("*.ami")))


def read_csv(path: Path) -> list[dict[str, str]]:
    """A report CSV (UTF-8 with BOM) as dicts; the BOM is required, not skipped silently."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 byte-order mark"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def read_sheet(path: Path, sheet: str) -> list[dict[str, object]]:
    """One sheet of the report workbook, read back with openpyxl, as dicts by header."""
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, r)) for r in rows[1:]]


class _Tables(HTMLParser):
    """Collects every ``<table id=...>``'s body rows as {data-col: text}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self._table = self._col = None
        self._row: dict[str, str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = {}
        elif tag in ("td", "th") and self._row is not None:
            self._col = a.get("data-col")
            if self._col:
                self._row[self._col] = ""
                if "below-goal" in (a.get("class") or ""):
                    self._row["_below_goal"] = self._col

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._col = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._col:
            self._row[self._col] += data.strip()


def html_tables(path: Path) -> dict[str, list[dict[str, str]]]:
    """Every identified table of the HTML report."""
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables


def html_number(text: str) -> float | None:
    """A printed figure back as a number: '93.3%' -> 0.933, '1,234' -> 1234, '–' -> None."""
    if text == "–":
        return None
    if text.endswith("%"):
        return float(text[:-1]) / 100.0
    return float(text.replace(",", ""))


def csv_number(text: str) -> float | None:
    """A CSV figure as a number ('' = no data)."""
    return None if text == "" else float(text)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database URL on the real PostgreSQL whose tables live in a schema of their own, dropped afterwards."""
    with pg_schema("telmon_report") as schema:
        yield pg_schema_url(schema)


def test_html_number_reads_what_the_report_prints():
    from monitor.report.html import fmt
    assert html_number(fmt("pct", 0.9333)) == pytest.approx(0.933)
    assert html_number(fmt("int", 12345)) == 12345
    assert html_number(fmt("score", 88.64)) == pytest.approx(88.6)
    assert html_number(fmt("pct", None)) is None


def test_table_reader_finds_cells_and_highlight():
    p = _Tables()
    p.feed('<table id="t"><thead><tr><th data-col="a">A</th></tr></thead><tbody>'
           '<tr><th data-col="a">x</th><td data-col="b" class="below-goal">1,2</td></tr></tbody></table>')
    assert p.tables == {"t": [{"a": "x", "b": "1,2", "_below_goal": "b"}]}

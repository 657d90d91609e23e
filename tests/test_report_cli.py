"""``telmon report`` as a user meets it: masking, the logged --unmasked, an empty month, clear errors."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from monitor.masking import process_owner
from monitor.storage.store import Store
from test_report_support import DEPARTMENTS, MONTH, PREFIX, html_tables, read_csv, read_sheet, replay_captures, telmon

pytestmark = pytest.mark.slow   # every test runs telmon report as a real process


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 't.db'}"
    replay_captures(url)
    return url


def _callers(url):
    store = Store.open(url)
    try:
        return {c.record.caller for c in store.load_calls() if c.record.caller and len(c.record.caller) >= 9}
    finally:
        store.close()


def test_caller_numbers_are_masked_by_default(db, tmp_path):
    telmon("report", "--database-url", db, "--month", MONTH, "--format", "csv,xlsx,html", "--out", str(tmp_path))
    full = _callers(db)
    assert full   # the captures have outside callers (010..., 021...)
    calls = read_csv(tmp_path / f"{PREFIX}-calls.csv")
    outside = [r["caller"] for r in calls if r["direction"] == "inbound"]
    assert outside and all(re.fullmatch(r"\d{2,3}-\*{4}-\d{4}", c) for c in outside), outside
    texts = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.glob("*.csv")] + \
        [(tmp_path / f"{PREFIX}.html").read_text(encoding="utf-8")] + \
        [str(read_sheet(tmp_path / f"{PREFIX}.xlsx", s)) for s in ("Calls", "Violations", "People")]
    for number in full:
        assert not any(number in t for t in texts), number
    assert not (tmp_path / "unmasked-exports.log").exists()


def test_unmasked_export_shows_numbers_and_is_logged(db, tmp_path):
    refused = telmon("report", "--database-url", db, "--month", MONTH, "--format", "csv", "--out", str(tmp_path),
                     "--unmasked", check=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    audit = tmp_path / "state" / "unmasked-exports.log"
    proc = telmon("report", "--database-url", db, "--month", MONTH, "--format", "csv,xlsx", "--out", str(tmp_path),
                  "--unmasked", "--reason", "court order 12", env={"TELMON_AUDIT_LOG": str(audit),
                                                                   "LOGNAME": "not-me", "USER": "not-me"})
    assert "UNMASKED" in proc.stderr
    calls = read_csv(tmp_path / f"{PREFIX}-calls.csv")
    assert {r["caller"] for r in calls} >= _callers(db)
    assert {r["caller"] for r in read_sheet(tmp_path / f"{PREFIX}.xlsx", "Calls")} >= _callers(db)
    log = audit.read_text(encoding="utf-8")
    assert re.search(rf"^\S+ {process_owner()} report {PREFIX} --unmasked reason: court order 12$", log, re.M), log
    assert audit.stat().st_mode & 0o777 == 0o600 and "not-me" not in log


def test_a_month_without_calls_is_an_empty_report(db, tmp_path):
    proc = telmon("report", "--database-url", db, "--month", "2026-10", "--format", "csv,xlsx,html",
                  "--out", str(tmp_path))
    assert "0 calls" in proc.stderr
    prefix = "telmon-report-2026-10"
    depts = read_csv(tmp_path / f"{prefix}-departments.csv")
    assert [r["department"] for r in depts] == DEPARTMENTS + ["total"]
    assert all(r["calls"] == "0" and r["R10 score"] == "" for r in depts)
    assert read_csv(tmp_path / f"{prefix}-calls.csv") == []
    assert read_sheet(tmp_path / f"{prefix}.xlsx", "Calls") == []
    html = (tmp_path / f"{prefix}.html").read_text(encoding="utf-8")
    assert 'id="no-calls"' in html and 'id="r9-none"' in html
    assert html_tables(tmp_path / f"{prefix}.html")["people"] == []


@pytest.mark.parametrize("args, message", [
    (["--month", "2026-13"], "--month '2026-13': give a month as YYYY-MM"),
    (["--month", "november"], "--month 'november': give a month as YYYY-MM"),
    (["--month", MONTH, "--department", "없는팀"], "--department '없는팀': no such department (known: 경영기획팀"),
    (["--month", MONTH, "--format", "docx"], "--format docx: choose from csv, xlsx, html, pdf"),
])
def test_bad_arguments_exit_2_with_a_clear_message(db, tmp_path, args, message):
    proc = telmon("report", "--database-url", db, "--out", str(tmp_path / "out"), *args, check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_one_department(db, tmp_path):
    telmon("report", "--database-url", db, "--month", MONTH, "--department", "세계시민 협력팀", "--format", "csv",
           "--out", str(tmp_path))
    prefix = f"{PREFIX}-세계시민협력팀"
    depts = read_csv(tmp_path / f"{prefix}-departments.csv")
    assert [r["department"] for r in depts] == ["세계시민협력팀", "total"]
    calls = read_csv(tmp_path / f"{prefix}-calls.csv")
    assert calls and {r["department"] for r in calls} == {"세계시민협력팀"} and depts[1]["calls"] == str(len(calls))


def test_pdf_without_chromium_names_the_package(db, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")}
    env["PATH"] = str(tmp_path)   # a PATH with no browser on it
    proc = subprocess.run([sys.executable, "-m", "monitor", "report", "--database-url", db, "--month", MONTH,
                           "--format", "pdf", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and "install the Debian package chromium" in proc.stderr, proc.stderr

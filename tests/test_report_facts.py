"""The report facts (``call_facts``) follow every write, the 0002 migration builds them for a database of
the previous release, and ``telmon report`` writes the same files as the reference fold, on SQLite and
on the real PostgreSQL.

"The same files": the reference is the test oracle (``report_oracle.fold``) over ``Store.load_calls``
(whole records from the seven tables, no facts) feeding the very same writers; ``telmon report`` (facts,
one range scan) must write byte-identical CSV files, XLSX sheets that read back identical and the
same HTML but for its "made at" minute. The month holds the bundled captures and hand-built calls
with every result, reviews both ways, R8 settled late and never, speech verdicts arriving after the
call was stored, unanswered calls rung at several phones, and the outcomes the tracker may add
(``voicemail``, ``conference``).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from monitor import review
from monitor.config import load_settings
from monitor.core.rules import Verdict
from monitor.directory import load_directory
from monitor.report.aggregate import MonthReport
from monitor.report.html import render
from monitor.report.period import parse_month
from monitor.report.tabular import open_sinks
from monitor.storage.convert import CHILD_TABLES, insert_values
from monitor.storage.facts import FACTS
from monitor.storage.rebuild import build_missing
from monitor.storage.store import MIGRATIONS, Store
from report_oracle import fold
from test_report_fast import SPEECH, T0, _call, hand_built
from test_report_support import MONTH, PREFIX, pg_url, read_sheet, replay_captures, telmon  # noqa: F401

SHEETS = ("About", "Departments", "People", "R9 training", "Violations", "Calls")


def month_calls() -> list[tuple]:
    """The hand-built calls, plus the outcomes issue 11 adds and a speech check that is judged later."""
    calls = hand_built()
    calls += [_call(60, {"R8": Verdict("R8", "pending", None, "window open")}, outcome="voicemail",
                    answered_by=None),
              _call(61, {"R1": Verdict("R1", "n/a", None, "conference room")}, outcome="conference",
                    answered_by=None, offers=[]),
              _call(62, {"R3": Verdict("R3", "pending", None, "speech check queued")})]
    return calls


def later_writes(store: Store) -> None:
    """What happens after the calls are stored: R8 settled days later, speech verdicts arriving late,
    a reviewer deciding two unclear checks."""
    store.set_verdict("fast.60", Verdict("R8", "fail", 172800.0, "called back after 2 days"))
    store.set_verdict("fast.2", Verdict("R8", "fail", None, "never called back"))
    store.set_verdict("fast.62", Verdict("R3", "unclear", SPEECH, "low confidence"))
    store.set_verdict("fast.9", Verdict("R2", "fail", SPEECH, "not stated"))       # a verdict the call lacked
    calls = {c.record.linkedid: c for c in store.load_calls() if c.record.linkedid in ("fast.12", "fast.62")}
    review.decide(store, calls["fast.12"], "R2", True, "김감사", "confirmed", now=T0 + 86400)
    review.decide(store, calls["fast.12"], "R3", False, "김감사", "stated after all", now=T0 + 86400)
    review.decide(store, calls["fast.62"], "R3", True, "박검토", "", now=T0 + 3 * 86400)


def facts_table(url: str) -> list[tuple]:
    """Every facts row (but the call id), by linkedid."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            cols = [c for c in FACTS.c if c.name != "call_id"]
            return [tuple(r) for r in conn.execute(sa.select(*cols).order_by(FACTS.c.linkedid))]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 't.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.mark.slow
def test_facts_follow_every_write_and_equal_facts_rebuilt_from_the_stored_calls(url):
    replay_captures(url)
    store = Store.open(url)
    try:
        store.save_calls(month_calls())
        later_writes(store)
        store.save_calls(month_calls()[:5])      # a replay of the same calls: replaced whole, stored once
        store.set_verdict("fast.3", Verdict("R8", "pass", 600.0, "called back"))   # settled: never reset
        store.set_verdict("fast.4", Verdict("R2", "pass", SPEECH, "stated"))       # after the replay
        kept = facts_table(url)
        with store.engine.begin() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(FACTS)) == store.count_calls()
            conn.execute(sa.delete(FACTS))
            assert build_missing(conn) == store.count_calls()
        assert facts_table(url) == kept
    finally:
        store.close()
    by_id = {row[1]: row for row in kept}
    names = [c.name for c in FACTS.c if c.name != "call_id"]
    col = {n: i for i, n in enumerate(names)}
    assert by_id["fast.60"][col["r8"]] == "fail" and "172800.0" in by_id["fast.60"][col["r8_value"]]
    assert by_id["fast.62"][col["r3"]] == "fail" and by_id["fast.3"][col["r8"]] == "fail"
    # The replay brought fast.2's R8 back as pending: the settled verdict stays, and so do its facts.
    assert by_id["fast.2"][col["r8"]] == "fail" and by_id["fast.4"][col["r2"]] == "pass"
    assert by_id["fast.9"][col["r2"]] == "fail" and by_id["fast.9"][col["fails"]] == 1
    assert by_id["fast.1"][col["caller"]] == "010-****-5432"


def _old_release(url: str) -> None:
    """A database as the previous release left it: schema 0001, calls written row by row, reviews applied
    by replacing verdict rows (no facts anywhere)."""
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        for record, verdicts, department in month_calls():
            call, children = insert_values(record, verdicts, department)
            for later in ("source", "flags"):      # 0004_hardening's columns: not in that release
                del call[later]
            calls = sa.table("calls", sa.column("id"), *(sa.column(k) for k in call))
            cid = conn.execute(sa.insert(calls).values(call).returning(calls.c.id)).scalar_one()
            for child, rows in zip(CHILD_TABLES, children):
                if rows:
                    conn.execute(sa.insert(child.__table__), [dict(r, call_id=cid) for r in rows])
    engine.dispose()


@pytest.mark.slow
def test_migration_builds_the_facts_of_a_previous_release_database(url, tmp_path):
    _old_release(url)
    store = Store.open(url)            # migrates 0001 -> head, building the facts
    try:
        with store.engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            head = ScriptDirectory.from_config(cfg).get_current_head()
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
        migrated = facts_table(url)
    finally:
        store.close()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    store = Store.open(fresh)
    try:
        store.save_calls(month_calls())
    finally:
        store.close()
    assert migrated == facts_table(fresh) and len(migrated) == len(month_calls())


def _reference_files(url: str, out: Path) -> None:
    """The report's files as the reference fold writes them (no facts read)."""
    settings = load_settings(None, {}, {})
    month = parse_month(MONTH)
    report = MonthReport(month, load_directory(settings.directory_path), settings.cadence_obj,
                         settings.thresholds_obj)
    title = f"telmon monthly report {MONTH}"
    out.mkdir()
    sinks = open_sinks({"csv", "xlsx"}, out, PREFIX, title, False)
    store = Store.open(url)
    try:
        fold(report, store.load_calls(*month.bounds), sinks)
    finally:
        store.close()
    for sink in sinks:
        sink.finish(report)
    (out / f"{PREFIX}.html").write_text(render(report, title), encoding="utf-8")


def _unmade(html: str) -> str:
    return re.sub(r"작성 \d{4}-\d\d-\d\d \d\d:\d\d", "작성 -", html)


@pytest.mark.slow
def test_report_files_are_identical_to_the_reference_fold(url, tmp_path):
    replay_captures(url)
    store = Store.open(url)
    try:
        store.save_calls(month_calls())
        later_writes(store)
    finally:
        store.close()
    _reference_files(url, tmp_path / "ref")
    telmon("report", "--database-url", url, "--month", MONTH, "--format", "csv,xlsx,html", "--out",
           str(tmp_path / "new"))
    ref, new = tmp_path / "ref", tmp_path / "new"
    csvs = sorted(p.name for p in ref.glob("*.csv"))
    assert len(csvs) == 5 and csvs == sorted(p.name for p in new.glob("*.csv"))
    for name in csvs:
        assert (new / name).read_bytes() == (ref / name).read_bytes(), name
    for sheet in SHEETS:
        assert read_sheet(new / f"{PREFIX}.xlsx", sheet) == read_sheet(ref / f"{PREFIX}.xlsx", sheet), sheet
    assert _unmade((new / f"{PREFIX}.html").read_text(encoding="utf-8")) == \
        _unmade((ref / f"{PREFIX}.html").read_text(encoding="utf-8"))
    calls = (new / f"{PREFIX}-calls.csv").read_text(encoding="utf-8-sig")
    assert ",voicemail," in calls and ",conference," in calls and "박검토" in \
        (new / f"{PREFIX}-violations.csv").read_text(encoding="utf-8-sig")


@pytest.mark.slow
def test_a_call_stored_without_facts_gets_them_before_the_report(tmp_path):
    """A call written by an older telmon after the upgrade (no facts row) is not left out of the report."""
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = Store.open(url)
    try:
        store.save_calls(month_calls())
        with store.engine.begin() as conn:
            conn.execute(sa.delete(FACTS).where(FACTS.c.linkedid.in_(["fast.1", "fast.17"])))
    finally:
        store.close()
    _reference_files(url, tmp_path / "ref")
    proc = telmon("report", "--database-url", url, "--month", MONTH, "--format", "csv", "--out",
                  str(tmp_path / "new"))
    assert "built the report facts of 2 calls" in proc.stderr
    for name in ("calls", "violations", "people", "departments", "training"):
        f = f"{PREFIX}-{name}.csv"
        assert (tmp_path / "new" / f).read_bytes() == (tmp_path / "ref" / f).read_bytes(), f


@pytest.mark.slow
def test_conference_calls_are_not_offered_and_voicemail_is_a_missed_call(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = Store.open(url)
    try:
        store.save_calls(month_calls())
    finally:
        store.close()
    telmon("report", "--database-url", url, "--month", MONTH, "--format", "csv", "--out", str(tmp_path / "new"))
    with open(tmp_path / "new" / f"{PREFIX}-departments.csv", encoding="utf-8-sig") as fh:
        total = [r for r in csv.DictReader(fh) if r["department"] == "total"][0]
    calls = month_calls()
    offered = [c for c in calls if c[0].direction != "outbound" and c[0].outcome not in ("incomplete", "conference")]
    assert int(total["calls"]) == len(calls) and int(total["offered"]) == len(offered)
    missed = [c for c in offered if c[0].outcome in ("no_answer", "rejected", "failed", "voicemail")]
    assert int(total["no answer"]) == len(missed) > 0


def test_the_head_read_from_the_scripts_is_alembics_and_an_older_database_is_upgraded(tmp_path):
    """``schema.at_head`` skips Alembic only for a database at the newest revision."""
    from alembic.script import ScriptDirectory

    from monitor.storage import schema
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert schema.head_revision() == ScriptDirectory.from_config(cfg).get_current_head()
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_release(url)
    engine = sa.create_engine(url)
    assert not schema.at_head(engine)
    engine.dispose()
    Store.open(url).close()
    engine = sa.create_engine(url)
    assert schema.at_head(engine)
    engine.dispose()
    fresh = sa.create_engine(f"sqlite:///{tmp_path / 'none.db'}")
    assert not schema.at_head(fresh)
    fresh.dispose()


@pytest.mark.parametrize("zone,month", [("Asia/Seoul", "2026-11"), ("America/New_York", "2026-03"),
                                        ("Europe/Berlin", "2026-10"), ("Australia/Lord_Howe", "2026-04")])
def test_clock_gives_datetimes_dates_and_times_across_daylight_saving_changes(zone, month):
    """The reader's per-hour offset cache gives what datetime.fromtimestamp gives, DST changes included
    (Lord Howe moves by 30 minutes), and for times a hair before the next second (datetime rounds to µs)."""
    import datetime as dt
    import random

    from monitor.report.fastread import Clock
    m = parse_month(month, zone)
    clock = Clock(m)
    since, until = m.bounds
    rng = random.Random(17)
    times = [since + rng.random() * (until - since) for _ in range(20000)]
    times += [float(int(t)) + frac for t in times[:200] for frac in (0.9999994, 0.9999995, 0.9999996, 0.0)]
    times += [since, until - 1e-6] + [since + h * 3600 + d for h in range(0, int((until - since) // 3600))
                                      for d in (-0.5, 0.0, 0.5)]
    for ts in times:
        when = dt.datetime.fromtimestamp(ts, m.tz)
        day, date, clock_text = clock.split(ts)
        assert (date, clock_text) == (when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")), ts
        assert clock.date_of(day) == when.date()

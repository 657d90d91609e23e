"""The report's fast path (``fast.FastMonth`` over ``fastread``'s flat SQL rows) gives exactly the reference figures.

The reference is the test oracle (``report_oracle.fold``) over full records (``Store.load_calls``):
both are run on the same database and every tally (total, per department in order, per
person, per day), the kept R9 violations, and every call-level and violation row must be
equal. The database holds the bundled captures plus hand-built calls covering every rule
result (pass, fail, n/a, pending, unclear; speech checks reviewed both ways; R8 late and
never; lost and bounced transfers; unanswered calls rung at several phones; a trunk answer;
no department; outbound; incomplete), on SQLite and on the real PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from monitor import review
from monitor.config import load_settings
from monitor.core.record import CallRecord, Offer, Transfer, WaitStretch
from monitor.core.rules import Verdict
from monitor.directory import load_directory
from monitor.report.aggregate import MonthReport
from monitor.report.fast import FastMonth
from monitor.report.period import parse_month
from monitor.storage.store import Store
from report_oracle import fold
from test_report_support import MONTH, pg_url, replay_captures  # noqa: F401

KST = dt.timezone(dt.timedelta(hours=9))
T0 = dt.datetime(2026, 11, 3, 8, 0, tzinfo=KST).timestamp()
SPEECH = {"confidence": 0.41, "engine": "vosk", "words": [["네", 0.62, 0.2, 0.4], ["교류협력팀", 0.5, 0.5, 1.1]]}


def _offer(ext: str, start: float, ring: float, answered: bool, trunk: bool = False, leg: str = "direct") -> Offer:
    return Offer(ext, f"PJSIP/{ext}-{int(start)}", f"{start:.3f}", leg, start, start + 0.1, start + 0.1 + ring,
                 start + 0.1 + ring if answered else None, "ANSWER" if answered else "NOANSWER", 16, trunk)


def _call(n: int, verdicts: dict[str, Verdict], *, direction: str = "inbound", outcome: str = "answered",
          offers: list[Offer] | None = None, answered_by: str | None = "6831", transfers: int = 0,
          lost: int = 0, department: str | None = "교류협력팀", waits: tuple[float, ...] = (4.0,)) -> tuple:
    start = T0 + n * 5400.5
    offers = offers if offers is not None else [_offer(answered_by or "6832", start, 4.0, bool(answered_by))]
    moves = [Transfer("blind", "6831", "6835", start + 30, None if i < lost else offers[0]) for i in range(transfers)]
    rec = CallRecord(f"fast.{n}", direction, "01098765432" if direction != "outbound" else "6831",
                     "6831" if direction != "outbound" else "0212345678", outcome, start, start + 300,
                     answered_by=answered_by, answered_at=start + 5 if answered_by else None, offers=offers,
                     transfers=moves, waits=[WaitStretch("ringing", start, start + w) for w in waits],
                     hangup_cause=16, uniqueids=[f"fast.{n}"])
    base = {"R1": Verdict("R1", "pass", 1, "answered at ring 1"), "R4": Verdict("R4", "pass", 4.0, "wait"),
            "R5": Verdict("R5", "n/a", 0, "no transfer"), "R8": Verdict("R8", "n/a", None, "")}
    return rec, base | verdicts, department


def hand_built() -> list[tuple]:
    """Calls covering every rule result and every way a call is charged."""
    s = T0 + 20 * 5400.5
    calls = [_call(0, {}), _call(1, {"R1": Verdict("R1", "fail", 4, "answered at ring 4")}),
             _call(2, {"R1": Verdict("R1", "fail", 7, "rang unanswered at ring 7"),
                       "R8": Verdict("R8", "pending", None, "window open")}, outcome="abandoned", answered_by=None),
             _call(3, {"R8": Verdict("R8", "fail", None, "never called back")}, outcome="abandoned", answered_by=None),
             _call(4, {"R8": Verdict("R8", "fail", 90000.0, "called back late")}, outcome="busy", answered_by=None,
                   offers=[]),
             _call(5, {"R8": Verdict("R8", "pass", 600.0, "called back")}, outcome="rejected", answered_by=None),
             _call(6, {"R4": Verdict("R4", "fail", 200.5, "longest wait 200.5 s")}, waits=(200.5, 3.0)),
             _call(7, {"R4": Verdict("R4", "fail", None, "no value")}, waits=()),
             _call(8, {"R5": Verdict("R5", "fail", 2, "lost")}, transfers=2, lost=1),
             _call(9, {"R5": Verdict("R5", "pass", 3, "all answered")}, transfers=3),
             _call(10, {"R1": Verdict("R1", "pass", 1.0, "float rings")}),
             _call(11, {"R2": Verdict("R2", "pass", SPEECH, "stated"), "R3": Verdict("R3", "fail", SPEECH, "no")}),
             _call(12, {"R2": Verdict("R2", "unclear", SPEECH, "low"), "R3": Verdict("R3", "unclear", SPEECH, "low")}),
             _call(13, {"R7": Verdict("R7", "unclear", SPEECH, "low")}, direction="outbound", answered_by=None,
                   offers=[_offer("trunk", s, 3.0, True, trunk=True)]),
             _call(14, {"R1": Verdict("R1", "n/a", None, "trunk")}, offers=[_offer("trunk", s, 2.0, True, trunk=True)],
                   answered_by="trunk"),
             _call(15, {}, department=None, answered_by="6899"),
             _call(16, {}, outcome="incomplete", answered_by=None),
             _call(17, {"R1": Verdict("R1", "fail", 6, "rang unanswered at ring 6")}, outcome="abandoned",
                   answered_by=None, offers=[_offer("6832", s, 10.0, False), _offer("6833", s, 16.0, False),
                                             _offer("6835", s, 4.0, False), _offer("6899", s, 20.0, False),
                                             _offer("6833", s, 12.0, False)]),
             _call(18, {"R1": Verdict("R1", "pass", 2, "internal")}, direction="internal", answered_by="6835",
                   offers=[_offer("6835", s, 3.5, True, leg="queue")]),
             _call(19, {"R9": Verdict("R9", "fail", 1, "not a per-call rule")})]
    calls += [_call(20 + i, {"R1": Verdict("R1", "fail", 5, "answered at ring 5")}) for i in range(25)]
    return calls


def _reference(store: Store, report: MonthReport, since: float, until: float) -> tuple[list, list]:
    return fold(report, store.load_calls(since, until))


def _fast(store: Store, report: MonthReport, since: float, until: float) -> tuple[list, list]:
    rows: list[Any] = []
    vrows: list[Any] = []
    fast = FastMonth(report, sheets=True)
    fast.run(store, since, until, sink=lambda chunk, violations: (rows.extend(chunk), vrows.extend(violations)))
    fast.finish()
    return rows, vrows


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A database with the captures and the hand-built calls, two speech checks reviewed."""
    url = f"sqlite:///{tmp_path / 't.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    replay_captures(url)
    store = Store.open(url)
    store.save_calls(hand_built())
    unclear = {c.record.linkedid: c for c in store.load_calls() if c.record.linkedid == "fast.12"}["fast.12"]
    review.decide(store, unclear, "R2", True, "김감사", "confirmed", now=T0 + 86400)
    review.decide(store, unclear, "R3", False, "김감사", "stated after all", now=T0 + 86400)
    store.close()
    return url


@pytest.mark.slow
def test_fast_path_gives_the_reference_figures(url):
    settings = load_settings(None, {}, {})
    directory = load_directory(settings.directory_path)
    month = parse_month(MONTH)
    since, until = month.bounds
    store = Store.open(url)
    try:
        ref = MonthReport(month, directory, settings.cadence_obj, settings.thresholds_obj)
        new = MonthReport(month, directory, settings.cadence_obj, settings.thresholds_obj)
        assert _fast(store, new, since, until) == _reference(store, ref, since, until)
    finally:
        store.close()
    assert ref.total.calls == 24 + 45
    assert new.total == ref.total and new.daily == ref.daily
    assert list(new.departments.items()) == list(ref.departments.items())
    assert new.people == ref.people and new.kept == ref.kept
    assert new.trainees() == ref.trainees() and new.sorted_people() == ref.sorted_people()
    # The hand-built calls reach every corner the fast path special-cases.
    t = ref.total
    assert t.r8_late and t.r8_never and t.rules["R8"].pending and t.rules["R2"].reviewed == 1
    assert t.rules["R3"].reviewed == 1 and t.rules["R7"].unclear == 1 and t.transfers_lost and t.bounced
    # Call 17 rang several phones past ring 2: each is charged its R1 failure, the department once.
    assert sum(s.rules["R1"].failed for s in ref.people.values()) > t.rules["R1"].failed


def test_xlsx_rows_past_excels_limit_are_counted_and_noted_not_written(tmp_path, monkeypatch, caplog):
    """A row number past 1,048,576 would make Excel reject the whole file: the sheet ends with a note."""
    import re as _re
    from monitor.report import xlsxstream
    monkeypatch.setattr(xlsxstream, "EXCEL_ROWS", 5)
    sheet = xlsxstream.StreamedSheet("Calls", tmp_path)
    for i in range(10):
        sheet.write([f"call {i}", i])
    with caplog.at_level("WARNING", logger="telmon"):
        sheet.close()
    xml = sheet.path.read_text(encoding="utf-8")
    rows = [int(r) for r in _re.findall(r'<row r="(\d+)"', xml)]
    assert rows == [2, 3, 4, 5] and "call 2" in xml and "call 3" not in xml
    assert "only in the CSV file" in xml and sheet.dropped == 7
    assert "7 rows past Excel's 5-row limit" in caplog.text


def test_streamed_rows_go_to_the_sheet_of_that_name(tmp_path):
    """The spliced sheets are found by name through the workbook's own index (workbook.xml and its
    relationships), not by XlsxWriter's part names; an unknown name fails loudly."""
    import zipfile

    import openpyxl
    import xlsxwriter
    from monitor.report import xlsxstream
    path = tmp_path / "b.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    for name, mark in (("Zeta", 111), ("Alpha", 222), ("Calls", 333)):
        sheet = book.add_worksheet(name)
        sheet.write_number(0, 0, mark)
        sheet.write_string(0, 1, "header")
    book.close()
    with zipfile.ZipFile(path) as z:
        members = xlsxstream.sheet_members(z)
        assert set(members) == {"Zeta", "Alpha", "Calls"}
        for name, mark in (("Zeta", 111), ("Alpha", 222), ("Calls", 333)):
            assert f"<v>{mark}</v>" in z.read(members[name]).decode()
    calls = xlsxstream.StreamedSheet("Calls", tmp_path)
    calls.write(["call 1", 5])
    calls.close()
    xlsxstream.splice(path, [calls])
    rows = list(openpyxl.load_workbook(path, read_only=True)["Calls"].values)
    assert rows == [(333, "header"), ("call 1", 5)]
    ghost = xlsxstream.StreamedSheet("Ghost", tmp_path)
    ghost.close()
    with pytest.raises(ValueError, match="no worksheet named Ghost"):
        xlsxstream.splice(path, [ghost])


def test_facts_row_names_the_facts_columns_in_rule_order():
    """The reader's row type is the facts table's columns, its verdict slice every report rule in order."""
    from monitor.core.charter import CALL_RULES
    from monitor.report.fastread import COLUMNS, VERDICTS_FROM, VERDICTS_TO
    from monitor.storage.facts import FACTS
    assert set(COLUMNS) <= {c.name for c in FACTS.c}
    assert COLUMNS[VERDICTS_FROM:VERDICTS_TO] == tuple(c for r in CALL_RULES for c in (r.lower(), f"{r.lower()}_value"))

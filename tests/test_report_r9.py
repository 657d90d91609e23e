"""R9, the training list: 3 or more confirmed violations, each shown with its date, time, value and evidence.

Stored calls are built by hand (as tests/test_storage.py does) so every verdict is
known; an ``unclear`` greeting check counts only after ``monitor.review`` confirms it.
"""
from __future__ import annotations

import datetime as dt

import pytest

from monitor import review
from monitor.core.record import CallRecord, Offer
from monitor.core.rules import Verdict
from monitor.storage.store import Store
from test_report_support import MONTH, PREFIX, read_csv, read_sheet, telmon

KST = dt.timezone(dt.timedelta(hours=9))
T0 = dt.datetime(2026, 11, 10, 9, 30, tzinfo=KST).timestamp()
EVIDENCE = {"confidence": 0.41, "sample_rate": 8000, "engine": "vosk",
            "words": [["네", 0.62, 0.2, 0.4], ["여보세요", 0.38, 0.5, 1.1]]}


def _call(n: int, ext: str, ring: float, verdicts: dict[str, Verdict]) -> tuple:
    start = T0 + n * 3600
    offer = Offer(ext, f"PJSIP/{ext}-{n:08x}", f"{int(start)}.{n + 1}", "direct", start + 0.1, start + 0.2,
                  start + 0.2 + ring, start + 0.2 + ring, "ANSWER", 16)
    rec = CallRecord(f"{int(start)}.{n}", "inbound", "01098765432", ext, "answered", start, start + 120,
                     answered_by=ext, answered_at=start + 0.2 + ring, remote_number="01098765432", offers=[offer],
                     hangup_cause=16, uniqueids=[f"{int(start)}.{n}"])
    base = {"R1": Verdict("R1", "pass", 1, f"{ext} answered at ring 1"), "R4": Verdict("R4", "pass", 1.0),
            "R5": Verdict("R5", "n/a", 0), "R8": Verdict("R8", "n/a")}
    return rec, base | verdicts, "교류협력팀"


@pytest.mark.slow
def test_training_list_counts_confirmed_violations_only(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = Store.open(url)
    store.save_calls([
        # 6831 정하늘: three plain violations -> on the list.
        _call(0, "6831", 10.0, {"R1": Verdict("R1", "fail", 4, "6831 answered at ring 4")}),
        _call(1, "6831", 1.0, {"R4": Verdict("R4", "fail", 200.5, "longest wait: hold 200.5 s")}),
        _call(2, "6831", 1.0, {"R3": Verdict("R3", "fail", dict(EVIDENCE, confidence=0.93),
                                             "not stated: department missing")}),
        # 6832 이지은: two violations and an unclear greeting check waiting for a reviewer.
        _call(3, "6832", 7.0, {"R1": Verdict("R1", "fail", 3, "6832 answered at ring 3")}),
        _call(4, "6832", 1.0, {"R5": Verdict("R5", "fail", 1, "caller lost after blind transfer 6832 -> 6899")}),
        _call(5, "6832", 1.0, {"R3": Verdict("R3", "unclear", EVIDENCE, "unclear: low confidence")}),
    ])
    out1, out2 = tmp_path / "before", tmp_path / "after"
    telmon("report", "--database-url", url, "--month", MONTH, "--format", "csv,xlsx,html", "--out", str(out1))
    training = read_csv(out1 / f"{PREFIX}-training.csv")
    assert {r["person"] for r in training} == {"정하늘"}
    assert [(r["date"], r["time"], r["rule"], r["value"]) for r in training] == [
        ("2026-11-10", "09:30:00", "R1", "4 rings"), ("2026-11-10", "10:30:00", "R4", "200.5 s"),
        ("2026-11-10", "11:30:00", "R3", "confidence 0.93")]
    assert training[2]["evidence"] == "not stated: department missing; heard: 네 여보세요"
    people = {r["extension"]: r for r in read_csv(out1 / f"{PREFIX}-people.csv")}
    assert people["6832"]["violations"] == "2" and people["6832"]["R3 unclear"] == "1"
    assert people["6832"]["R3 reviewed"] == "0"
    html = (out1 / f"{PREFIX}.html").read_text(encoding="utf-8")
    assert 'data-extension="6831" data-violations="3"' in html and 'data-extension="6832"' not in html

    # A reviewer listens and confirms the unclear check: now 이지은 has three confirmed violations.
    unclear = next(c for c in store.load_calls() if c.verdicts.get("R3", Verdict("R3", "")).result == "unclear")
    review.decide(store, unclear, "R3", True, "김감사", "no department stated", now=T0 + 86400)
    store.close()
    telmon("report", "--database-url", url, "--month", MONTH, "--format", "csv,xlsx,html", "--out", str(out2))
    training = read_csv(out2 / f"{PREFIX}-training.csv")
    assert [r["person"] for r in training] == ["정하늘"] * 3 + ["이지은"] * 3
    r3 = training[-1]
    assert (r3["extension"], r3["time"], r3["rule"], r3["value"]) == ("6832", "14:30:00", "R3", "confidence 0.41")
    assert "reviewed by 김감사" in r3["evidence"] and "heard: 네 여보세요" in r3["evidence"]
    people = {r["extension"]: r for r in read_csv(out2 / f"{PREFIX}-people.csv")}
    assert people["6832"]["violations"] == "3" and people["6832"]["R3 reviewed"] == "1"
    assert people["6832"]["R3 unclear"] == "0" and people["6832"]["R3 not stated"] == "1"
    sheet = read_sheet(out2 / f"{PREFIX}.xlsx", "R9 training")
    assert [(r["person"], r["rule"], r["value"]) for r in sheet] == \
        [(r["person"], r["rule"], r["value"]) for r in training]
    html = (out2 / f"{PREFIX}.html").read_text(encoding="utf-8")
    assert 'data-extension="6832" data-violations="3"' in html and "reviewed by 김감사" in html

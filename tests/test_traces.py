"""Every real capture, replayed through codec and tracker, must agree with its ground truth.

The truth files were written from the SIP phones' own clocks, independently of
the AMI stream; seconds must agree within 0.25 s and ring counts exactly.
"""
from __future__ import annotations

import pytest

from conftest import SCENARIOS, load_truth, replay_bytes, TRACES
from monitor.core.cadence import KOREA
from monitor.core.record import CallRecord, LEG_TRANSFER
from monitor.core.rules import Thresholds, judge_call

TOL = 0.25


def _first(text):
    return None if text is None else str(text).split()[0]


def _match(records: list[CallRecord], truth_call: dict) -> CallRecord:
    found = [r for r in records if r.caller == truth_call["caller"]
             and r.dialed == _first(truth_call["dialed"])]
    assert len(found) == 1, f"{truth_call['id']}: {len(found)} records for {truth_call['caller']}"
    return found[0]


@pytest.mark.parametrize("name", SCENARIOS)
def test_capture_agrees_with_truth(name):
    truth = load_truth(name)
    got = replay_bytes((TRACES / f"{name}.ami").read_bytes())
    assert not got.malformed
    assert got.tracker.counts["unknown_channel"] == 0
    assert got.tracker.counts["incomplete"] == 0, "every call in a capture finishes"
    assert len(got.records) == len(truth["calls"]), "one record per caller, consultations folded in"
    for t in truth["calls"]:
        rec = _match(got.records, t)
        cid = t["id"]
        assert rec.outcome == _expected_outcome(t), cid
        assert rec.answered_by == _first(t["answered_by"]), cid
        if t.get("direction") == "outbound":
            assert rec.direction == "outbound", cid
        elif t["caller_endpoint"] == "pstn":
            assert rec.direction == "inbound", cid
        else:
            assert rec.direction == "internal", cid
        answered = rec.answered_offer
        if t["answered"]:
            assert answered is not None, cid
            assert answered.ring_seconds == pytest.approx(t["ring_seconds"], abs=TOL), cid
            assert KOREA.rings(answered.ring_seconds) == t["rings_kr"], cid
            assert rec.answered_at == pytest.approx(t["answered_at"], abs=TOL), cid
        else:
            assert answered is None, cid
            ringing = [o for o in rec.offers if o.leg != LEG_TRANSFER]
            rings = max((KOREA.rings(o.ring_seconds) for o in ringing), default=0)
            assert rings == t["rings_kr"], cid
            if t["ring_seconds"] is not None:
                longest = max(o.ring_seconds for o in ringing)
                assert longest == pytest.approx(t["ring_seconds"], abs=TOL), cid
        _check_queue(rec, t)
        _check_holds(rec, t)
        _check_transfers(rec, t)
        assert rec.end == pytest.approx(t["t_end"], abs=TOL), cid


def _expected_outcome(t: dict) -> str:
    if t["answered"]:
        return "answered"
    if t.get("abandoned"):
        return "abandoned"
    cause = t["hangup_cause"]
    if "busy" in cause:
        return "busy"
    if "rejected" in cause or "Decline" in cause:
        return "rejected"
    raise AssertionError(f"no expected outcome for {t['id']}: {cause}")


def _check_queue(rec: CallRecord, t: dict) -> None:
    q = t["queue"]
    if q is None:
        assert rec.queue is None, t["id"]
        return
    assert rec.queue == q["name"], t["id"]
    assert rec.queue_joined_at == pytest.approx(q["joined_at"], abs=TOL), t["id"]
    assert rec.queue_wait_seconds == pytest.approx(q["wait_seconds"], abs=TOL), t["id"]


def _check_holds(rec: CallRecord, t: dict) -> None:
    assert len(rec.holds) == len(t["holds"]), t["id"]
    for got, want in zip(rec.holds, t["holds"]):
        assert got.by == want["by"], t["id"]
        assert got.start == pytest.approx(want["start"], abs=TOL), t["id"]
        assert got.seconds == pytest.approx(want["seconds"], abs=TOL), t["id"]


def _check_transfers(rec: CallRecord, t: dict) -> None:
    assert len(rec.transfers) == len(t["transfers"]), t["id"]
    for got, want in zip(rec.transfers, t["transfers"]):
        assert got.kind == want["type"], t["id"]
        assert got.by == want["by"], t["id"]
        assert got.to == want["to"], t["id"]
        assert got.answered == (want.get("answered_by") is not None), t["id"]
        assert got.target is not None, t["id"]
        assert got.target.ring_seconds == pytest.approx(want["target_ring_seconds"], abs=TOL), t["id"]
        assert KOREA.rings(got.target.ring_seconds) == want["target_rings_kr"], t["id"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_capture_verdicts_follow_truth(name):
    """R1 and R4 derived from the truth's own figures match the verdicts on the records."""
    truth = load_truth(name)
    got = replay_bytes((TRACES / f"{name}.ami").read_bytes())
    for t in truth["calls"]:
        rec = _match(got.records, t)
        v = judge_call(rec, KOREA, Thresholds())
        if rec.direction == "outbound":
            assert v["R1"].result == "n/a", t["id"]
        elif t["answered"]:
            assert v["R1"].result == ("pass" if t["rings_kr"] <= 2 else "fail"), t["id"]
            assert v["R1"].value == t["rings_kr"], t["id"]
        elif t["rings_kr"] >= 3:
            assert v["R1"].result == "fail", t["id"]
        q = t["queue"]
        if q is not None:
            assert v["R4"].result == ("fail" if q["wait_seconds"] > 180 else "pass"), t["id"]
        if t["transfers"]:
            assert v["R5"].result == "pass", t["id"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_capture_split_anywhere_gives_same_records(name):
    """A socket delivers bytes in arbitrary pieces; the records must not depend on that."""
    data = (TRACES / f"{name}.ami").read_bytes()
    whole = replay_bytes(data)
    pieces = replay_bytes(data, chunk=97)
    assert [r.__dict__ for r in pieces.records] == [r.__dict__ for r in whole.records]

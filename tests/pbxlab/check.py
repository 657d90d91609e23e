"""Compare what the tracker made of a lab capture with the phones' truth.

Used by the committed captures (``test_pbx_captures.py``) and by the live runs on
the real PBX (``test_pbx_live.py``): one definition of "agrees".
"""
from __future__ import annotations

from typing import Any

from monitor.core.cadence import KOREA
from monitor.core.record import CallRecord
from monitor.core.rules import Thresholds, judge_call, missed_inbound

TOL = 0.25


def near(got: float | None, want: float | None, what: str) -> None:
    """Seconds agree within the tolerance (both None also agrees)."""
    if want is None:
        return
    assert got is not None, f"{what}: missing, want {want:.3f}"
    assert abs(got - want) <= TOL, f"{what}: {got:.3f} vs truth {want:.3f}"


def find(records: list[CallRecord], t: dict[str, Any]) -> CallRecord:
    """The one record of a truth call (by caller and dialled number)."""
    found = [r for r in records if r.caller == t["caller"] and r.dialed == t["dialed"]]
    assert len(found) == 1, (f"{t['id']}: {len(found)} records for {t['caller']} -> {t['dialed']}; have "
                             + ", ".join(f"{r.caller}->{r.dialed}" for r in records))
    return found[0]


def check_call(rec: CallRecord, t: dict[str, Any]) -> None:
    """Every figure of one truth call against its record."""
    cid = f"{t['id']} ({t['caller']} -> {t['dialed']})"
    assert rec.outcome == t["outcome"], f"{cid}: outcome {rec.outcome}, truth {t['outcome']}"
    assert rec.direction == t["direction"], f"{cid}: direction {rec.direction}"
    assert rec.answered_by == t["answered_by"], f"{cid}: answered_by {rec.answered_by}, truth {t['answered_by']}"
    near(rec.answered_at, t["answered_at"], f"{cid} answered_at")
    near(rec.start, t["start"], f"{cid} start")
    near(rec.end, t["end"], f"{cid} end")
    _offers(rec, t, cid)
    if t["queue"] is None:
        assert rec.queue is None, f"{cid}: queue {rec.queue}"
    else:
        assert rec.queue == t["queue"]["name"], cid
        near(rec.queue_joined_at, t["queue"]["joined_at"], f"{cid} queue joined")
        near(rec.queue_wait_seconds, t["queue"]["wait_seconds"], f"{cid} queue wait")
    assert [(h.by) for h in rec.holds] == [h["by"] for h in t["holds"]], f"{cid}: holds {rec.holds}"
    for got, want in zip(rec.holds, t["holds"]):
        near(got.start, want["start"], f"{cid} hold start")
        near(got.seconds, want["seconds"], f"{cid} hold seconds")
    _transfers(rec, t, cid)
    kinds = [(w.kind, round(w.seconds, 2)) for w in rec.waits]
    assert [w.kind for w in rec.waits] == [w["kind"] for w in t["waits"]], f"{cid}: waits {kinds}"
    for stretch, want in zip(rec.waits, t["waits"]):
        near(stretch.start, want["start"], f"{cid} {want['kind']} wait start")
        near(stretch.seconds, want["seconds"], f"{cid} {want['kind']} wait seconds")
    verdicts = judge_call(rec, KOREA, Thresholds())
    results = {rule: v.result for rule, v in verdicts.items()}
    results["R8"] = "pending" if missed_inbound(rec) else "n/a"
    assert results == t["verdicts"], f"{cid}: verdicts {results}, truth {t['verdicts']}"


def _offers(rec: CallRecord, t: dict[str, Any], cid: str) -> None:
    got = [(o.extension, o.answered) for o in rec.offers]
    want = [(o["extension"], o["answered"]) for o in t["offers"]]
    assert sorted(got) == sorted(want), f"{cid}: offers {got}, truth {want}"
    for o in t["offers"]:
        same = [r for r in rec.offers if r.extension == o["extension"] and r.answered == o["answered"]]
        mine = [w for w in t["offers"] if w["extension"] == o["extension"] and w["answered"] == o["answered"]]
        r = same[mine.index(o)]
        near(r.ring_seconds, o["ring_seconds"], f"{cid} {o['extension']} ring seconds")
        assert KOREA.rings(r.ring_seconds) == KOREA.rings(o["ring_seconds"]), f"{cid} {o['extension']} rings"


def _transfers(rec: CallRecord, t: dict[str, Any], cid: str) -> None:
    got = [(x.kind, x.by, x.to) for x in rec.transfers]
    want = [(x["kind"], x["by"], x["to"]) for x in t["transfers"]]
    assert got == want, f"{cid}: transfers {got}, truth {want}"
    for x, w in zip(rec.transfers, t["transfers"]):
        answered_by = x.target.extension if x.answered and x.target else None
        assert answered_by == w["answered_by"], f"{cid}: transfer answered by {answered_by}, truth {w['answered_by']}"
        if w["target_ring_seconds"] is not None:
            assert x.target is not None, f"{cid}: transfer without target"
            near(x.target.ring_seconds, w["target_ring_seconds"], f"{cid} transfer target ring")


def check_capture(records: list[CallRecord], truth: dict[str, Any]) -> None:
    """One record per truth call, each agreeing with it."""
    assert len(records) == len(truth["calls"]), (
        f"{len(records)} records for {len(truth['calls'])} calls: "
        + ", ".join(f"{r.caller}->{r.dialed} {r.outcome}" for r in records))
    for t in truth["calls"]:
        check_call(find(records, t), t)

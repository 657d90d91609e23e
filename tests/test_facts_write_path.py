"""Report facts and tracked recordings on every write path of issue 14 (CEL recovery, kept copies, refused calls).

Facts (issue 17) are derived from what is stored; the hardened write path (issue 14)
sometimes stores a fitted record, keeps an older copy that knows more, keeps a settled
R8, or dead-letters a call. Whatever it decides, each call row must have exactly the
facts that rebuilding them from the stored call gives, and a verdict naming a
recording (issue 16) must be tracked when it is stored.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config import load_settings
from monitor.core.record import CallRecord
from monitor.core.rules import Verdict
from monitor.directory import load_directory
from monitor.pipeline import Pipeline
from monitor.recovery import recover
from monitor.sinks import Collector
from monitor.storage.facts import FACTS
from monitor.storage.rebuild import build_missing
from monitor.storage.store import Store
from monitor.storage.workbench import RECORDINGS
from stores import add_site_rule, fresh_store

BACKENDS = ["sqlite", "postgresql"]
CSV = Path(__file__).resolve().parent / "data" / "cel" / "office.csv"
T0 = 1795574606.0


def facts_by_linkedid(store: Store) -> dict[str, dict]:
    """Every facts row (without the call id), by linkedid."""
    cols = [c for c in FACTS.c if c.name != "call_id"]
    with store.engine.connect() as conn:
        return {r.linkedid: dict(r._mapping) for r in conn.execute(sa.select(*cols))}


def assert_facts_match_the_stored_calls(store: Store) -> dict[str, dict]:
    """One facts row per call, equal to the facts rebuilt from the stored call; returns them."""
    kept = facts_by_linkedid(store)
    assert len(kept) == store.count_calls()
    with store.engine.begin() as conn:
        conn.execute(sa.delete(FACTS))
        assert build_missing(conn) == len(kept)
    assert facts_by_linkedid(store) == kept
    return kept


def tracked(store: Store) -> dict[tuple[str, str], tuple[str, str]]:
    """(linkedid, rule) -> (path, result) of every tracked recording."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(RECORDINGS.c.linkedid, RECORDINGS.c.rule, RECORDINGS.c.path,
                                      RECORDINGS.c.result))
        return {(r.linkedid, r.rule): (r.path, r.result) for r in rows}


def _record(n: int, **kw) -> CallRecord:
    return CallRecord(**{"linkedid": f"{T0 + n}.{n}", "direction": "inbound", "caller": "01012345678",
                         "dialed": "6831", "outcome": "abandoned", "start": T0 + n, "end": T0 + n + 30, **kw})


@pytest.mark.parametrize("backend", BACKENDS)
def test_calls_recovered_from_cel_get_their_facts_like_any_call(backend, tmp_path):
    with fresh_store(backend, tmp_path) as (store, _, _):
        settings = load_settings(None, {}, {})
        collector = Collector()
        got = recover(Pipeline.from_settings(settings, load_directory(settings.directory_path), [collector]), store,
                      str(CSV), since=0)
        assert got.calls == 5
        store.save_calls([(f.record, f.verdicts, f.department) for f in collector.calls.values()])
        facts = assert_facts_match_the_stored_calls(store)
        assert len(facts) == 5
        for f in collector.calls.values():
            assert f.record.source == "cel"
            row = facts[f.record.linkedid]
            assert row["outcome"] == f.record.outcome and row["r1"] == f.verdicts["R1"].result
            assert "0101111" not in row["caller"]          # masked, like every call's


@pytest.mark.parametrize("backend", BACKENDS)
def test_kept_copies_and_a_settled_r8_keep_their_facts_and_recordings_are_tracked(backend, tmp_path):
    with fresh_store(backend, tmp_path) as (store, _, _):
        whole = _record(1)
        speech = {"recording": str(tmp_path / "r.wav"), "words": ["안녕하세요"]}
        store.save_calls([(whole, {"R8": Verdict("R8", "pending", None, "window open"),
                                   "R2": Verdict("R2", "unclear", speech, "low confidence")}, "영업팀")])
        assert tracked(store) == {(whole.linkedid, "R2"): (speech["recording"], "unclear")}
        assert store.set_verdict(whole.linkedid, Verdict("R8", "fail", None, "never called back"))
        assert facts_by_linkedid(store)[whole.linkedid]["r8"] == "fail"
        # A restart re-sends the call with R8 pending again: the settled R8 (and its facts) stay.
        store.save_calls([(whole, {"R8": Verdict("R8", "pending", None, "window open")}, "영업팀")])
        assert store.set_verdict(whole.linkedid, Verdict("R8", "pending", None, "window open"))
        assert store.set_verdict(whole.linkedid, Verdict("R8", "pass", 60.0, "called back"))
        # An incomplete copy knows less: the stored call, its verdicts and its facts stay.
        less = dataclasses.replace(whole, outcome="incomplete", end=whole.start + 3, incomplete_reason="stopped")
        assert store.save_calls([(less, {"R8": Verdict("R8", "n/a")}, None)]) == 0
        facts = assert_facts_match_the_stored_calls(store)[whole.linkedid]
        assert (facts["outcome"], facts["r8"], facts["department"]) == ("abandoned", "fail", "영업팀")
        # A late speech verdict and a review: facts and the tracked recording follow.
        assert store.set_verdict(whole.linkedid, Verdict("R3", "unclear", speech, "low confidence"))
        assert store.set_verdict(whole.linkedid, Verdict("R3", "pass", dict(speech, review={"at": None}),
                                                         "confirmed"))
        facts = assert_facts_match_the_stored_calls(store)[whole.linkedid]
        assert facts["r3"] == "pass" and facts["r8"] == "fail"
        assert tracked(store)[(whole.linkedid, "R3")] == (speech["recording"], "pass")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_call_stored_fitted_has_facts_and_recordings_and_a_dead_letter_has_none(backend, tmp_path):
    with fresh_store(backend, tmp_path) as (store, _, _):
        add_site_rule(store, backend)
        speech = {"recording": str(tmp_path / "f.wav")}
        refused, too_long, good = _record(1, dialed="refuse"), _record(2, caller="0" + "1" * 90), _record(3)
        verdicts = {"R2": Verdict("R2", "unclear", speech, "low confidence")}
        assert store.save_calls([(refused, verdicts, None), (too_long, verdicts, None), (good, {}, None)]) == 2
        facts = assert_facts_match_the_stored_calls(store)
        assert set(facts) == {too_long.linkedid, good.linkedid}
        assert facts[too_long.linkedid]["r2"] == "unclear" and facts[too_long.linkedid]["caller"] == "011-****-1111"
        assert set(tracked(store)) == {(too_long.linkedid, "R2")}     # the dead letter's recording is not stored
        assert store.dead_letters == 1

"""Calls recovered from Asterisk's CEL: a real cel_custom CSV from the lab PBX, backfill, never a duplicate."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cel_source import CelError, read_cel
from monitor.core.celcalls import UNKNOWN_FROM_CEL, calls_from_cel
from monitor.core.rules import NA
from stores import fresh_store

DATA = Path(__file__).resolve().parent / "data" / "cel"
CSV = DATA / "office.csv"     # written by the kit's Asterisk 22 (tests/pbxlab/cel_capture.py)
TRUTH = json.loads((DATA / "office.truth.json").read_text(encoding="utf-8"))


def telmon(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_the_real_cel_file_gives_each_call_as_the_phones_saw_it():
    records = calls_from_cel(read_cel(str(CSV)).rows)
    assert len(records) == len(TRUTH)
    for rec, truth in zip(records, TRUTH):
        assert (rec.caller, rec.dialed, rec.outcome, rec.answered_by if rec.direction != "outbound" else None) == (
            truth["caller"], truth["dialed"], truth["outcome"], truth["answered_by"])
        assert rec.direction == truth.get("direction", "inbound")
        assert len(rec.transfers) == truth.get("transfers", 0)
        assert rec.source == "cel" and rec.flags == [UNKNOWN_FROM_CEL]
        assert all(o.ring_start is None for o in rec.offers)       # CEL cannot tell ringing
    transfer = records[3].transfers[0]
    assert (transfer.kind, transfer.by, transfer.to, transfer.target.extension) == ("blind", "6831", "6841", "6841")


def test_reading_from_the_end_stops_at_since_and_dates_in_local_time_parse(tmp_path):
    rows = read_cel(str(CSV)).rows
    middle = float(rows[len(rows) // 2]["eventtime"])
    later = read_cel(str(CSV), since=middle).rows
    assert later == [r for r in rows if float(r["eventtime"]) >= middle]
    # dateformat = %F %T (the kit's cel.conf): local date and time, whole seconds.
    lines = CSV.read_text(encoding="utf-8").splitlines()
    local = tmp_path / "Master.csv"
    out = []
    for line in lines:
        head, ts, rest = line.split(",", 2)
        when = dt.datetime.fromtimestamp(float(ts.strip('"'))).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f'{head},"{when}",{rest}')
    local.write_text("\n".join(out) + "\n", encoding="utf-8")
    assert [r.outcome for r in calls_from_cel(read_cel(str(tmp_path)).rows)] == [t["outcome"] for t in TRUTH]
    with pytest.raises(CelError, match="no such file"):
        read_cel(str(tmp_path / "nothing.csv"))


def test_a_row_being_written_and_garbage_lines_are_skipped(tmp_path):
    path = tmp_path / "Master.csv"
    text = CSV.read_text(encoding="utf-8")
    path.write_text("not,a,cel,row\n" + text + '"CHAN_START","17961', encoding="utf-8")   # torn last line
    got = read_cel(str(path))
    assert len(got.rows) == len(text.splitlines()) and got.skipped == 1


@pytest.mark.slow
def test_backfill_stores_each_call_once_and_judges_r8(tmp_path):
    with fresh_store("sqlite", tmp_path) as (store, url, _):
        args = ["backfill", "--cel", str(CSV), "--since", "0", "--database-url", url]
        first = telmon(*args)
        assert first.returncode == 0, first.stderr
        assert "5 calls recovered from CEL" in first.stderr
        again = telmon(*args)
        assert again.returncode == 0 and "0 calls recovered from CEL, 5 already stored" in again.stderr
        calls = {c.record.caller: c for c in store.load_calls()}
        assert store.count_calls() == 5
        abandoned = calls["01011110002"]
        assert abandoned.record.source == "cel" and abandoned.verdicts["R1"].result == NA
        assert abandoned.verdicts["R8"].result == "pass"            # 6832 called back (call 5)
        assert calls["01011110003"].verdicts["R8"].result in ("pending", "fail")
        assert "01011110002" not in first.stderr + first.stdout     # no caller number in any output


def test_recovery_skips_stored_and_live_calls_and_replaces_an_incomplete_one(tmp_path):
    from monitor.config import load_settings
    from monitor.pipeline import Pipeline
    from monitor.directory import load_directory
    from monitor.recovery import recover
    from monitor.sinks import Collector
    from monitor.storage.store import Store
    settings = load_settings(None, {}, {})
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    records = calls_from_cel(read_cel(str(CSV)).rows)
    import dataclasses
    live = dataclasses.replace(records[0], source="ami", flags=[])
    incomplete = dataclasses.replace(records[1], source="ami", flags=[], outcome="incomplete",
                                     incomplete_reason="telmon stopped while the call was in progress")
    store.save_calls([(live, {}, None), (incomplete, {}, None)])
    collector = Collector()
    pipeline = Pipeline.from_settings(settings, load_directory(settings.directory_path), [collector])
    pipeline.tracker.calls[records[2].linkedid] = object()     # still in progress: followed live
    got = recover(pipeline, store, str(CSV), since=0)
    assert (got.calls, got.known) == (3, 2)
    assert sorted(collector.calls) == sorted([records[1].linkedid, records[3].linkedid, records[4].linkedid])
    from monitor.storage.sink import StoreSink
    sink = StoreSink(store)
    for f in collector.calls.values():
        sink.call_finished(f)
    sink.flush()
    stored = {c.record.linkedid: c.record for c in store.load_calls()}
    assert stored[live.linkedid].source == "ami"                                # never replaced by CEL
    assert stored[incomplete.linkedid].source == "cel"                          # CEL knows more
    assert stored[incomplete.linkedid].outcome == "abandoned"

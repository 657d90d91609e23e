"""The write path: a database that goes away, rows it refuses, poisoned timestamps, SIGTERM in bounded time."""
from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import TRACES
from monitor.core.record import CallRecord
from monitor.core.rules import Verdict
from monitor.pipeline import Finished
from monitor.storage.sink import StoreSink
from monitor.storage.store import Store
from stores import PG_URL, add_site_rule, fresh_store

BACKENDS = ["sqlite", "postgresql"]
T0 = 1795574606.0
CALLS = 8   # in the seven captures of _poisoned_stream (j_busy_reject holds two)


def _call(n: int, caller: str = "01012345678", **kw) -> Finished:
    rec = CallRecord(**{"linkedid": f"{T0 + n}.{n}", "direction": "inbound", "caller": caller, "dialed": "6831",
                        "outcome": "answered", "start": T0 + n, "end": T0 + n + 30, **kw})
    return Finished(rec, {"R1": Verdict("R1", "pass", 1, "ok")}, None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unavailable_database_holds_calls_logs_once_and_recovers(backend, tmp_path, caplog):
    with fresh_store(backend, tmp_path) as (store, _, _):
        sink = StoreSink(store, batch=2)
        good = store.engine
        store.engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/x" if backend != "sqlite"
                                        else f"sqlite:///{tmp_path}/no/such/dir/x.db")
        caplog.set_level(logging.INFO)
        for n in range(5):
            sink.call_finished(_call(n))
            sink.try_flush()
        assert sink.held == 5 and not sink.health.up and sink.health.outages == 1
        assert caplog.text.count("database unavailable") == 1 and "01012345678" not in caplog.text
        store.engine = good
        assert sink.try_flush() and sink.health.up and store.count_calls() == 5
        assert caplog.text.count("database back") == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_call_refused_even_after_fitting_is_dead_lettered_and_never_blocks(backend, tmp_path):
    with fresh_store(backend, tmp_path) as (store, _, _):
        add_site_rule(store, backend)
        long_caller = "0" + "1" * 90
        calls = [_call(1), _call(2, dialed="refuse"), _call(3, caller=long_caller, hangup_cause=2 ** 40), _call(4)]
        assert store.save_calls([(f.record, f.verdicts, None) for f in calls]) == 3
        stored = {c.record.linkedid: c.record for c in store.load_calls()}
        assert set(stored) == {calls[0].record.linkedid, calls[2].record.linkedid, calls[3].record.linkedid}
        fitted = stored[calls[2].record.linkedid]
        assert len(fitted.caller) == 64 and fitted.hangup_cause is None
        assert fitted.flags == ["caller clipped from 91 to 64 characters", "hangup cause 1099511627776 out of range: "
                                "dropped"]
        with store.engine.connect() as conn:
            (linkedid, why), = conn.execute(sa.text("SELECT linkedid, reason FROM dead_letters")).all()
        assert linkedid == calls[1].record.linkedid and ("refused by site rule" in why or "no_x" in why)


def _poisoned_stream(tmp_path: Path) -> list[Path]:
    """Captures with rows a database must refuse and timestamps that must not become the clock."""
    out = []
    for name in ("a_inbound_1ring", "b_inbound_4rings", "c_inbound_abandon", "d1_queue_30s", "e_blind_transfer",
                 "g_hold", "j_busy_reject"):
        data = (TRACES / f"{name}.ami").read_bytes()
        if name == "a_inbound_1ring":       # a caller ID over the column's 64 characters
            data = data.replace(b"CallerIDNum: 01012345678", b"CallerIDNum: 010" + b"9" * 80)
        if name == "b_inbound_4rings":      # a hangup cause beyond a 32-bit integer
            data = data.replace(b"Cause: 16\r\n", b"Cause: 99999999999\r\n")
        if name == "c_inbound_abandon":     # poisoned clocks between the call's events
            frames = data.split(b"\r\n\r\n")
            i = next(n for n, f in enumerate(frames) if b"Event: Newstate" in f)
            bad = [re.sub(rb"Timestamp: [0-9.]+", b"Timestamp: " + ts, frames[i]).replace(b"Uniqueid: ", b"Uniqueid: z")
                   for ts in (b"9795574606.000000", b"inf", b"nan")]
            frames[i + 1:i + 1] = bad
            data = b"\r\n\r\n".join(frames)
        path = tmp_path / f"{name}.ami"
        path.write_bytes(data)
        out.append(path)
    return out


def _telmon(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_rows_and_poisoned_timestamps_live_every_good_call_stored_and_sigterm_bounded(backend, tmp_path):
    files = _poisoned_stream(tmp_path)
    with fresh_store(backend, tmp_path) as (store, url, kwargs):
        if kwargs:   # the child process reaches the test's schema through the URL
            url = f"{PG_URL}?options=-csearch_path%3D{kwargs['connect_args']['options'].split('=')[1]}"
        sim = _telmon("simulate", "--port", "0", "--speed", "0", *map(str, files), env=dict(os.environ))
        port = int(sim.stdout.readline().split("127.0.0.1:")[1].split()[0])
        env = dict(os.environ, TELMON_DATABASE_URL=url, TELMON_AMI_PORT=str(port), TELMON_AMI_SECRET="telmon",
                   TELMON_SPEECH="0", TELMON_AGI_PORT="0", TELMON_METRICS_PORT="0",
                   TELMON_SPILL_DIR=str(tmp_path / "spill"))
        run = _telmon("run", env=env)
        try:
            sim.wait(timeout=60)
            deadline = time.monotonic() + 10
            while store.count_calls() < CALLS and time.monotonic() < deadline:
                time.sleep(0.2)
            stored_after = time.monotonic() - (deadline - 10)
            t = time.monotonic()
            run.send_signal(signal.SIGTERM)
            err = run.communicate(timeout=10)[1]
            assert time.monotonic() - t < 5.0
        finally:
            for p in (run, sim):
                if p.poll() is None:
                    p.kill()
        calls = {c.record.linkedid: c for c in store.load_calls()}
        assert len(calls) == CALLS and stored_after < 10
        flagged = {c.record.linkedid: c.record.flags for c in calls.values() if c.record.flags}
        assert sorted(flagged.values()) == [
            ["caller clipped from 83 to 64 characters", "remote number clipped from 83 to 64 characters"],
            ["offer 1 cause 99999999999 out of range: dropped", "hangup cause 99999999999 out of range: dropped"]]
        abandoned = next(c for c in calls.values() if c.record.outcome == "abandoned")
        assert abandoned.verdicts["R8"].result == "pending"        # the clock never jumped a day
        assert all(1.79e9 < c.record.start < 1.8e9 for c in calls.values())
        assert "9" * 20 not in err and "01012345678" not in err


@pytest.mark.slow
def test_replay_after_a_refused_row_loses_nothing(tmp_path):
    files = _poisoned_stream(tmp_path)
    db = tmp_path / "r.db"
    proc = subprocess.run([sys.executable, "-m", "monitor", "replay", "--quiet", "--database-url",
                           f"sqlite:///{db}", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert Store.open(f"sqlite:///{db}").count_calls() == CALLS


@pytest.mark.slow
def test_sigterm_with_a_locked_database_exits_in_time_and_the_next_start_stores_the_calls(tmp_path):
    db = tmp_path / "locked.db"
    Store.open(f"sqlite:///{db}").close()
    sim = _telmon("simulate", "--port", "0", "--speed", "0", str(TRACES / "i_concurrent10.ami"), env=dict(os.environ))
    port = int(sim.stdout.readline().split("127.0.0.1:")[1].split()[0])
    env = dict(os.environ, TELMON_DATABASE_URL=f"sqlite:///{db}", TELMON_AMI_PORT=str(port),
               TELMON_AMI_SECRET="telmon", TELMON_SPEECH="0", TELMON_AGI_PORT="0", TELMON_METRICS_PORT="0",
               TELMON_SPILL_DIR=str(tmp_path / "spill"))
    run = _telmon("run", env=env)
    lock = sqlite3.connect(db, timeout=30)
    try:
        lines = []
        while not any("telmon run: AMI" in line for line in lines):    # the store is open; not yet connected
            lines.append(run.stderr.readline())
            assert lines[-1], "".join(lines)
        lock.execute("BEGIN EXCLUSIVE")      # another process holds the database: every write waits, then fails
        sim.wait(timeout=60)
        time.sleep(2.0)
        t = time.monotonic()
        run.send_signal(signal.SIGTERM)
        err = "".join(lines) + run.communicate(timeout=15)[1]
        assert time.monotonic() - t < 5.0, err
    finally:
        for p in (run, sim):
            if p.poll() is None:
                p.kill()
        lock.rollback()
        lock.close()
    assert list((tmp_path / "spill").glob("unsaved-*.jsonl")), err
    assert "01012345678" not in err and Store.open(f"sqlite:///{db}").count_calls() == 0
    again = subprocess.run([sys.executable, "-c", "import sys; from monitor.storage.spill import load_spilled; "
                            "from monitor.storage.store import Store; from pathlib import Path; "
                            "print(load_spilled(Store.open(sys.argv[1]), Path(sys.argv[2])))",
                            f"sqlite:///{db}", str(tmp_path / "spill")], capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "10", again.stderr
    assert Store.open(f"sqlite:///{db}").count_calls() == 10 and not list((tmp_path / "spill").glob("*.jsonl"))


def test_the_end_of_a_replay_waits_bounded_then_spills_and_the_next_run_stores(tmp_path):
    from monitor.storage.sink import finish_storing
    from monitor.storage.spill import load_spilled
    store = Store.open(f"sqlite:///{tmp_path / 'f.db'}")
    good, store.engine = store.engine, sa.create_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    sink = StoreSink(store)
    for n in range(3):
        sink.call_finished(_call(n))
    slept: list[float] = []
    assert not finish_storing(sink, tmp_path / "spill", patience=10, sleep=slept.append)
    assert sum(slept) >= 10 and len(slept) <= 6            # backed off, not a tight loop
    assert sink.held == 0 and len(list((tmp_path / "spill").glob("unsaved-*.jsonl"))) == 1
    store.engine = good
    assert load_spilled(store, tmp_path / "spill") == 3 and store.count_calls() == 3

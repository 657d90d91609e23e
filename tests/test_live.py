"""telmon over real sockets: the listener against the simulated PBX replaying the real captures."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import SCENARIOS, TRACES
from monitor.config import AmiSettings, load_settings
from monitor.core.cadence import KOREA
from monitor.core.export import call_json
from monitor.directory import load_directory
from monitor.live.runner import LiveMonitor
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events
from monitor.pipeline import Finished, Pipeline
from monitor.replay import replay_files
from monitor.sinks import Collector
from monitor.storage.store import Store

SETTINGS = load_settings(None, {}, {})
DIRECTORY = load_directory(SETTINGS.directory_path)


def _as_json(f: Finished) -> str:
    return json.dumps(call_json(f.record, f.verdicts, KOREA, f.department), sort_keys=True)


def replayed(names: list[str]) -> dict[str, Finished]:
    """What ``telmon replay`` makes of the same captures (no database)."""
    collector = Collector()
    pipeline = Pipeline.from_settings(SETTINGS, DIRECTORY, [collector])
    replay_files(pipeline, [TRACES / f"{n}.ami" for n in names])
    pipeline.flush("end of recording")
    return collector.calls


async def live(names: list[str], store: Store, options: SimOptions, secret: str = "telmon",
               timeout: float = 60.0) -> tuple[dict[str, Finished], LiveMonitor, SimulatedPbx]:
    sim = SimulatedPbx(load_events([TRACES / f"{n}.ami" for n in names]), options)
    port = await sim.start()
    ami = AmiSettings(host="127.0.0.1", port=port, username="telmon", secret=secret,
                      backoff_min=0.05, backoff_max=0.2)
    collector = Collector()
    monitor = LiveMonitor(dataclasses.replace(SETTINGS, ami=ami), DIRECTORY, store, [collector])
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.wait_for(sim.done.wait(), timeout)
        deadline = time.monotonic() + 5
        while monitor.pipeline.tracker.live_calls() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        monitor.stop.set()
        await task
        await sim.close()
    return collector.calls, monitor, sim


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'live.db'}")
    yield s
    s.close()


@pytest.mark.parametrize("name", SCENARIOS)
def test_live_socket_gives_the_same_records_as_replay(name, store):
    got, monitor, _ = asyncio.run(live([name], store, SimOptions(speed=0)))
    want = replayed([name])
    assert sorted(map(_as_json, got.values())) == sorted(map(_as_json, want.values()))
    stored = sorted(json.dumps(call_json(c.record, c.verdicts, KOREA, c.department), sort_keys=True)
                    for c in store.load_calls())
    assert stored == sorted(map(_as_json, want.values()))
    assert monitor.listener.state.sessions == 1 and monitor.listener.state.reconnects == 0


@pytest.mark.slow
def test_failed_login_is_retried_and_never_shows_the_secret(store, caplog):
    async def attempt():
        sim = SimulatedPbx(load_events([TRACES / "a_inbound_1ring.ami"]), SimOptions(secret="right"))
        port = await sim.start()
        ami = AmiSettings(host="127.0.0.1", port=port, username="telmon", secret="wrong-s3cret",
                          backoff_min=0.05, backoff_max=0.1)
        monitor = LiveMonitor(dataclasses.replace(SETTINGS, ami=ami), DIRECTORY, store)
        task = asyncio.create_task(monitor.run())
        await asyncio.sleep(0.5)
        monitor.stop.set()
        await task
        await sim.close()
        return monitor
    monitor = asyncio.run(attempt())
    state = monitor.listener.state
    assert state.login_failures >= 2 and not state.connected and state.sessions == 0
    assert "Authentication failed" in state.last_error
    assert "wrong-s3cret" not in caplog.text and "wrong-s3cret" not in state.last_error


@pytest.mark.slow
def test_connection_dropped_mid_call_loses_nothing_and_judges_nothing_wrong(store):
    names = ["i_concurrent10"]
    events = load_events([TRACES / f"{n}.ami" for n in names])
    drop = next(i for i, e in enumerate(events) if e.msg.event == "DialEnd") + 1   # calls are ringing
    got, monitor, sim = asyncio.run(live(names, store, SimOptions(speed=20, drop_after=drop)))
    want = replayed(names)
    state = monitor.listener.state
    assert state.reconnects == 1 and state.sessions == 2
    assert set(got) == set(want), "every call is stored, none lost"
    incomplete = [f for f in got.values() if f.record.outcome == "incomplete"]
    assert incomplete, "calls across the gap are marked"
    for linkedid, f in got.items():
        if f.record.outcome == "incomplete":
            assert {v.result for k, v in f.verdicts.items()} == {"n/a"}
            reason = f.record.incomplete_reason
            assert any(w in reason for w in ("disconnected", "missing", "did not see the call start")), reason
        else:
            assert _as_json(f) == _as_json(want[linkedid]), "a judged call is judged exactly as in replay"
    assert store.count_calls() == len(want)


@pytest.mark.slow
def test_asterisk_restart_flushes_calls_in_progress_as_incomplete(store):
    names = ["e_blind_transfer", "f_attended_transfer", "g_hold", "h_outbound_internal"]
    events = load_events([TRACES / f"{n}.ami" for n in names])
    restart = max(i for i, e in enumerate(events) if e.msg.event == "Hold") + 1     # during g_hold's hold
    got, monitor, sim = asyncio.run(live(names, store, SimOptions(speed=20, max_gap=0.2, restart_after=restart)))
    want = replayed(names)
    assert sim.restarts == 1 and monitor.listener.state.reconnects == 1
    by_caller = {f.record.caller: f for f in got.values()}
    assert by_caller["01077770003"].record.outcome == "incomplete"           # g_hold was cut by the restart
    assert "shut down" in by_caller["01077770003"].record.incomplete_reason
    for caller in ("01055550001", "01066660002", "6811"):                   # before and after: intact
        (w,) = [x for x in want.values() if x.record.caller == caller]
        assert _as_json(by_caller[caller]) == _as_json(w)


@pytest.mark.slow
def test_slow_database_delays_storage_not_tracking(store):
    class SlowStore:
        def __init__(self, inner):
            self.inner = inner
            self.slow_writes = 0

        def save_calls(self, batch):
            time.sleep(0.3)
            self.slow_writes += 1
            return self.inner.save_calls(batch)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    slow = SlowStore(store)
    names = ["i_concurrent10", "j_busy_reject"]
    started = time.monotonic()
    got, monitor, _ = asyncio.run(live(names, slow, SimOptions(speed=0)))
    assert len(got) == 12
    assert slow.slow_writes >= 1
    assert store.count_calls() == 12, "everything queued was written before shutdown returned"
    assert monitor.writer.backlog == 0
    assert time.monotonic() - started < 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_telmon_run_end_to_end_with_sigterm(tmp_path):
    """`telmon simulate` and `telmon run` as a user starts them; SIGTERM stores what is held."""
    ami_port, agi_port = _free_port(), _free_port()
    db = f"sqlite:///{tmp_path / 'run.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")}
    sim = subprocess.Popen([sys.executable, "-m", "monitor", "simulate", "--port", str(ami_port), "--speed", "0",
                            "--secret", "pa55-word", str(TRACES / "i_concurrent10.ami")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "AMI on 127.0.0.1" in sim.stdout.readline()
        run_env = dict(env, TELMON_AMI_PORT=str(ami_port), TELMON_AMI_SECRET="pa55-word",
                       TELMON_DATABASE_URL=db, TELMON_SPOOL_DIR=str(tmp_path / "spool"), TELMON_METRICS_PORT="0")
        run = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--agi-port", str(agi_port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=run_env)
        store = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if (tmp_path / "run.db").exists():
                store = store or Store.open(db)
                if store.count_calls() >= 10:
                    break
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
        assert store is not None and store.count_calls() == 10
        assert "pa55-word" not in err and "FastAGI on 127.0.0.1" in err and "AMI connected" in err
        assert "Prometheus metrics on http://127.0.0.1:" in err
    finally:
        sim.terminate()
        sim.communicate(timeout=10)

"""kill -9 of ``telmon run`` at random points while the simulated PBX plays, a CEL file beside it.

Every call the PBX played must end up stored exactly once, none dated 1970, none
wrong: a call followed whole is the call ``telmon replay`` makes of the same
captures; a call recovered from CEL has its caller, direction and outcome; a call
telmon saw only in part is marked incomplete with its real start.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import TRACES
from monitor.storage.store import Store

KILLS = int(os.environ.get("TELMON_RESTART_KILLS", "20"))


def _env(tmp_path, port: int, cel) -> dict:
    return dict(os.environ, TELMON_DATABASE_URL=f"sqlite:///{tmp_path / 'calls.db'}", TELMON_AMI_PORT=str(port),
                TELMON_AMI_SECRET="telmon", TELMON_CEL_PATH=str(cel), TELMON_SPEECH="0", TELMON_AGI_PORT="0",
                TELMON_METRICS_PORT="0", TELMON_SPILL_DIR=str(tmp_path / "spill"))


def _replayed() -> dict[str, dict]:
    out = subprocess.run([sys.executable, "-m", "monitor", "replay", "--no-store", "--json", "--unmasked",
                          "--reason", "test truth", *map(str, sorted(TRACES.glob("*.ami")))], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, TELMON_AUDIT_LOG=os.devnull))
    return {j["linkedid"]: j for j in map(json.loads, out.stdout.splitlines())}


@pytest.mark.slow
def test_kill9_at_random_points_stores_every_call_once(tmp_path):
    rng = random.Random(14)
    cel = tmp_path / "Master.csv"
    sim = subprocess.Popen([sys.executable, "-m", "monitor", "simulate", "--port", "0", "--speed", "6",
                            "--cel-out", str(cel)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(sim.stdout.readline().split("127.0.0.1:")[1].split()[0])
        env = _env(tmp_path, port, cel)
        log = open(tmp_path / "run.log", "w")
        kills = 0
        while kills < KILLS and sim.poll() is None:
            run = subprocess.Popen([sys.executable, "-m", "monitor", "run"], env=env, stderr=log)
            time.sleep(rng.uniform(0.8, 2.5))
            run.send_signal(signal.SIGKILL)
            run.wait()
            kills += 1
            time.sleep(rng.uniform(0.0, 1.0))         # calls go on while telmon is down
        final = subprocess.Popen([sys.executable, "-m", "monitor", "run"], env=env, stderr=log)
        sim.wait(timeout=300)
        time.sleep(3)
        stopped = time.monotonic()
        final.send_signal(signal.SIGTERM)
        final.wait(timeout=10)
        assert time.monotonic() - stopped < 5.0
    finally:
        sim.kill()
        sim.wait()
    assert kills >= 10, "the simulated PBX ended before telmon was killed often enough"
    want = _replayed()
    store = Store.open(env["TELMON_DATABASE_URL"])
    got = {c.record.linkedid: c for c in store.load_calls()}
    assert store.count_calls() == len(got)             # exactly once (linkedid is unique, checked anyway)
    assert set(got) == set(want), (sorted(set(want) - set(got)), sorted(set(got) - set(want)))
    kinds = {"whole": 0, "cel": 0, "incomplete": 0}
    for linkedid, call in got.items():
        rec, truth = call.record, want[linkedid]
        assert rec.start > 1.7e9 and rec.end >= rec.start - 1.0, (linkedid, rec.start, rec.end)   # never 1970
        assert rec.caller == truth["caller"] and rec.direction == truth["direction"]
        if rec.outcome == "incomplete":
            kinds["incomplete"] += 1
            assert abs(rec.start - truth["start"]) < 1.5      # adopted: the channel's age, whole seconds
        elif rec.source == "cel":
            kinds["cel"] += 1
            assert rec.outcome == truth["outcome"] and abs(rec.start - truth["start"]) < 0.01
        else:
            kinds["whole"] += 1
            assert (rec.outcome, rec.answered_by, round(rec.start, 3)) == (
                truth["outcome"], truth["answered_by"], truth["start"])
    print(f"{kills} kills: {kinds}")

"""The ``telmon`` command end to end, as a user runs it (a real subprocess, a real database)."""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys

import pytest

from conftest import SCENARIOS, TRACES, load_truth

pytestmark = pytest.mark.slow   # every test runs telmon as a real process

REQUIRED = {"linkedid", "direction", "caller", "dialed", "outcome", "answered_by", "ring_seconds", "rings",
            "queue", "queue_wait_seconds", "hold_seconds", "longest_wait_seconds", "offers", "transfers",
            "verdicts"}


def telmon(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'telmon.db'}"


def test_replay_json_has_the_stable_keys_and_agrees_with_truth(db, tmp_path):
    files = [str(TRACES / f"{n}.ami") for n in SCENARIOS]
    audit = tmp_path / "audit" / "unmasked.log"
    out = telmon("replay", "--json", "--unmasked", "--reason", "checking against the truth", "--database-url", db,
                 *files, env={"TELMON_AUDIT_LOG": str(audit)}).stdout
    assert "checking against the truth" in audit.read_text() and audit.stat().st_mode & 0o777 == 0o600
    calls = [json.loads(line) for line in out.splitlines()]
    truth = [c for n in SCENARIOS for c in load_truth(n)["calls"]]
    assert len(calls) == len(truth) == 24
    for c in calls:
        assert REQUIRED <= set(c), REQUIRED - set(c)
        assert set(c["verdicts"]) == {"R1", "R4", "R5", "R8"}
        for o in c["offers"]:
            assert {"extension", "ring_seconds", "rings", "answered"} <= set(o)
            assert o["extension"].isdigit()
        for t in c["transfers"]:
            assert {"kind", "by", "to", "answered"} <= set(t)
    by_caller = {(c["caller"], c["dialed"]): c for c in calls}
    for t in truth:
        c = by_caller[(t["caller"], t["dialed"].split()[0])]
        assert c["rings"] == (t["rings_kr"] if t["answered"] else None)
        if t["answered"] and t["direction" if "direction" in t else "caller_endpoint"] != "outbound":
            assert c["verdicts"]["R1"]["result"] == ("pass" if t["rings_kr"] <= 2 else "fail")


def test_replay_twice_stores_each_call_once_and_calls_prints_the_same(db):
    path = str(TRACES / "i_concurrent10.ami")
    first = telmon("replay", "--json", "--database-url", db, path).stdout
    telmon("replay", "--json", "--database-url", db, path)
    stored = telmon("calls", "--json", "--database-url", db).stdout
    a = sorted(first.splitlines())
    b = sorted(stored.splitlines())
    assert len(b) == 10
    assert [json.loads(x) for x in a] == [json.loads(x) for x in b]


def test_json_is_masked_like_the_table_unless_unmasked_with_a_logged_reason(db, tmp_path):
    path = str(TRACES / "h2_outbound_pstn.ami")
    for args in (["replay", "--json", path], ["calls", "--json"], ["replay", path]):
        out = telmon(*args, "--database-url", db).stdout
        assert not re.search(r"\d{7,}", re.sub(r"\d+\.\d+", "", out)), out   # no whole number anywhere
        assert "02-****-4567" in out or "021-****-4567" in out or "-****-4567" in out
    refused = telmon("calls", "--json", "--unmasked", "--database-url", db, check=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    whole = telmon("calls", "--json", "--unmasked", "--reason", "callback list", "--database-url", db,
                   env={"TELMON_AUDIT_LOG": str(tmp_path / "a.log")}).stdout
    assert "021234567" in whole and "callback list" in (tmp_path / "a.log").read_text()


def test_quiet_replay_stores_everything_and_prints_only_the_summary(db, tmp_path):
    files = [str(TRACES / f"{n}.ami") for n in SCENARIOS]
    loud = telmon("replay", "--database-url", f"sqlite:///{tmp_path / 'loud.db'}", *files)
    quiet = telmon("replay", "--quiet", "--database-url", db, *files)
    assert quiet.stdout == ""
    # The same summary line (calls, incomplete, awaiting callback) as the full replay.
    assert quiet.stderr.strip().splitlines()[-1] == loud.stderr.strip().splitlines()[-1]
    assert "24 calls" in quiet.stderr and "5 awaiting callback" in quiet.stderr
    stored = telmon("calls", "--json", "--database-url", db).stdout.splitlines()
    assert len(stored) == 24


def test_callback_across_two_replays_settles_r8(db, tmp_path):
    telmon("replay", "--database-url", db, str(TRACES / "c_inbound_abandon.ami"))
    missed = json.loads(telmon("calls", "--json", "--database-url", db).stdout)
    assert missed["verdicts"]["R8"]["result"] == "pending"
    data = (TRACES / "h2_outbound_pstn.ami").read_bytes()
    data = data.replace(b"9021234567", b"90312345002").replace(b"021234567", b"0312345002")
    data = data.replace(b"6812", b"6834")       # 6834 is in 6833's department
    callback = tmp_path / "callback.ami"
    callback.write_bytes(data)
    telmon("replay", "--database-url", db, str(callback))
    rows = [json.loads(x) for x in telmon("calls", "--json", "--database-url", db).stdout.splitlines()]
    (settled,) = [r for r in rows if r["caller"] == "031-****-5002"]      # masked like the table
    assert settled["verdicts"]["R8"]["result"] == "pass"


def test_table_masks_caller_numbers(db):
    out = telmon("replay", "--database-url", db, str(TRACES / "a_inbound_1ring.ami")).stdout
    assert "010-****-5678" in out and "01012345678" not in out
    assert "R1" in out.splitlines()[0]


def test_malformed_input_is_reported_and_the_rest_kept(db, tmp_path):
    data = (TRACES / "a_inbound_1ring.ami").read_bytes()
    cut = data.index(b"Event: Hangup")
    broken = tmp_path / "broken.ami"
    broken.write_bytes(data[:cut] + b"garbage without colon\r\n\r\n" + data[cut:])
    proc = telmon("replay", "--json", "--database-url", db, str(broken))
    (call,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert call["outcome"] == "answered"
    assert f"1 malformed frames skipped (at bytes {cut})" in proc.stderr


def test_clear_errors_for_missing_file_bad_directory_and_bad_database(db, tmp_path):
    proc = telmon("replay", "--database-url", db, str(tmp_path / "nope.ami"), check=False)
    assert proc.returncode == 1 and "no such file" in proc.stderr
    bad = tmp_path / "dir.yaml"
    bad.write_text("departments:\n  - name: 개발협력팀\n    extensions: 6861-6813\npeople: []\n")
    proc = telmon("replay", "--directory", str(bad), "--database-url", db, str(TRACES / "a_inbound_1ring.ami"),
                  check=False)
    assert proc.returncode == 2 and "dir.yaml:3" in proc.stderr and "6861-6813" in proc.stderr
    proc = telmon("calls", env={"TELMON_DATABASE_URL": "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"}, check=False)
    assert proc.returncode == 4 and "s3cret" not in proc.stderr and "127.0.0.1:1" in proc.stderr   # unavailable
    proc = telmon("calls", "--since", "yesterday-ish", "--database-url", db, check=False)
    assert proc.returncode == 2 and "--since" in proc.stderr


def test_demo_prints_live_verdicts(db):
    proc = telmon("demo", "--speed", "1000", "--database-url", db)
    lines = [line for line in proc.stdout.splitlines() if " R1:" in line]
    assert len(lines) == 24
    assert any("FAIL" in line for line in lines) and any("R1:ok" in line for line in lines)

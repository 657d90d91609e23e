"""The greeting spool's hand-over and the worker pool's recovery, with real files and real processes."""
from __future__ import annotations

import json
import os
import struct
import threading
import time
from pathlib import Path

import pytest

from monitor.speech.pool import CheckFailed, CheckPool
from monitor.speech.spool import Spool, is_closed, wait_closed


def _wav(path: Path, samples: int, closed: bool = True) -> Path:
    data = b"\x00\x01" * samples
    riff, size = (36 + len(data), len(data)) if closed else (0, 0)   # Asterisk writes the sizes on close
    path.write_bytes(b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000,
                     32000, 2, 16) + b"data" + struct.pack("<I", size) + data)
    return path


def _job(spool: Path, linkedid: str, uniqueid: str, ext: str) -> Path:
    audio = _wav(spool / f"{linkedid}-{uniqueid}-answering.wav16", 1600)
    job = {"linkedid": linkedid, "uniqueid": uniqueid, "extension": ext, "answering_audio": str(audio),
           "started": float(uniqueid.split(".")[1])}
    (spool / f"{linkedid}-{uniqueid}.json").write_text(json.dumps(job), encoding="utf-8")
    return audio


def test_claim_is_a_rename_and_release_deletes_only_then(tmp_path):
    spool = Spool(tmp_path)
    audio = _job(tmp_path, "100.0", "100.2", "6831")
    _job(tmp_path, "100.0", "100.1", "6852")
    _job(tmp_path, "200.0", "200.1", "6811")                    # another call: untouched
    claims = spool.claim("100.0")
    assert [c.job.extension for c in claims] == ["6852", "6831"]      # first answer first
    assert sorted(p.name for p in tmp_path.glob("100.0-*.claimed")) == ["100.0-100.1.claimed", "100.0-100.2.claimed"]
    assert spool.claim("100.0") == []                          # a second taker gets nothing
    spool.note(claims[1], rules=["R3"], expected=None)
    assert [c.rules for c in Spool(tmp_path).unfinished()] == [None, ["R3"]]   # what a restart finds
    spool.release(claims[1])
    assert not audio.exists() and not claims[1].path.exists()
    assert (tmp_path / "200.0-200.1.json").exists()


def test_a_job_naming_a_file_outside_the_spool_touches_nothing(tmp_path):
    """Whoever can write the spool (Asterisk) must not make telmon delete another file."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    victim = tmp_path / "telmon.db"
    victim.write_bytes(b"precious")
    for n, named in enumerate([str(victim), str(spool_dir / ".." / "telmon.db"), "", "relative.wav16"]):
        job = {"linkedid": "500.0", "uniqueid": f"500.{n}", "extension": "6831", "answering_audio": named,
               "started": 500.0 + n}
        (spool_dir / f"500.0-500.{n}.json").write_text(json.dumps(job), encoding="utf-8")
    spool = Spool(spool_dir, stale_seconds=0)
    assert spool.claim("500.0") == []                      # none claimed: each set aside as .bad
    assert len(list(spool_dir.glob("*.bad"))) == 4
    past = time.time() - 10
    for bad in spool_dir.glob("*.bad"):
        os.utime(bad, (past, past))
    spool.sweep()
    assert victim.read_bytes() == b"precious"


def test_stale_jobs_are_swept_with_their_recordings(tmp_path):
    spool = Spool(tmp_path, stale_seconds=3600)
    old = _job(tmp_path, "300.0", "300.1", "6831")
    fresh = _job(tmp_path, "400.0", "400.1", "6831")
    past = time.time() - 7200
    os.utime(tmp_path / "300.0-300.1.json", (past, past))
    assert spool.sweep() == 1
    assert not old.exists() and fresh.exists()


@pytest.mark.slow
def test_a_recording_is_read_only_once_closed(tmp_path):
    open_file = _wav(tmp_path / "a.wav16", 800, closed=False)
    assert not is_closed(open_file)
    began = time.monotonic()
    assert not wait_closed(open_file, 0.5)
    assert time.monotonic() - began >= 0.5

    def close_later() -> None:
        time.sleep(0.4)
        _wav(open_file, 1600, closed=True)
    threading.Thread(target=close_later).start()
    assert wait_closed(open_file, 5.0)
    assert not wait_closed(tmp_path / "missing.wav16", 0.2)


def crash_on(value: int, flag_dir: str) -> int:
    """A check that kills its process: always for -1, on the first try only for -2."""
    flag = Path(flag_dir) / f"crashed{value}"
    if value == -1 or (value == -2 and not flag.exists()):
        flag.touch()
        os._exit(9)
    if value == -3:
        raise ValueError("bad input")
    return value * 2


@pytest.mark.slow
def test_pool_replaces_a_dead_process_retries_once_then_fails_that_call_alone(tmp_path):
    pool = CheckPool(crash_on, processes=1, timeout=30)
    results: dict[int, object] = {}
    done = threading.Event()

    def collect(key: int):
        def cb(result, error):
            results[key] = error if error is not None else result
            if len(results) == 5:
                done.set()
        return cb
    try:
        for value in (1, -2, -1, -3, 4):
            pool.submit((value, str(tmp_path)), collect(value))
        assert done.wait(120), results
    finally:
        pool.close()
    assert results[1] == 2 and results[4] == 8
    assert results[-2] == -4                                   # died once, retried on a new process
    assert isinstance(results[-1], CheckFailed) and "twice" in str(results[-1])     # died twice: alone
    assert isinstance(results[-3], CheckFailed) and "bad input" in str(results[-3])  # its own error
    assert pool.replaced == 3

"""CEL recovery against the file the real Asterisk 22 writes while the calls happen (cel_custom loaded).

The kit's Asterisk runs with asterisk_conf/cel_custom.conf; five calls of different
ends are placed (tests/pbxlab/cel_capture.py); ``telmon backfill`` then reads the
Master.csv Asterisk is still writing. Skipped with the reason where the kit is absent.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pbxlab import kit
from pbxlab.cel_capture import overlay, place_calls
from pbxlab.lab import Lab
from monitor.storage.store import Store

if kit.skip_reason() and not kit.required():
    pytestmark = pytest.mark.skip(reason=kit.skip_reason() or "")


def test_backfill_from_the_cel_the_real_pbx_writes(tmp_path):
    conf = overlay(Path(tempfile.mkdtemp(prefix="tcel")))
    pbx = kit.Pbx(kit.kit_dir(), overlay=conf)
    pbx.start()
    try:
        lab = Lab(pbx, None, seed=1)

        async def run():
            try:
                return await place_calls(lab)
            finally:
                await lab.close()
        truth = asyncio.run(run())
        cel = pbx.root / "var" / "log" / "asterisk" / "cel-custom" / "Master.csv"
        db = f"sqlite:///{tmp_path / 'c.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")}
        proc = subprocess.run([sys.executable, "-m", "monitor", "backfill", "--cel", str(cel.parent), "--since", "1h",
                               "--database-url", db], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
    finally:
        pbx.stop()
    calls = sorted(Store.open(db).load_calls(), key=lambda c: c.record.start)
    assert [(c.record.caller, c.record.outcome) for c in calls] == [(t["caller"], t["outcome"]) for t in truth]
    assert all(c.record.source == "cel" for c in calls)
    abandoned = next(c for c in calls if c.record.caller == "01011110002")
    assert abandoned.verdicts["R8"].result == "pass"       # called back by 6832 in call 5

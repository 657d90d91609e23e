"""Every office feature live on the real Asterisk 22, with timings the captures never had.

Each scenario of ``tests/pbxlab/scenarios.py`` runs again with fresh timings
(seeded; the seed is in every failure message) while two AMI sessions listen: the
kit's unfiltered ``monitor`` account and telmon's own account exactly as
``asterisk_conf/manager.conf`` defines it, with its server-side event filters.
Both streams must agree with what the phones' clocks saw. Skipped with the reason
where the kit is absent (``TELMON_REQUIRE_PBX=1`` makes that a failure).
"""
from __future__ import annotations

import asyncio
import os
import random

import pytest

from conftest import replay_bytes
from pbxlab import kit
from pbxlab.ami import AmiRecorder
from pbxlab.capture import run_scenario
from pbxlab.check import check_capture
from pbxlab.lab import SOUNDS
from pbxlab.scenarios import SCENARIOS

SECRET = "telmon-lab-secret"

if kit.skip_reason() and not kit.required():
    pytestmark = pytest.mark.skip(reason=kit.skip_reason() or "")


@pytest.fixture(scope="module")
def pbx():
    found = kit.kit_dir()
    assert found is not None, kit.skip_reason()
    try:
        running = kit.Pbx(found, append={"manager.conf": kit.telmon_account(SECRET)}).start(SOUNDS)
    except kit.PbxError as exc:
        pytest.fail(str(exc))
    yield running
    running.stop()


SEED = int(os.environ.get("TELMON_LAB_SEED") or random.SystemRandom().randrange(1 << 30))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_feature_live_agrees_with_phones(pbx, name):
    seed = SEED + sorted(SCENARIOS).index(name)
    filtered = AmiRecorder(user="telmon", secret=SECRET)
    raw, truth = asyncio.run(run_scenario(pbx, name, vary=True, seed=seed, also=filtered))
    why = f"{name} with TELMON_LAB_SEED={SEED}"
    for label, data, skip_noise in (("unfiltered", raw, False), ("telmon's filters", bytes(filtered.raw), True)):
        got = replay_bytes(data, skip_noise=skip_noise)
        assert not got.malformed, f"{why} ({label})"
        assert got.tracker.counts["incomplete"] == 0, f"{why} ({label})"
        try:
            check_capture(got.records, truth)
        except AssertionError as exc:
            raise AssertionError(f"{why} ({label}): {exc}") from None

"""Office features captured on the real Asterisk 22 (tests/pbxlab): the tracker agrees with the phones.

Pickup, voicemail, park, IVR, forwarding, conferences, transfers into queues and
voicemail, call waiting, and callers hanging up in each. The captures were made by
``tests/pbxlab/capture.py``; ``test_pbx_live.py`` makes fresh ones with other timings.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import replay_bytes
from pbxlab.check import check_capture

PBX_TRACES = Path(__file__).resolve().parent / "data" / "pbx"
NAMES = sorted(p.name[:-len(".truth.json")] for p in PBX_TRACES.glob("*.truth.json"))


@pytest.mark.parametrize("name", NAMES)
def test_lab_capture_agrees_with_phones(name):
    truth = json.loads((PBX_TRACES / f"{name}.truth.json").read_text())
    got = replay_bytes((PBX_TRACES / f"{name}.ami").read_bytes())
    assert not got.malformed
    assert got.tracker.counts["unknown_channel"] == 0, list(got.tracker.anomalies)
    assert got.tracker.counts["incomplete"] == 0, "every call in a capture finishes"
    check_capture(got.records, truth)


@pytest.mark.parametrize("name", NAMES)
def test_lab_capture_split_anywhere_gives_same_records(name):
    data = (PBX_TRACES / f"{name}.ami").read_bytes()
    assert [r.__dict__ for r in replay_bytes(data, chunk=61).records] == \
        [r.__dict__ for r in replay_bytes(data).records]


def test_every_feature_has_a_capture():
    from pbxlab.scenarios import SCENARIOS
    assert sorted(SCENARIOS) == NAMES

"""Shared fixtures: the bundled real captures and a helper to replay one through the core."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from monitor.ami.codec import AmiDecoder, Malformed, Message
from monitor.core.record import CallRecord
from monitor.core.tracker import Tracker, TrackerOptions

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "monitor" / "data" / "traces"
SHARED = REPO.parent / "shared"
SCENARIOS = sorted(p.stem for p in TRACES.glob("*.ami"))


@dataclass
class Replayed:
    """What one recorded stream produced: the records and what was skipped."""

    records: list[CallRecord]
    tracker: Tracker
    malformed: list[Malformed] = field(default_factory=list)


def replay_bytes(data: bytes, chunk: int = 0, options: TrackerOptions = TrackerOptions(),
                 skip_noise: bool = False) -> Replayed:
    """Feed raw AMI bytes (optionally in small chunks) through codec and tracker.

    ``skip_noise`` decodes as ``telmon run`` does: only the events the tracker reads.
    """
    tracker = Tracker(options)
    decoder = AmiDecoder(wanted=tracker.wanted_events, wanted_when=tracker.wanted_when) if skip_noise else AmiDecoder()
    out = Replayed([], tracker)
    pieces = [data] if not chunk else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    items = []
    for piece in pieces:
        items.extend(decoder.feed(piece))
    items.extend(decoder.close())
    for item in items:
        if isinstance(item, Malformed):
            out.malformed.append(item)
        elif isinstance(item, Message) and item.event:
            out.records.extend(tracker.feed(item))
    out.records.extend(tracker.flush_all("end of recording"))
    return out


def load_truth(name: str) -> dict:
    """The ground truth written from the SIP phones' clocks for one capture."""
    return json.loads((TRACES / f"{name}.truth.json").read_text())


@pytest.fixture
def replay():
    """Replay a bundled capture by scenario name."""
    def _replay(name: str, **kw) -> Replayed:
        return replay_bytes((TRACES / f"{name}.ami").read_bytes(), **kw)
    return _replay

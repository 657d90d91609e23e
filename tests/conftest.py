"""Shared fixtures: the bundled real captures and a helper to replay one through the core.

Also the automatic markers (see ``pytest_collection_modifyitems``): a test parametrized on the
"postgresql" backend or using a PostgreSQL fixture is ``pg``, a module that drives the Asterisk kit
is ``pbx``, so new tests are marked without anyone remembering to; `make test-core` deselects them.
"""
from __future__ import annotations

import json
import types
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


@pytest.fixture(scope="session")
def vosk():
    """The Vosk engine on the installed Korean model, loaded once for the whole run (marks a test ``speech``)."""
    from monitor.speech.engine import Engine
    return Engine.load()


@pytest.fixture(scope="session")
def whisper():
    """The Whisper engine, assembled and loaded once for the whole run (marks a test ``speech``)."""
    from monitor.speech.whisper_engine import WhisperEngine
    return WhisperEngine.load()


@pytest.fixture
def replay():
    """Replay a bundled capture by scenario name."""
    def _replay(name: str, **kw) -> Replayed:
        return replay_bytes((TRACES / f"{name}.ami").read_bytes(), **kw)
    return _replay


# Fixtures that mean "this test needs that service" wherever they are used.
FIXTURE_MARKS = {"pg_url": "pg", "vosk": "speech", "whisper": "speech"}
# What a parameter value means: a test run on the PostgreSQL backend needs the server.
PARAM_MARKS = {"postgresql": "pg"}


def _uses_kit(module: types.ModuleType) -> bool:
    """Whether a test module imports the real Asterisk kit (tests/pbxlab/kit.py) or anything from it."""
    return any(getattr(v, "__name__", None) == "pbxlab.kit" or getattr(v, "__module__", None) == "pbxlab.kit"
               for v in vars(module).values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the service markers a test's parameters, fixtures or module imply."""
    for item in items:
        wanted = {FIXTURE_MARKS[f] for f in getattr(item, "fixturenames", ()) if f in FIXTURE_MARKS}
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            wanted |= {PARAM_MARKS[v] for v in callspec.params.values() if isinstance(v, str) and v in PARAM_MARKS}
        module = getattr(item, "module", None)
        if module is not None and _uses_kit(module):
            wanted.add("pbx")
        for name in sorted(wanted - {m.name for m in item.iter_markers()}):
            item.add_marker(name)

"""Call transcripts written out from Asterisk's behaviour, replayed as a live stream and compared.

Each ``tests/data/transcripts/NAME.ami`` is AMI wire text (a banner, then ``Key: Value`` frames
separated by a blank line: only the events the tracker reads, in the shape Asterisk 22 sends them)
and ``NAME.expected.json`` says what must come out: for each finished call, when it came out
(``"event N"``: on the Nth event frame; ``"tick T"``: when the pipeline was ticked at T) and the
fields of its ``--json`` object (``monitor/core/export.py``) that matter, verdicts included. They
cover what the bundled captures do not: Local channels that never optimize away, a queue caller who
gives up, a transfer target who never answers, calls that never end.

How expected values compare: a dict names only the keys it checks; a list must have the same length
and each item match; numbers agree to the millisecond the JSON is rounded to (``{"$near": x,
"within": d}`` allows more); ``{"$contains": "x"}`` is a substring test. Each transfer also carries
its target's offer as ``"target"`` (``offer_json``). The pipeline uses the bundled sample directory,
so a missed inbound call's R8 is ``pending`` and any other call's ``n/a``.

The helpers below (``ev``, ``newchan``, ``dial``, ``transcript``) build transcripts in Python for
tests that vary the order of events (tests/test_tracker_office.py).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.ami.codec import AmiDecoder, Message
from monitor.core.cadence import KOREA
from monitor.core.export import call_json, offer_json
from monitor.core.rules import Thresholds
from monitor.core.tracker import Tracker, TrackerOptions
from monitor.directory import load_directory
from monitor.pipeline import Finished, Pipeline

TRANSCRIPTS = Path(__file__).resolve().parent / "data" / "transcripts"
NAMES = sorted(p.stem for p in TRANSCRIPTS.glob("*.ami"))
SAMPLE = load_directory(Path(__file__).resolve().parent.parent / "monitor" / "data" / "directory.yaml")


def transcript(text: str, tracker: Tracker | None = None, flush: bool = False):
    """Feed a transcript of ``Key: Value`` blocks (blank-line separated) to a tracker."""
    tracker = tracker or Tracker()
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    data = ("\r\n\r\n".join("\r\n".join(line.strip() for line in b.splitlines()) for b in blocks) + "\r\n\r\n")
    decoder = AmiDecoder()
    records = []
    for item in decoder.feed(data.encode()):
        assert isinstance(item, Message)
        records.extend(tracker.feed(item))
    if flush:
        records.extend(tracker.flush_all("end of transcript"))
    return records, tracker


def ev(name: str, t: float, **headers: str) -> str:
    lines = [f"Event: {name}", f"Timestamp: {t:.6f}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return "\n".join(lines)


def newchan(t, name, uid, linked, state=0, cid="", exten="s"):
    return ev("Newchannel", t, Channel=name, ChannelState=str(state), CallerIDNum=cid, Exten=exten,
              Uniqueid=uid, Linkedid=linked)


def dial(name, t, src_uid, dest_uid, linked="1.0", **kw):
    return ev(name, t, Uniqueid=src_uid, Linkedid=linked, DestUniqueid=dest_uid, **kw)


def _frames(data: bytes) -> list[bytes]:
    """The stream cut after each frame's blank line (the banner line rides with the first frame)."""
    pieces, start = [], 0
    while (end := data.find(b"\n\n", start)) != -1:
        pieces.append(data[start:end + 2])
        start = end + 2
    assert not data[start:].strip(), "a transcript ends with a blank line after its last frame"
    return pieces


def _as_checked(finished: Finished) -> dict[str, Any]:
    """The call's ``--json`` object, each transfer with its target's offer."""
    out = call_json(finished.record, finished.verdicts, KOREA, finished.department)
    for shown, transfer in zip(out["transfers"], finished.record.transfers):
        shown["target"] = offer_json(transfer.target, KOREA) if transfer.target else None
    return out


def _agrees(expected: Any, got: Any, where: str) -> None:
    if isinstance(expected, dict) and set(expected) == {"$contains"}:
        assert isinstance(got, str) and expected["$contains"] in got, f"{where}: {got!r}"
    elif isinstance(expected, dict) and set(expected) == {"$near", "within"}:
        assert isinstance(got, (int, float)) and abs(got - expected["$near"]) <= expected["within"], \
            f"{where}: {got!r}, expected {expected['$near']!r} ± {expected['within']!r}"
    elif isinstance(expected, dict):
        assert isinstance(got, dict), f"{where}: {got!r}"
        for key, value in expected.items():
            assert key in got, f"{where}.{key}: missing"
            _agrees(value, got[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got!r}"
        for i, (e, g) in enumerate(zip(expected, got)):
            _agrees(e, g, f"{where}[{i}]")
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        assert isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - expected) <= 0.0005, \
            f"{where}: {got!r}, expected {expected!r}"
    else:
        assert got == expected, f"{where}: {got!r}, expected {expected!r}"


@pytest.mark.parametrize("name", NAMES)
def test_transcript_replayed_through_decoder_and_pipeline(name):
    expected = json.loads((TRANSCRIPTS / f"{name}.expected.json").read_text(encoding="utf-8"))
    pipeline = Pipeline(KOREA, Thresholds(), TrackerOptions(**expected.get("tracker", {})), SAMPLE.department_of)
    came: list[tuple[str, Finished]] = []
    frames = _frames((TRANSCRIPTS / f"{name}.ami").read_bytes())
    for n, frame in enumerate(frames, 1):           # fed one frame at a time, as a socket delivers them
        came.extend((f"event {n}", f) for f in pipeline.feed_bytes(frame, name))
    came.extend((f"event {len(frames)}", f) for f in pipeline.end_stream(name))
    assert pipeline.malformed_count == 0 and pipeline.tracker.counts["unknown_channel"] == 0
    for step in expected.get("then", []):
        came.extend((f"tick {step['tick']}", f) for f in pipeline.tick(now=step["tick"]))
    assert [when for when, _ in came] == [c["came_out"] for c in expected["calls"]], name
    for i, ((_, finished), want) in enumerate(zip(came, expected["calls"])):
        _agrees(want["call"], _as_checked(finished), f"{name} call {i}")
    if "live_calls_at_end" in expected:
        assert len(pipeline.tracker.live_calls()) == expected["live_calls_at_end"]


def test_every_transcript_has_its_expectations():
    assert len(NAMES) >= 8
    assert sorted(p.name.removesuffix(".expected.json") for p in TRANSCRIPTS.glob("*.expected.json")) == NAMES

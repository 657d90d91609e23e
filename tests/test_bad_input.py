"""Bad input never crashes the tracker, and what was skipped is reported."""
from __future__ import annotations

import random

import pytest

from conftest import TRACES, replay_bytes
from monitor.ami.codec import AmiDecoder, Message
from monitor.core.tracker import Tracker

GOOD = (TRACES / "a_inbound_1ring.ami").read_bytes()


def _frames(data: bytes) -> list[bytes]:
    head, _, body = data.partition(b"\r\n")
    return [f + b"\r\n\r\n" for f in body.split(b"\r\n\r\n") if f]


def test_unknown_event_is_ignored_and_counted():
    frames = _frames(GOOD)
    frames.insert(5, b"Event: SomethingFromAsterisk99\r\nTimestamp: 1795574606.9\r\nFoo: bar\r\n\r\n")
    got = replay_bytes(b"Asterisk Call Manager/11.0.0\r\n" + b"".join(frames))
    assert len(got.records) == 1 and got.records[0].outcome == "answered"
    assert got.tracker.counts["ignored"] > 0


def test_event_for_a_channel_never_seen_is_reported():
    stray = (b"Event: Hangup\r\nTimestamp: 1795574607.0\r\nChannel: PJSIP/6899-000000ff\r\n"
             b"Uniqueid: 999.9\r\nLinkedid: 999.9\r\nCause: 16\r\n\r\n")
    got = replay_bytes(GOOD.replace(b"Event: FullyBooted", stray + b"Event: FullyBooted", 1))
    assert got.tracker.counts["unknown_channel"] == 1
    (a,) = [a for a in got.tracker.anomalies if a.kind == "unknown_channel"]
    assert "999.9" in a.detail and "PJSIP/6899" in a.detail
    assert got.records[0].outcome == "answered"


def test_event_without_timestamp_is_reported_not_used():
    tracker = Tracker()
    assert tracker.feed({"Event": "Newchannel", "Channel": "PJSIP/1-1", "Uniqueid": "1", "Linkedid": "1"}) == []
    assert tracker.counts["no_timestamp"] == 1
    assert "timestampevents" in tracker.anomalies[0].detail
    assert tracker.live_calls() == []


def test_bad_field_values_are_reported():
    tracker = Tracker()
    tracker.feed({"Event": "Newchannel", "Timestamp": "1.0", "Channel": "PJSIP/pstn-1", "Uniqueid": "1",
                  "Linkedid": "1", "ChannelState": "four"})
    tracker.feed({"Event": "Newchannel", "Timestamp": "1.0", "Channel": "PJSIP/pstn-1"})  # no Uniqueid
    assert tracker.counts["bad_field"] == 2


def test_events_out_of_order_are_reported_and_still_used():
    frames = _frames(GOOD)
    # Move the callee's Ringing Newstate behind its Up: a reordering proxy or a slow thread.
    ring = next(i for i, f in enumerate(frames) if b"ChannelState: 5" in f and b"Event: Newstate" in f)
    up = next(i for i, f in enumerate(frames) if b"ChannelState: 6" in f and b"Event: Newstate" in f)
    frames.insert(up, frames.pop(ring))
    got = replay_bytes(b"Asterisk Call Manager/11.0.0\r\n" + b"".join(frames))
    assert got.tracker.counts["out_of_order"] >= 1
    (rec,) = got.records
    assert rec.outcome == "answered" and rec.answered_by == "6831"


def test_garbage_between_frames_loses_nothing_else():
    frames = _frames(GOOD)
    frames.insert(10, b"\x16\x03\x01garbage\r\nmore garbage\r\n\r\n")
    got = replay_bytes(b"Asterisk Call Manager/11.0.0\r\n" + b"".join(frames))
    assert len(got.malformed) == 1
    assert got.records[0].outcome == "answered"


@pytest.mark.slow
def test_shuffled_and_corrupted_streams_never_crash():
    rng = random.Random(7)
    data = (TRACES / "i_concurrent10.ami").read_bytes()
    frames = _frames(data)
    for _ in range(30):
        mutated = list(frames)
        for _ in range(20):
            i = rng.randrange(len(mutated))
            choice = rng.random()
            if choice < 0.3:
                del mutated[i]
            elif choice < 0.6:
                j = rng.randrange(len(mutated))
                mutated[i], mutated[j] = mutated[j], mutated[i]
            else:
                f = bytearray(mutated[i])
                f[rng.randrange(len(f) - 4)] = rng.randrange(256)
                mutated[i] = bytes(f)
        stream = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(mutated)
        got = replay_bytes(stream)
        # Every caller whose first channel the tracker could read is accounted for:
        # finished or flushed as incomplete, never dropped.
        origins = set()
        for m in AmiDecoder().feed(stream):
            if isinstance(m, Message) and m.event == "Newchannel" and m.get("Uniqueid") == m.get("Linkedid"):
                try:
                    float(m.get("Timestamp", "x")), int(m.get("ChannelState") or 0)
                except ValueError:
                    continue
                if m.get("Channel") and m.get("Uniqueid"):
                    origins.add(m["Uniqueid"])
        assert origins and origins <= {r.linkedid for r in got.records}
        assert got.tracker.live_calls() == []

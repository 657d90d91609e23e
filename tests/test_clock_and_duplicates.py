"""Clock sanity, duplicate events, adopted calls: the tracker's feed() and reconcile() on poisoned input."""
from __future__ import annotations

import math

from conftest import TRACES, replay_bytes
from monitor.core.export import call_json
from monitor.core.cadence import KOREA
from monitor.core.rules import Thresholds, judge_call
from monitor.core.tracker import Tracker


def _frames(name: str) -> tuple[bytes, list[bytes]]:
    data = (TRACES / f"{name}.ami").read_bytes()
    banner, _, rest = data.partition(b"\r\n")
    return banner + b"\r\n", [f + b"\r\n\r\n" for f in rest.split(b"\r\n\r\n") if f.strip()]


def _poison(frame: bytes, ts: bytes) -> bytes:
    head, _, tail = frame.partition(b"Timestamp: ")
    return head + b"Timestamp: " + ts + b"\r\n" + tail.partition(b"\r\n")[2]


def _records(data: bytes):
    got = replay_bytes(data)
    return sorted(str(call_json(r, judge_call(r, KOREA, Thresholds()), KOREA)) for r in got.records), got.tracker


def test_poisoned_timestamps_are_malformed_events_never_the_clock():
    banner, frames = _frames("d1_queue_30s")
    clean, _ = _records(banner + b"".join(frames))
    ts_frames = [i for i, f in enumerate(frames) if b"Event: Newstate" in f or b"Event: DialState" in f]
    poisoned = list(frames)
    for i, bad in zip(ts_frames[:4], (b"9795574606.000000", b"inf", b"nan", b"-1e300")):
        poisoned.insert(i + 1, _poison(frames[i], bad).replace(b"Uniqueid: ", b"Uniqueid: x"))
    got, tracker = _records(banner + b"".join(poisoned))
    assert got == clean
    assert tracker.counts["bad_timestamp"] == 4 and math.isfinite(tracker.clock) and tracker.clock < 1.8e9


def test_a_flipped_bit_on_a_real_event_cannot_move_the_clock_or_fail_r8():
    tracker = Tracker()
    before = tracker.clock
    tracker.feed({"Event": "Newchannel", "Timestamp": "1795574606.0", "Channel": "PJSIP/pstn-1", "Uniqueid": "9.1",
                  "Linkedid": "9.1"})
    tracker.feed({"Event": "Hangup", "Timestamp": "9795574606.0", "Channel": "PJSIP/pstn-1", "Uniqueid": "9.1"})
    tracker.feed({"Event": "Newstate", "Timestamp": "1795574607.0", "Channel": "PJSIP/pstn-1", "Uniqueid": "9.1",
                  "ChannelState": "4"})
    assert tracker.clock == 1795574607.0 and before == 0.0
    assert tracker.counts["bad_timestamp"] == 1 and tracker.live_calls()        # the Hangup was not believed
    assert tracker.expire() == []                                                   # nothing stale


def test_a_real_jump_is_confirmed_by_the_next_events_and_nothing_is_lost():
    # The first call after a quiet night: hours after the last event, all its events are applied.
    banner, first = _frames("a_inbound_1ring")
    _, second = _frames("b_inbound_4rings")
    shifted = [f.replace(b"Timestamp: 17955", b"Timestamp: 17956") for f in second]   # +100,000 s later
    got = replay_bytes(banner + b"".join(first + shifted))
    assert len(got.records) == 2 and got.tracker.counts["bad_timestamp"] == 0
    assert all(r.outcome != "incomplete" for r in got.records)


def test_a_trusted_wall_clock_vouches_for_a_jump_at_once():
    tracker = Tracker()
    tracker.feed({"Event": "Newchannel", "Timestamp": "1795574606.0", "Channel": "PJSIP/pstn-1", "Uniqueid": "1.1",
                  "Linkedid": "1.1"})
    done = tracker.feed({"Event": "Hangup", "Timestamp": "1795584606.0", "Channel": "PJSIP/pstn-1",
                         "Uniqueid": "1.1"}, wall=1795584606.5)
    assert len(done) == 1 and tracker.clock == 1795584606.0


def test_duplicated_transfer_events_add_no_second_transfer():
    banner, frames = _frames("e_blind_transfer")
    clean, _ = _records(banner + b"".join(frames))
    doubled = []
    for f in frames:
        doubled.append(f)
        if b"Event: BlindTransfer" in f or b"Event: AttendedTransfer" in f or b"Event: DialBegin" in f:
            doubled.append(f)
    got, tracker = _records(banner + b"".join(doubled))
    assert got == clean and tracker.counts["duplicate"] >= 2
    (rec,) = replay_bytes(banner + b"".join(doubled)).records
    assert len(rec.transfers) == 1 and judge_call(rec, KOREA, Thresholds())["R5"].result == "pass"
    banner, frames = _frames("f_attended_transfer")
    doubled = [g for f in frames for g in ([f, f] if b"Event: AttendedTransfer" in f else [f])]
    (rec,) = replay_bytes(banner + b"".join(doubled)).records
    assert len(rec.transfers) == 1 and judge_call(rec, KOREA, Thresholds())["R5"].result == "pass"


def test_adopted_calls_start_at_the_channels_age_never_1970():
    tracker = Tracker()
    listing = [{"Event": "CoreShowChannel", "Channel": "PJSIP/6831-00000001", "ChannelState": "6",
                "CallerIDNum": "6831", "Uniqueid": "1796139923.1", "Linkedid": "1796139923.0", "Duration": "00:01:04"},
               {"Event": "CoreShowChannel", "Channel": "PJSIP/pstn-00000000", "ChannelState": "6",
                "CallerIDNum": "01012345678", "Exten": "s", "Uniqueid": "1796139923.0", "Linkedid": "1796139923.0",
                "Duration": "00:01:05"}]
    assert tracker.clock == 0.0
    tracker.reconcile(listing, set(), "telmon started", now=1796139988.5)
    (call,) = tracker.live_calls()
    assert call.start == 1796139988.5 - 65 and call.origin.uniqueid == "1796139923.0" and call.partial
    assert tracker.expire(1796139990.0) == []            # not "no events for 1796139923 s"
    done = tracker.feed({"Event": "Hangup", "Timestamp": "1796139990.0", "Channel": "PJSIP/6831-00000001",
                         "Uniqueid": "1796139923.1"}, wall=1796139990.0)
    done += tracker.feed({"Event": "Hangup", "Timestamp": "1796139990.1", "Channel": "PJSIP/pstn-00000000",
                          "Uniqueid": "1796139923.0", "Cause": "16"}, wall=1796139990.1)
    (rec,) = done
    assert rec.outcome == "incomplete" and rec.start == 1796139923.5 and rec.end == 1796139990.1
    # Without any time to date them by, channels are not adopted (never a call dated 1970).
    fresh = Tracker()
    fresh.reconcile(listing, set(), "telmon started")
    assert fresh.live_calls() == []

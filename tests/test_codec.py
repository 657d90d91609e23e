"""The AMI codec against pyst2 (the named library) and against bad input."""
from __future__ import annotations

import pytest
from asterisk.manager import ManagerMsg

from conftest import SCENARIOS, TRACES, replay_bytes
from monitor.ami.codec import AmiDecoder, Banner, Malformed, Message, encode_action, encode_message


def _pyst2_headers(frame: bytes) -> dict[str, str]:
    lines = [line + "\r\n" for line in frame.decode("utf-8").split("\r\n")]
    return ManagerMsg(lines).headers


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_captured_frame_parses_like_pyst2(name):
    """pyst2's ManagerMsg is the reference; we differ only by keeping repeated headers."""
    data = (TRACES / f"{name}.ami").read_bytes()
    items = AmiDecoder().feed(data)
    assert isinstance(items[0], Banner) and items[0].text.startswith("Asterisk Call Manager/")
    messages = [i for i in items if isinstance(i, Message)]
    assert len(messages) > 20
    for msg in messages:
        end = data.index(b"\r\n\r\n", msg.offset)
        ref = _pyst2_headers(data[msg.offset:end])
        ours = dict(msg)
        if msg.repeated:
            # pyst2 keeps the last value of a repeated header; we keep them all.
            for key, values in msg.repeated.items():
                assert ref[key] == values[-1]
                ours[key] = values[-1]
        # pyst2 strips values; Asterisk pads nothing but an empty header ("AccountCode: ").
        assert {k: v.strip() for k, v in ours.items()} == ref


def test_repeated_headers_are_kept():
    frame = b"Event: UserEvent\r\nTimestamp: 1.0\r\nVariable: A=1\r\nVariable: B=2\r\nVariable: C=3\r\n\r\n"
    (msg,) = AmiDecoder().feed(b"Asterisk Call Manager/11.0.0\r\n" + frame)[1:]
    assert msg["Variable"] == "A=1"
    assert msg.get_all("Variable") == ["A=1", "B=2", "C=3"]


def test_garbage_frame_is_reported_with_offset_and_skipped():
    good = b"Event: Newstate\r\nTimestamp: 1.0\r\nUniqueid: 1.1\r\n\r\n"
    garbage = b"\x00\xffthis is not ami\r\nat all\r\n\r\n"
    data = b"Asterisk Call Manager/11.0.0\r\n" + good + garbage + good
    items = AmiDecoder().feed(data)
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Banner", "Message", "Malformed", "Message"]
    bad = items[2]
    assert bad.offset == data.index(b"\x00\xff")
    assert "not 'Key: Value'" in bad.reason


def test_truncated_stream_reports_the_tail():
    data = (TRACES / "a_inbound_1ring.ami").read_bytes()
    cut = data[: len(data) // 2]
    decoder = AmiDecoder()
    items = decoder.feed(cut)
    tail = decoder.close()
    assert len(tail) == 1 and isinstance(tail[0], Malformed)
    assert "truncated" in tail[0].reason and tail[0].offset > 0
    assert all(not isinstance(i, Malformed) for i in items)


def test_truncated_capture_leaves_the_call_for_the_flush():
    data = (TRACES / "a_inbound_1ring.ami").read_bytes()
    got = replay_bytes(data[: data.index(b"Event: Hangup")])
    (rec,) = got.records
    assert rec.outcome == "incomplete"


def test_wanted_filter_skips_noise_without_losing_calls():
    data = (TRACES / "i_concurrent10.ami").read_bytes()
    from monitor.core.tracker import Tracker
    wanted = Tracker().wanted_events
    decoder = AmiDecoder(wanted=wanted)
    items = decoder.feed(data)
    events = {i.event for i in items if isinstance(i, Message) and i.event}
    assert events <= set(wanted)
    assert decoder.skipped_noise > 0.7 * decoder.frames


def test_bare_lf_recording_is_read():
    data = (TRACES / "g_hold.ami").read_bytes().replace(b"\r\n", b"\n")
    items = AmiDecoder().feed(data)
    assert not [i for i in items if isinstance(i, Malformed)]
    assert len([i for i in items if isinstance(i, Message)]) > 50


def test_oversized_frame_is_dropped():
    decoder = AmiDecoder(max_frame=1000)
    items = decoder.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: X\r\n" + b"A: " + b"x" * 5000)
    assert isinstance(items[-1], Malformed) and "longer" in items[-1].reason
    assert decoder.pending_bytes == 0


def test_encoders_round_trip():
    assert encode_action("Login", {"Username": "u", "Secret": "s"}) == \
        b"Action: Login\r\nUsername: u\r\nSecret: s\r\n\r\n"
    with pytest.raises(ValueError):
        encode_action("Login", {"Username": "u\r\nAction: Originate"})
    frame = encode_message({"Event": "Hangup", "Cause": "16"})
    (msg,) = AmiDecoder().feed(b"Asterisk Call Manager/1.0\r\n" + frame)[1:]
    assert dict(msg) == {"Event": "Hangup", "Cause": "16"}

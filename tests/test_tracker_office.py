"""Office features in event orders the lab captures may not show, written out as transcripts.

The real captures (``test_pbx_captures.py``) fix what Asterisk 22 sends; these
transcripts vary the order of events Asterisk does not order (a pickup's
``DialEnd`` before or after ``Pickup``, ``ParkedCall`` before or after
``BlindTransfer``, hangups of other channels during music on hold) and cover
voicemail seen only through ``MessageWaiting`` (``Newexten`` filtered out).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import replay_bytes

from monitor.ami.codec import AmiDecoder, Message
from monitor.core.cadence import KOREA
from monitor.core.rules import Thresholds, judge_call, missed_inbound
from monitor.core.tracker import Tracker
from monitor.core.liveview import wait_start
from test_tracker_transcripts import dial, ev, newchan, transcript


def _ringing_call(t0: float = 10.0) -> list[str]:
    return [
        newchan(t0, "PJSIP/pstn-00000001", "1.0", "1.0", 4, "01011112222", "6831"),
        newchan(t0 + 0.01, "PJSIP/6831-00000002", "1.1", "1.0", 0, "6831"),
        dial("DialBegin", t0 + 0.02, "1.0", "1.1", DialString="PJSIP/6831"),
        ev("Newstate", t0 + 0.03, Uniqueid="1.1", ChannelState="5"),
    ]


@pytest.mark.parametrize("dialend_first", [True, False])
def test_pickup_is_an_answer_by_the_colleague_whatever_the_order(dialend_first):
    pickup = [
        newchan(17.0, "PJSIP/6832-00000003", "2.0", "2.0", 4, "6832", "*8"),
        ev("Newstate", 17.001, Uniqueid="2.0", ChannelState="6"),
    ]
    answer = [dial("DialEnd", 17.002, "1.0", "2.0", DialStatus="ANSWER"),
              ev("Newstate", 17.002, Uniqueid="1.0", ChannelState="6")]
    picked = [ev("Pickup", 17.003, Uniqueid="2.0", TargetUniqueid="1.1")]
    order = answer + picked if dialend_first else picked + answer
    records, _ = transcript("\n\n".join(_ringing_call() + pickup + order + [
        ev("Hangup", 17.004, Uniqueid="1.1", Cause="26"),
        ev("Hangup", 30.0, Uniqueid="1.0", Cause="16"),
        ev("Hangup", 30.001, Uniqueid="2.0", Cause="16"),
    ]))
    (rec,) = records
    assert (rec.outcome, rec.answered_by, rec.answered_at) == ("answered", "6832", 17.003)
    assert [(o.extension, o.answered, o.status) for o in rec.offers] == [
        ("6831", False, "PICKEDUP"), ("6832", True, "PICKUP")]
    assert rec.offers[0].ring_seconds == pytest.approx(6.973)
    v = judge_call(rec, KOREA, Thresholds())
    assert (v["R1"].result, v["R1"].value) == ("fail", 3)   # picked up at the 3rd ring: late
    assert not missed_inbound(rec)


def _answered_then(t: float, *events: str) -> str:
    return "\n\n".join(_ringing_call() + [
        ev("Newstate", 12.0, Uniqueid="1.1", ChannelState="6"),
        dial("DialEnd", 12.001, "1.0", "1.1", DialStatus="ANSWER"),
        ev("Newstate", 12.002, Uniqueid="1.0", ChannelState="6"),
    ] + list(events))


@pytest.mark.parametrize("parked_first", [True, False])
def test_park_then_retrieved_by_a_colleague(parked_first):
    blind = ev("BlindTransfer", 15.0, TransfererUniqueid="1.1", TransfereeUniqueid="1.0", Extension="700",
               Result="Success")
    parked = ev("ParkedCall", 15.0, ParkeeUniqueid="1.0", ParkingSpace="701", ParkerDialString="PJSIP/6831")
    text = _answered_then(12.0, *([parked, blind] if parked_first else [blind, parked]),
                          ev("MusicOnHoldStart", 15.001, Uniqueid="1.0"),
                          ev("Hangup", 15.6, Uniqueid="1.1", Cause="16"),
                          newchan(55.0, "PJSIP/6832-00000004", "3.0", "3.0", 4, "6832", "701"),
                          ev("Newstate", 55.001, Uniqueid="3.0", ChannelState="6"),
                          ev("MusicOnHoldStop", 55.002, Uniqueid="1.0"),
                          ev("UnParkedCall", 55.003, ParkeeUniqueid="1.0", RetrieverUniqueid="3.0", ParkingSpace="701"),
                          ev("Hangup", 70.0, Uniqueid="1.0", Cause="16"),
                          ev("Hangup", 70.001, Uniqueid="3.0", Cause="16"))
    (rec,) = transcript(text)[0]
    assert [(t.kind, t.by, t.to, t.answered) for t in rec.transfers] == [("park", "6831", "700", True)]
    assert rec.transfers[0].target.extension == "6832"
    assert rec.holds == []                                   # the music was the park, not a hold
    assert [(w.kind, round(w.seconds, 3)) for w in rec.waits] == [("ringing", 2.0), ("park", 40.003)]
    v = judge_call(rec, KOREA, Thresholds())
    assert v["R5"].result == "pass"


def test_hold_music_ends_with_the_callers_music_not_another_hangup():
    # The caller on hold (music without a Hold event, e.g. Hold filtered out) while a
    # consultation leg hangs up: the hold lasts until the caller's music stops.
    text = _answered_then(12.0,
                          ev("MusicOnHoldStart", 20.0, Uniqueid="1.0"),
                          newchan(21.0, "PJSIP/6841-00000005", "1.2", "1.0", 0, "6841"),
                          ev("Hangup", 22.0, Uniqueid="1.2", Cause="16"),
                          ev("MusicOnHoldStop", 60.0, Uniqueid="1.0"),
                          ev("Hangup", 70.0, Uniqueid="1.0", Cause="16"),
                          ev("Hangup", 70.001, Uniqueid="1.1", Cause="16"))
    (rec,) = transcript(text)[0]
    assert [(h.by, h.start, h.seconds) for h in rec.holds] == [("6831", 20.0, 40.0)]


def test_voicemail_seen_only_through_message_waiting():
    text = "\n\n".join(_ringing_call() + [
        dial("DialEnd", 30.0, "1.0", "1.1", DialStatus="NOANSWER"),
        ev("Newstate", 30.001, Uniqueid="1.0", ChannelState="6"),
        ev("Hangup", 30.002, Uniqueid="1.1", Cause="0"),
        ev("MessageWaiting", 41.0, Uniqueid="1.0", Mailbox="6831@default", Waiting="1"),
        ev("Hangup", 41.1, Uniqueid="1.0", Cause="16"),
    ])
    (rec,) = transcript(text)[0]
    assert rec.outcome == "voicemail" and missed_inbound(rec)
    assert [(w.kind, round(w.seconds, 3)) for w in rec.waits] == [("ringing", 20.001)]


def test_message_waiting_for_no_call_of_ours_is_ignored():
    records, tracker = transcript(ev("MessageWaiting", 5.0, Uniqueid="9.9", Mailbox="6831@default"))
    assert records == [] and tracker.counts["unknown_channel"] == 0


def test_newexten_other_than_voicemail_costs_nothing():
    _, tracker = transcript("\n\n".join(_ringing_call() + [
        ev("Newexten", 10.5, Uniqueid="1.0", Application="Dial", AppData="PJSIP/6831")]))
    (call,) = tracker.live_calls()
    assert call.voicemail_at is None


LAB = Path(__file__).resolve().parent / "data" / "pbx"


def _live_until(name: str, stop_event: str) -> Tracker:
    """Feed a lab capture until just before ``stop_event``: the calls then in progress."""
    tracker = Tracker()
    for item in AmiDecoder().feed((LAB / f"{name}.ami").read_bytes()):
        if isinstance(item, Message) and item.event:
            if item.event == stop_event:
                break
            tracker.feed(item)
    return tracker


@pytest.mark.parametrize("name, stop_event, kind", [
    ("l_park_colleague", "UnParkedCall", "park"),
    ("l_ivr_abandon", "HangupRequest", "ivr"),
    ("l_ivr_queue", "AgentCalled", "queue"),
])
def test_live_wait_starts_where_r4_starts_it(name, stop_event, kind):
    """/metrics counts a caller as waiting from where the finished record's R4 stretch starts."""
    (call,) = [c for c in _live_until(name, stop_event).live_calls() if c.origin.trunk]
    (record,) = replay_bytes((LAB / f"{name}.ami").read_bytes()).records
    stretch = next(w for w in record.waits if w.kind == kind)
    assert wait_start(call) == pytest.approx(stretch.start, abs=1e-6)

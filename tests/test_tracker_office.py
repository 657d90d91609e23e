"""Office features: events that are not a call's, and the live wait where R4 starts it.

The real captures (``test_pbx_captures.py``) fix what Asterisk 22 sends; the calls in event
orders they may not show (a pickup's ``DialEnd`` before or after ``Pickup``, ``ParkedCall``
before or after ``BlindTransfer``, hangups of other channels during music on hold, voicemail
seen only through ``MessageWaiting``) are transcripts in ``tests/data/transcripts/``
(``pickup_*``, ``park_*``, ``hold_music_*``, ``voicemail_*``; tests/test_tracker_transcripts.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import replay_bytes

from monitor.ami.codec import AmiDecoder, Message
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

"""Call transcripts written out by hand from Asterisk's behaviour, then assertions.

Each test is an AMI transcript (only the events the tracker reads, in the shape
Asterisk 22 sends them) followed by what the record must say. They cover what
the bundled captures do not: Local channels that never optimize away, a queue
caller who gives up, a transfer target who never answers, calls that never end.
"""
from __future__ import annotations

from monitor.ami.codec import AmiDecoder, Message
from monitor.core.cadence import KOREA
from monitor.core.rules import Thresholds, judge_call
from monitor.core.tracker import Tracker, TrackerOptions


def transcript(text: str, tracker: Tracker | None = None, flush: bool = False):
    """Feed a transcript of ``Key: Value`` blocks (blank-line separated) to a tracker."""
    tracker = tracker or Tracker()
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    data = ("\r\n\r\n".join("\r\n".join(l.strip() for l in b.splitlines()) for b in blocks) + "\r\n\r\n")
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


def test_queue_with_local_members_that_never_optimize_then_blind_transfer():
    # Silent phones: the Local pair stays in the path, so the transfer names Local;2.
    records, tracker = transcript("\n\n".join([
        newchan(100.0, "PJSIP/pstn-00000001", "1.0", "1.0", 4, "01012345678", "6801"),
        ev("Newstate", 100.001, Uniqueid="1.0", ChannelState="6"),
        ev("QueueCallerJoin", 100.004, Uniqueid="1.0", Queue="support"),
        ev("MusicOnHoldStart", 100.005, Uniqueid="1.0"),
        newchan(100.006, "Local/6842@queue-agent-00000001;1", "1.1", "1.0", 0, "", "6842"),
        newchan(100.006, "Local/6842@queue-agent-00000001;2", "1.2", "1.0", 4, "", "6842"),
        dial("DialBegin", 100.007, "1.0", "1.1", DialString="Local/6842@queue-agent"),
        newchan(100.008, "PJSIP/6842-00000002", "1.3", "1.0", 0, "6842"),
        dial("DialBegin", 100.009, "1.2", "1.3", DialString="6842"),
        ev("Newstate", 100.012, Uniqueid="1.3", ChannelState="5"),
        ev("Newstate", 104.000, Uniqueid="1.3", ChannelState="6"),
        dial("DialEnd", 104.001, "1.2", "1.3", DialStatus="ANSWER"),
        dial("DialEnd", 104.002, "1.0", "1.1", DialStatus="ANSWER"),
        ev("MusicOnHoldStop", 104.003, Uniqueid="1.0"),
        ev("QueueCallerLeave", 104.004, Uniqueid="1.0", Queue="support"),
        ev("BlindTransfer", 110.0, Result="Success", TransfererUniqueid="1.3",
           TransfereeUniqueid="1.2", Extension="6845"),
        ev("Hangup", 110.001, Uniqueid="1.3", Cause="16"),
        newchan(110.002, "PJSIP/6845-00000003", "1.4", "1.0", 0, "6845"),
        dial("DialBegin", 110.003, "1.2", "1.4", DialString="6845"),
        ev("Newstate", 110.005, Uniqueid="1.4", ChannelState="5"),
        ev("Newstate", 119.5, Uniqueid="1.4", ChannelState="6"),
        dial("DialEnd", 119.501, "1.2", "1.4", DialStatus="ANSWER"),
        ev("Hangup", 130.0, Uniqueid="1.0", Cause="16"),
        ev("Hangup", 130.001, Uniqueid="1.1", Cause="16"),
        ev("Hangup", 130.002, Uniqueid="1.2", Cause="16"),
    ]))
    assert records == []  # 6845 still up: the call is not over
    records, _ = transcript(ev("Hangup", 130.003, Uniqueid="1.4", Cause="16"), tracker)
    (rec,) = records
    assert rec.outcome == "answered" and rec.answered_by == "6842"
    assert rec.queue == "support" and abs(rec.queue_wait_seconds - 4.0) < 0.01
    (t,) = rec.transfers
    assert (t.kind, t.by, t.to, t.answered) == ("blind", "6842", "6845", True)
    assert KOREA.rings(t.target.ring_seconds) == 4           # 9.5 s of ringing
    verdicts = judge_call(rec, KOREA, Thresholds())
    assert verdicts["R1"].result == "fail"                    # the transfer target let it ring 4 times
    assert verdicts["R5"].result == "pass"
    assert [w.kind for w in rec.waits] == ["queue", "transfer"]


def test_queue_caller_gives_up():
    records, _ = transcript("\n\n".join([
        newchan(10.0, "PJSIP/pstn-00000001", "2.0", "2.0", 4, "0311112222", "6800"),
        ev("Newstate", 10.1, Uniqueid="2.0", ChannelState="6"),
        ev("QueueCallerJoin", 10.2, Uniqueid="2.0", Queue="main"),
        newchan(10.3, "PJSIP/6834-00000002", "2.1", "2.0"),
        dial("DialBegin", 10.3, "2.0", "2.1", "2.0", DialString="PJSIP/6834"),
        ev("Newstate", 10.4, Uniqueid="2.1", ChannelState="5"),
        ev("QueueCallerAbandon", 250.2, Uniqueid="2.0", Queue="main"),
        dial("DialEnd", 250.3, "2.0", "2.1", "2.0", DialStatus="CANCEL"),
        ev("Hangup", 250.4, Uniqueid="2.1", Cause="26"),
        ev("Hangup", 250.5, Uniqueid="2.0", Cause="16"),
    ]))
    (rec,) = records
    assert rec.outcome == "abandoned" and rec.answered_by is None
    assert abs(rec.queue_wait_seconds - 240.0) < 0.01
    v = judge_call(rec, KOREA, Thresholds())
    # The caller waited from arriving (10.0), not from joining the queue: an IVR or the
    # Answer() before Queue() is waiting for a person too.
    assert v["R4"].result == "fail" and v["R4"].value == 240.2
    assert v["R1"].result == "fail"          # 6834 rang 80 rings while the caller waited


def test_blind_transfer_target_never_answers_caller_lost():
    records, _ = transcript("\n\n".join([
        newchan(0.0, "PJSIP/pstn-00000001", "3.0", "3.0", 4, "01055550001", "6831"),
        newchan(0.01, "PJSIP/6831-00000002", "3.1", "3.0"),
        dial("DialBegin", 0.02, "3.0", "3.1", "3.0", DialString="6831"),
        ev("Newstate", 0.03, Uniqueid="3.1", ChannelState="5"),
        ev("Newstate", 2.0, Uniqueid="3.1", ChannelState="6"),
        dial("DialEnd", 2.01, "3.0", "3.1", "3.0", DialStatus="ANSWER"),
        ev("BlindTransfer", 10.0, Result="Success", TransfererUniqueid="3.1", TransfereeUniqueid="3.0",
           Extension="6841"),
        ev("Hangup", 10.01, Uniqueid="3.1", Cause="16"),
        newchan(10.02, "PJSIP/6841-00000003", "3.2", "3.0"),
        dial("DialBegin", 10.03, "3.0", "3.2", "3.0", DialString="6841"),
        ev("Newstate", 10.05, Uniqueid="3.2", ChannelState="5"),
        dial("DialEnd", 40.0, "3.0", "3.2", "3.0", DialStatus="CANCEL"),
        ev("Hangup", 40.01, Uniqueid="3.2", Cause="127"),
        ev("Hangup", 40.02, Uniqueid="3.0", Cause="16"),
    ]))
    (rec,) = records
    assert rec.outcome == "answered"              # a person did answer first
    v = judge_call(rec, KOREA, Thresholds())
    assert v["R5"].result == "fail" and "lost" in v["R5"].detail
    assert v["R1"].result == "fail"               # the target rang 10 rings unanswered
    assert [w.kind for w in rec.waits][-1] == "transfer"


def test_call_that_never_ends_is_flushed_incomplete_and_not_judged():
    tracker = Tracker(TrackerOptions(stale_after=3600))
    transcript("\n\n".join([
        newchan(0.0, "PJSIP/pstn-00000001", "4.0", "4.0", 4, "01012345678", "6831"),
        newchan(0.01, "PJSIP/6831-00000002", "4.1", "4.0"),
        dial("DialBegin", 0.02, "4.0", "4.1", "4.0", DialString="6831"),
        ev("Newstate", 0.03, Uniqueid="4.1", ChannelState="5"),
    ]), tracker)
    assert tracker.expire(now=3000.0) == []
    (rec,) = tracker.expire(now=3601.0)
    assert rec.outcome == "incomplete" and "no events" in rec.incomplete_reason
    v = judge_call(rec, KOREA, Thresholds())
    assert {x.result for x in v.values()} == {"n/a"}
    assert tracker.live_calls() == []


def test_shutdown_flushes_live_calls_as_incomplete():
    records, tracker = transcript("\n\n".join([
        newchan(0.0, "PJSIP/pstn-00000001", "5.0", "5.0", 4, "01012345678", "6831"),
        "Event: Shutdown\nShutdown: Uncleanly\nRestart: True",
    ]))
    (rec,) = records
    assert rec.outcome == "incomplete" and "shut down" in rec.incomplete_reason


def test_caller_hangs_up_in_announcement_is_abandoned_but_a_dialplan_hangup_is_not():
    def call(uid, request):
        events = [newchan(0.0, "PJSIP/pstn-00000001", uid, uid, 4, "01012345678", "6800"),
                  ev("Newstate", 0.1, Uniqueid=uid, ChannelState="6")]
        if request:
            events.append(ev("HangupRequest", 9.0, Uniqueid=uid, Cause="16"))
        events.append(ev("Hangup", 9.1, Uniqueid=uid, Cause="16"))
        (rec,) = transcript("\n\n".join(events))[0]
        return rec.outcome
    assert call("6.0", request=True) == "abandoned"
    assert call("7.0", request=False) == "no_answer"


def test_dtmf_attended_transfer_inside_one_linkedid_marks_the_target_leg():
    # features.conf atxfer: the consultation leg is a Local channel with the caller's Linkedid.
    records, _ = transcript("\n\n".join([
        newchan(0.0, "PJSIP/pstn-00000001", "8.0", "8.0", 4, "01012345678", "6831"),
        newchan(0.01, "PJSIP/6831-00000002", "8.1", "8.0"),
        dial("DialBegin", 0.02, "8.0", "8.1", "8.0", DialString="6831"),
        ev("Newstate", 0.03, Uniqueid="8.1", ChannelState="5"),
        ev("Newstate", 3.0, Uniqueid="8.1", ChannelState="6"),
        dial("DialEnd", 3.01, "8.0", "8.1", "8.0", DialStatus="ANSWER"),
        ev("Hold", 10.0, Uniqueid="8.1"),
        newchan(10.1, "Local/6841@internal-00000001;1", "8.2", "8.0", 0, "", "6841"),
        newchan(10.1, "Local/6841@internal-00000001;2", "8.3", "8.0", 4, "", "6841"),
        newchan(10.2, "PJSIP/6841-00000003", "8.4", "8.0"),
        dial("DialBegin", 10.2, "8.3", "8.4", "8.0", DialString="6841"),
        ev("Newstate", 10.3, Uniqueid="8.4", ChannelState="5"),
        ev("Newstate", 12.3, Uniqueid="8.4", ChannelState="6"),
        dial("DialEnd", 12.31, "8.3", "8.4", "8.0", DialStatus="ANSWER"),
        ev("AttendedTransfer", 20.0, Result="Success", OrigTransfererUniqueid="8.1",
           SecondTransfererUniqueid="8.2", TransferTargetUniqueid="8.4", TransfereeUniqueid="8.0",
           DestType="Bridge"),
        ev("Unhold", 20.0, Uniqueid="8.1"),
        ev("Hangup", 20.1, Uniqueid="8.1", Cause="16"),
        ev("Hangup", 20.1, Uniqueid="8.2", Cause="16"),
        ev("Hangup", 20.1, Uniqueid="8.3", Cause="16"),
        ev("Hangup", 30.0, Uniqueid="8.0", Cause="16"),
        ev("Hangup", 30.0, Uniqueid="8.4", Cause="16"),
    ]))
    (rec,) = records
    assert rec.answered_by == "6831"
    (t,) = rec.transfers
    assert (t.kind, t.by, t.to, t.answered) == ("attended", "6831", "6841", True)
    assert t.target.leg == "transfer" and abs(t.target.ring_seconds - 2.0) < 0.01
    assert [(h.by, round(h.seconds, 1)) for h in rec.holds] == [("6831", 10.0)]

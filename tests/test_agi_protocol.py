"""The AGI protocol parser and session on byte strings: what Asterisk sends, and what it never would."""
from __future__ import annotations

import io

import pytest

from monitor.live.agi_protocol import (MAX_LINE, MAX_LINES, AgiCommandError, AgiHangup, AgiMalformed, AgiSession,
                                       BoundedLines, Reply, parse_environment, parse_reply, quote, read_environment)

ENV = (b"agi_network: yes\nagi_network_script: answered?x=1\nagi_request: agi://127.0.0.1/answered\n"
       b"agi_channel: PJSIP/6831-00000001\nagi_uniqueid: 1795574606.1\nagi_callerid: 01012345678\n"
       b"agi_calleridname: \xea\xb9\x80 \xff\nagi_arg_1: 6831\nagi_arg_2: 1795574606.0\n\n")


def _reader(data: bytes) -> BoundedLines:
    return BoundedLines(io.BytesIO(data).readline, deadline=float("inf"))


def test_environment_block_is_a_dict_and_stops_at_the_blank_line():
    readline = _reader(ENV + b"200 result=1\n")
    env = parse_environment(read_environment(readline))
    assert env["agi_channel"] == "PJSIP/6831-00000001" and env["agi_uniqueid"] == "1795574606.1"
    assert env["agi_request"] == "agi://127.0.0.1/answered"      # a colon inside the value is kept
    assert env["agi_calleridname"] == "김 \ufffd"                 # a byte that is not UTF-8 is not fatal
    assert readline() == b"200 result=1\n"                        # the replies were not read ahead


@pytest.mark.parametrize("block, why", [
    (b"agi_network: yes\nthis is not a header\nagi_channel: PJSIP/1-1\n", "unexpected header line 'this is"),
    (b"Action: Login\nagi_channel: PJSIP/1-1\nagi_uniqueid: 1.1\n", "unexpected header line 'Action: Login'"),
    (b"agi_channel: PJSIP/1-1\nagi_uni que: x\nagi_uniqueid: 1.1\n", "unexpected header line"),
    (b"agi_channel: PJSIP/1-1\n", "agi_uniqueid missing"),
    (b"agi_network: yes\n", "agi_channel/agi_uniqueid missing"),
    (b"agi_channel: \nagi_uniqueid: 1.1\n", "agi_channel missing"),
])
def test_malformed_environments_are_refused_with_the_reason(block, why):
    with pytest.raises(AgiMalformed, match=why.replace("(", r"\(")):
        parse_environment(read_environment(_reader(block + b"\n")))


def test_an_environment_cut_off_before_its_blank_line_is_malformed():
    with pytest.raises(AgiMalformed, match="closed inside the environment"):
        read_environment(_reader(b"agi_channel: PJSIP/1-1\nagi_uniqueid: 1.1\n"))


def test_a_line_longer_than_the_limit_is_cut_off_unread():
    source = io.BytesIO(b"agi_channel: " + b"X" * (2 * MAX_LINE) + b"\n\n")
    with pytest.raises(AgiMalformed, match=f"longer than {MAX_LINE} bytes"):
        read_environment(BoundedLines(source.readline, float("inf")))
    assert source.tell() == MAX_LINE + 1              # never more than one line's limit buffered


def test_too_many_lines_and_a_session_past_its_deadline_are_malformed():
    with pytest.raises(AgiMalformed, match=f"more than {MAX_LINES} lines"):
        read_environment(_reader(b"agi_x: 1\n" * (MAX_LINES + 1) + b"\n"))
    now = [0.0]
    readline = BoundedLines(io.BytesIO(b"agi_channel: a\n" * 3).readline, deadline=15.0, seconds=15.0,
                            clock=lambda: now[0])
    assert readline()
    now[0] = 15.5
    with pytest.raises(AgiMalformed, match="longer than 15 s"):
        readline()


@pytest.mark.parametrize("line, reply", [
    (b"200 result=1\n", Reply(1)), (b"200 result=0 endpos=1234\n", Reply(0)),
    (b"200 result=1 (some value)\n", Reply(1, "some value")), (b"200 result=-2\n", Reply(-2)),
])
def test_success_replies(line, reply):
    assert parse_reply(line) == reply


@pytest.mark.parametrize("line, error, why", [
    (b"HANGUP\n", AgiHangup, "hung up"), (b"", AgiHangup, "connection closed"),
    (b"200 result=1 (hangup)\n", AgiHangup, "hung up"), (b"200 result=-1\n", AgiCommandError, "result=-1"),
    (b"510 Invalid or unknown command\n", AgiCommandError, "unknown command"),
    (b"520 Invalid command syntax.\n", AgiCommandError, "refused"),
    (b"201 result=1\n", AgiCommandError, "unexpected reply"), (b"200 result=abc\n", AgiCommandError, "unexpected"),
    (b"garbage\n", AgiCommandError, "unexpected reply 'garbage'"),
])
def test_failure_replies(line, error, why):
    with pytest.raises(error, match=why):
        parse_reply(line)


def _session(replies: bytes) -> tuple[AgiSession, list[bytes]]:
    sent: list[bytes] = []
    return AgiSession.open(_reader(ENV + replies), sent.append), sent


def test_session_sends_commands_and_reads_one_reply_each():
    agi, sent = _session(b"200 result=1\n200 result=1\n200 result=0\n")
    assert agi.script == "answered" and agi.env["agi_arg_1"] == "6831"
    agi.set_variable("TELMON_PERSON", '김"민\\수\r\nSET VARIABLE X "1"')
    agi.verbose("telmon: tagged", 2)
    assert agi.exec_app("MixMonitor", ",r(/spool/1.0-1.1-answering.wav16)") == 0
    assert sent == [b'SET VARIABLE "TELMON_PERSON" "\xea\xb9\x80 \xeb\xaf\xbc \xec\x88\x98  SET VARIABLE X  1 "\n',
                    b'VERBOSE "telmon: tagged" 2\n',
                    b'EXEC MixMonitor ",r(/spool/1.0-1.1-answering.wav16)"\n']


def test_session_errors_and_a_usage_text_read_to_its_end():
    agi, sent = _session(b"520-Invalid command syntax.  Proper usage follows:\nUsage: VERBOSE\n"
                         b"520 End of proper usage.\n200 result=-2\n200 result=1\nHANGUP\n")
    with pytest.raises(AgiCommandError, match="usage text"):
        agi.verbose("x")
    with pytest.raises(AgiCommandError, match="application MixMonitor not found"):
        agi.exec_app("MixMonitor", "")
    agi.set_variable("A", "1")                        # the session stayed in step after the usage text
    with pytest.raises(AgiHangup):
        agi.set_variable("B", "2")
    with pytest.raises(ValueError):
        agi.exec_app("Mix Monitor\nHANGUP", "")
    with pytest.raises(ValueError):
        agi.command("NOOP\nHANGUP")
    assert len(sent) == 4


def test_quote_never_ends_the_argument_early():
    assert quote('a"b\\c\nd') == '"a b c d"'

"""The FastAGI service against a fake Asterisk client on loopback (real sockets, real threads)."""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO
from monitor.directory import load_directory
from monitor.live.fastagi import AgiServer
from monitor.live.greeting_hook import extension_of_channel, greeting_handlers

DIRECTORY = load_directory(REPO / "monitor" / "data" / "directory.yaml")


def env_block(uniqueid: str = "1795574606.1", ext: str = "6831", linkedid: str = "1795574606.0") -> bytes:
    lines = [
        "agi_network: yes", "agi_network_script: answered", "agi_request: agi://127.0.0.1/answered",
        "agi_channel: PJSIP/6831-00000001", "agi_language: en", "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}", "agi_version: 22.10.1", "agi_callerid: 6831",
        "agi_context: telmon-answered", "agi_extension: s", "agi_priority: 2",
        f"agi_arg_1: {ext}", f"agi_arg_2: {linkedid}",
    ]
    return ("\n".join(lines) + "\n\n").encode()


class FakeAsterisk:
    """Plays Asterisk's side of one FastAGI session: the environment, then a reply per command."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        self.commands: list[str] = []

    def session(self, env: bytes, reply: str = "200 result=1", hangup_after: int | None = None) -> list[str]:
        self.sock.sendall(env)
        while True:
            line = self.rfile.readline()
            if not line:
                break
            self.commands.append(line.decode().strip())
            if hangup_after is not None and len(self.commands) >= hangup_after:
                self.sock.sendall(b"HANGUP\n")
                self.sock.close()
                break
            self.sock.sendall((reply + "\n").encode())
        return self.commands


@pytest.fixture
def server(tmp_path):
    srv = AgiServer("127.0.0.1", 0, greeting_handlers(DIRECTORY, str(tmp_path / "spool"), "wav16"))
    # As start() does, with a short poll: stop() waits up to one poll (0.5 s by default, 7 s over this file).
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, name="telmon-fastagi",
                     daemon=True).start()
    srv.spool = tmp_path / "spool"
    yield srv
    srv.stop()


def _wait(srv: AgiServer, total: int) -> None:
    deadline = time.monotonic() + 10
    while sum(srv.counts.values()) < total and time.monotonic() < deadline:
        time.sleep(0.01)


def test_good_session_tags_the_call_and_starts_the_greeting_recording(server):
    commands = FakeAsterisk(server.port).session(env_block())
    assert commands[:3] == ['SET VARIABLE "TELMON_EXTENSION" "6831"', 'SET VARIABLE "TELMON_DEPARTMENT" "교류협력팀"',
                            'SET VARIABLE "TELMON_PERSON" "정하늘"']
    spool = server.spool
    # One file, the answering phone's own voice: no mixed recording of both parties.
    assert commands[3] == f'EXEC MixMonitor ",r({spool}/1795574606.0-1795574606.1-answering.wav16)"'
    _wait(server, 1)
    assert server.counts["ok"] == 1
    job = json.loads((spool / "1795574606.0-1795574606.1.json").read_text(encoding="utf-8"))
    assert job["linkedid"] == "1795574606.0" and job["extension"] == "6831"
    assert job["department"] == "교류협력팀" and job["person"] == "정하늘"
    assert job["answering_audio"].endswith("-answering.wav16")


def test_malformed_header_is_logged_and_the_session_closed(server, caplog):
    client = FakeAsterisk(server.port)
    commands = client.session(b"agi_network: yes\nthis is not a header\nagi_channel: PJSIP/1-1\n\n")
    assert commands == []            # nothing executed: the channel just continues in the dialplan
    _wait(server, 1)
    assert server.counts["malformed"] == 1
    assert "malformed AGI header" in caplog.text and "this is not a header" in caplog.text


def test_hangup_mid_session_is_survived(server):
    commands = FakeAsterisk(server.port).session(env_block(), hangup_after=1)
    assert len(commands) == 1
    _wait(server, 1)
    assert server.counts["failed"] == 1
    # ... and the service still works afterwards.
    assert len(FakeAsterisk(server.port).session(env_block("2.1", "6841", "2.0"))) == 4
    _wait(server, 2)
    assert server.counts["ok"] == 1


def test_fifty_concurrent_sessions(server):
    def one(i: int) -> list[str]:
        return FakeAsterisk(server.port).session(env_block(f"9.{i}", "6842", f"9.{i}"))
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    assert all(len(r) == 4 for r in results)
    _wait(server, 50)
    assert server.counts == {"ok": 50, "malformed": 0, "failed": 0, "busy": 0}
    assert len(list(server.spool.glob("*.json"))) == 50
    assert threading.active_count() < 60


def test_unknown_script_and_application_error_do_not_stop_the_service(server, caplog):
    FakeAsterisk(server.port).session(env_block().replace(b"script: answered", b"script: other"))
    FakeAsterisk(server.port).session(env_block("3.1", "6831", "3.0"), reply="200 result=-2")
    _wait(server, 1)
    assert "unknown script 'other'" in caplog.text
    assert server.counts["failed"] == 1
    assert len(FakeAsterisk(server.port).session(env_block("4.1", "6831", "4.0"))) == 4


def test_queue_member_interface_gives_the_extension(server):
    commands = FakeAsterisk(server.port).session(env_block("5.1", "Local/6842@queue-agent", "5.0"))
    assert commands[0] == 'SET VARIABLE "TELMON_EXTENSION" "6842"'
    assert commands[1] == 'SET VARIABLE "TELMON_DEPARTMENT" "세계시민협력팀"'


def _env(script: str, channel: str, arg1: str, callerid: str = "01012345678", uniqueid: str = "7.1") -> bytes:
    return (env_block(uniqueid, arg1, "7.0").replace(b"script: answered", f"script: {script}".encode())
            .replace(b"agi_channel: PJSIP/6831-00000001", f"agi_channel: {channel}".encode())
            .replace(b"agi_callerid: 6831", f"agi_callerid: {callerid}".encode()))


def test_ring_group_answer_is_the_answering_phone_never_the_callers_number(server, caplog):
    caplog.set_level("INFO")
    commands = FakeAsterisk(server.port).session(_env("answered", "PJSIP/6852-0000000a", ""))
    assert commands[0] == 'SET VARIABLE "TELMON_EXTENSION" "6852"'
    _wait(server, 1)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("FastAGI answered"))
    assert "6852" in line and "7.0" in line and "ms)" in line and "01012345678" not in line


def test_outbound_records_what_is_sent_to_the_customer(server):
    commands = FakeAsterisk(server.port).session(_env("outbound", "PJSIP/pstn-0000000c", "6831"))
    assert commands[0] == 'SET VARIABLE "TELMON_EXTENSION" "6831"'
    # t(): the transmit feed of the trunk channel is the staff member's voice; r() would be the customer.
    assert commands[3] == f'EXEC MixMonitor ",t({server.spool}/7.0-7.1-staff.wav16)"'
    _wait(server, 1)
    job = json.loads((server.spool / "7.0-7.1.json").read_text(encoding="utf-8"))
    assert job["direction"] == "outbound" and job["extension"] == "6831"


def test_outbound_without_the_callers_extension_records_nothing(server, caplog):
    assert FakeAsterisk(server.port).session(_env("outbound", "PJSIP/pstn-0000000d", "")) == []
    _wait(server, 1)
    assert server.counts["failed"] == 1 and "caller's extension" in caplog.text
    assert list(server.spool.glob("*.json")) == []


def test_extension_of_channel_names():
    assert extension_of_channel("PJSIP/6831-0000001a") == "6831"
    assert extension_of_channel("Local/6842@queue-agent-00000003;1") == "6842"
    assert extension_of_channel("SIP/6811-00000001") == "6811"


def test_a_burst_of_100_answers_is_served_whole(server):
    """100 phones answered at once (a shift starting, a ringall queue): every session is served,
    none refused by the kernel's listen queue or by the server's session cap."""
    def one(n: int) -> list[str]:
        return FakeAsterisk(server.port).session(env_block(uniqueid=f"1795574606.{n}", linkedid=f"1795574606.{n}"))
    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(one, range(100)))
    assert all(any(c.startswith("EXEC MixMonitor") for c in commands) for commands in results)
    _wait(server, 100)
    assert server.counts["ok"] == 100 and server.counts["busy"] == 0


@pytest.mark.slow
def test_sessions_beyond_the_cap_are_closed_at_once(tmp_path):
    srv = AgiServer("127.0.0.1", 0, greeting_handlers(DIRECTORY, str(tmp_path / "spool"), "wav16"),
                    max_sessions=2).start()
    try:
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(2)]
        time.sleep(0.2)                      # both sessions are waiting for their environment
        third = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        assert third.recv(100) == b""        # closed: Asterisk's AGI() fails, the call goes on
        assert srv.counts["busy"] == 1
        for s in held + [third]:
            s.close()
    finally:
        srv.stop()


def test_an_endless_line_is_cut_off_not_buffered(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        chunk = b"agi_channel: " + b"X" * 65536
        try:
            for _ in range(64):              # 4 MiB without a line end
                sock.sendall(chunk)
        except OSError:
            pass                             # the server closed the session: what we expect
        sock.settimeout(10)
        assert sock.recv(100) == b""
    finally:
        sock.close()
    deadline = time.monotonic() + 5
    while server.counts["malformed"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.counts["malformed"] == 1
    assert FakeAsterisk(server.port).session(env_block())     # and the service goes on


def test_values_set_on_the_channel_cannot_break_the_command():
    from monitor.live.greeting_hook import agi_value
    assert agi_value('김"민\\수\r\nSET VARIABLE X "1"') == "김 민 수  SET VARIABLE X  1 "
    assert len(agi_value("가" * 1000)) == 256

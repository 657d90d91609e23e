"""The FastAGI service (``agi://HOST:4573/answered``) the dialplan calls when a call is answered.

The protocol and the threaded server live here; what a session does is a handler
(``monitor/live/greeting_hook.py``: tag the answering channel, start the greeting
recording, leave a job for the speech worker). A session returns at once so the
caller is bridged without delay, and logs one INFO line without phone numbers.

pyst2's ``asterisk.agi.AGI`` speaks the AGI protocol (environment block, commands,
``200 result=`` replies) and is used for exactly that. Its constructor installs a
SIGHUP handler, which Python allows only in the main thread, and its ``fastagi``
module does not import on Python 3; so the server is ours (one thread per session)
and the AGI object is built without its constructor (:func:`open_agi`).
"""
from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from typing import Any, Optional

from asterisk.agi import AGI, AGIException

from ..errors import TelmonError

log = logging.getLogger(__name__)

SESSION_TIMEOUT = 10.0    # seconds a silent Asterisk may keep a session thread
SESSION_DEADLINE = 15.0   # seconds a whole session may take, however it trickles bytes
MAX_LINE = 4096           # bytes of one AGI line (Asterisk's are < 200); longer is not Asterisk
MAX_LINES = 256           # lines of one session (the environment is ~25, each command's reply one)
MAX_SESSIONS = 64         # sessions served at once; more get a closed socket (the call continues)
LISTEN_BACKLOG = 256      # connections the kernel queues during a burst (socketserver's default is 5)


class _BoundedLines:
    """The session's input, bounded: a line, the number of lines and the session's time.

    pyst2 reads with ``readline()``; an unbounded one lets a single 200 MiB line
    take 200 MiB, and a peer that trickles a byte every few seconds hold a thread
    for ever. Past a limit the session ends as malformed; the call goes on in the
    dialplan (``AGI()`` fails, the hook returns).
    """

    def __init__(self, rfile: Any, deadline: float) -> None:
        self.rfile = rfile
        self.deadline = deadline
        self.lines = 0

    def readline(self, size: int = -1) -> bytes:
        """One line of at most ``MAX_LINE`` bytes, or AgiHeaderError."""
        if time.monotonic() > self.deadline:
            raise AgiHeaderError(f"session longer than {SESSION_DEADLINE:g} s")
        line = self.rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise AgiHeaderError(f"a line longer than {MAX_LINE} bytes")
        self.lines += 1
        if self.lines > MAX_LINES:
            raise AgiHeaderError(f"more than {MAX_LINES} lines in one session")
        return line


class AgiHeaderError(TelmonError, ValueError):
    """The AGI environment block is not what Asterisk sends."""


class _DebugLog:
    """pyst2 writes a protocol trace to ``stderr``; send it to our debug log instead."""

    def write(self, text: str) -> None:
        if text.strip():
            log.debug("agi: %s", text.rstrip())

    def flush(self) -> None:
        """Nothing buffered."""


def open_agi(rfile: Any, wfile: Any) -> AGI:
    """A pyst2 AGI on a socket's files, without the main-thread-only SIGHUP handler."""
    agi = AGI.__new__(AGI)
    agi.stdin, agi.stdout, agi.stderr = rfile, wfile, _DebugLog()
    agi._got_sighup = False
    agi.env = {}
    agi._get_agi_env()
    bad = [k for k in agi.env if not k.startswith("agi_")]
    if bad or "agi_channel" not in agi.env or "agi_uniqueid" not in agi.env:
        what = f"unexpected header line {bad[0]!r}" if bad else "agi_channel/agi_uniqueid missing"
        raise AgiHeaderError(what)
    return agi


class _Session(socketserver.StreamRequestHandler):
    server: "AgiServer"

    def handle(self) -> None:
        peer = "%s:%s" % self.client_address[:2]
        self.request.settimeout(SESSION_TIMEOUT)
        wfile = self.request.makefile("w", encoding="utf-8", newline="\n")
        began = time.monotonic()
        try:
            agi = open_agi(_BoundedLines(self.rfile, began + SESSION_DEADLINE), wfile)
            script = agi.env.get("agi_network_script", "").split("?", 1)[0].strip("/")
            handler = self.server.handlers.get(script)
            if handler is None:
                log.warning("FastAGI from %s: unknown script %r; the call continues", peer, script)
                return
            summary = handler(agi)
            self.server.count("ok")
            # One line per session at INFO, with what an operator needs and no phone numbers:
            # the handler's summary names the extension, the call and what was started.
            log.info("FastAGI %s: %s (%.1f ms)", script, summary, (time.monotonic() - began) * 1000)
        except AgiHeaderError as exc:
            self.server.count("malformed")
            log.warning("FastAGI from %s: malformed AGI header (%s); session closed, the call continues in "
                        "the dialplan", peer, exc)
        except (AGIException, ValueError) as exc:
            self.server.count("failed")
            log.warning("FastAGI from %s: session ended early: %s: %s", peer, type(exc).__name__, exc)
        except (OSError, socket.timeout) as exc:
            self.server.count("failed")
            log.warning("FastAGI from %s: connection problem: %s", peer, exc)
        except Exception:   # one failing session never stops the service
            self.server.count("failed")
            log.exception("FastAGI from %s: unexpected error", peer)
        finally:
            try:
                wfile.close()
            except OSError:
                pass


class AgiServer(socketserver.ThreadingTCPServer):
    """Threaded FastAGI server, bounded (see the limits above); ``start()`` serves in the background.

    A burst of answers (a ringall queue, a shift starting) queues in a deep listen
    backlog instead of being refused by the kernel; beyond ``max_sessions`` at once
    a connection is closed at once, so Asterisk's ``AGI()`` fails fast and the call
    is bridged without its greeting check (counted ``busy``), never delayed.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, host: str, port: int, handlers: dict[str, Any], max_sessions: int = MAX_SESSIONS) -> None:
        super().__init__((host, port), _Session)
        self.handlers = handlers
        self.counts: dict[str, int] = {"ok": 0, "malformed": 0, "failed": 0, "busy": 0}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_sessions)
        self._thread: Optional[threading.Thread] = None

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start a session thread if a slot is free; else close the connection at once."""
        if not self._slots.acquire(blocking=False):
            self.count("busy")
            log.warning("FastAGI: %d sessions at once; connection from %s closed, the call continues "
                        "without its greeting check", MAX_SESSIONS, client_address[0])
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """One session; its slot is freed whatever happens."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return self.server_address[1]

    def count(self, outcome: str) -> None:
        """Count a finished session by outcome."""
        with self._lock:
            self.counts[outcome] += 1

    def start(self) -> "AgiServer":
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="telmon-fastagi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()

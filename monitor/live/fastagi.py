"""The FastAGI service (``agi://HOST:4573/answered``) the dialplan calls when a call is answered.

The threaded server lives here (one thread per session, bounded); the protocol
is :mod:`monitor.live.agi_protocol` (environment, commands, ``200 result=``
replies, and why pyst2's ``AGI`` is not used for it); what a session does is a
handler (``monitor/live/greeting_hook.py``: tag the answering channel, start the
greeting recording, leave a job for the speech worker). A session returns at
once so the caller is bridged without delay, and logs one INFO line without
phone numbers.
"""
from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from typing import Any, Callable, Optional

from .agi_protocol import MAX_LINE, MAX_LINES, AgiError, AgiMalformed, AgiSession, BoundedLines

__all__ = ["AgiServer", "MAX_LINE", "MAX_LINES", "MAX_SESSIONS", "LISTEN_BACKLOG", "SESSION_DEADLINE"]

log = logging.getLogger(__name__)

SESSION_TIMEOUT = 10.0    # seconds a silent Asterisk may keep a session thread
SESSION_DEADLINE = 15.0   # seconds a whole session may take, however it trickles bytes
MAX_SESSIONS = 64         # sessions served at once; more get a closed socket (the call continues)
LISTEN_BACKLOG = 256      # connections the kernel queues during a burst (socketserver's default is 5)

Handler = Callable[[AgiSession], object]   # returns what the session's INFO line says


class _Session(socketserver.StreamRequestHandler):
    server: "AgiServer"

    def handle(self) -> None:
        peer = "%s:%s" % self.client_address[:2]
        self.request.settimeout(SESSION_TIMEOUT)
        began = time.monotonic()
        try:
            readline = BoundedLines(self.rfile.readline, began + SESSION_DEADLINE, SESSION_DEADLINE)
            agi = AgiSession.open(readline, self.wfile.write)
            script = agi.script
            handler = self.server.handlers.get(script)
            if handler is None:
                log.warning("FastAGI from %s: unknown script %r; the call continues", peer, script)
                return
            summary = handler(agi)
            self.server.count("ok")
            # One line per session at INFO, with what an operator needs and no phone numbers:
            # the handler's summary names the extension, the call and what was started.
            log.info("FastAGI %s: %s (%.1f ms)", script, summary, (time.monotonic() - began) * 1000)
        except AgiMalformed as exc:
            self.server.count("malformed")
            log.warning("FastAGI from %s: malformed AGI header (%s); session closed, the call continues in "
                        "the dialplan", peer, exc)
        except (AgiError, ValueError) as exc:
            self.server.count("failed")
            log.warning("FastAGI from %s: session ended early: %s: %s", peer, type(exc).__name__, exc)
        except (OSError, socket.timeout) as exc:
            self.server.count("failed")
            log.warning("FastAGI from %s: connection problem: %s", peer, exc)
        except Exception:   # one failing session never stops the service
            self.server.count("failed")
            log.exception("FastAGI from %s: unexpected error", peer)


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

    def __init__(self, host: str, port: int, handlers: dict[str, Handler], max_sessions: int = MAX_SESSIONS) -> None:
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

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

log = logging.getLogger(__name__)

SESSION_TIMEOUT = 10.0    # seconds a silent Asterisk may keep a session thread


class AgiHeaderError(ValueError):
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
            agi = open_agi(self.rfile, wfile)
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
    """Threaded FastAGI server; ``start()`` serves in the background."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, handlers: dict[str, Any]) -> None:
        super().__init__((host, port), _Session)
        self.handlers = handlers
        self.counts: dict[str, int] = {"ok": 0, "malformed": 0, "failed": 0}
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

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

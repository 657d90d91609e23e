"""The FastAGI service (``agi://HOST:4573/answered``) the dialplan calls when a call is answered.

Per session it tags the answering channel with its department and person
(channel variables ``TELMON_DEPARTMENT``, ``TELMON_PERSON``, ``TELMON_EXTENSION``,
which also land in CDRs), starts ``MixMonitor`` on the answered leg with the
answering party's own voice in a separate file (``r()``: the audio Asterisk
receives from that phone), and leaves a job file in the spool directory for the
speech worker. The session returns at once so the caller is bridged without delay.

pyst2's ``asterisk.agi.AGI`` speaks the AGI protocol (environment block, commands,
``200 result=`` replies) and is used for exactly that. Its constructor installs a
SIGHUP handler, which Python allows only in the main thread, and its ``fastagi``
module does not import on Python 3; so the server is ours (one thread per session)
and the AGI object is built without its constructor (:func:`open_agi`).
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from asterisk.agi import AGI, AGIException

from ..directory import Directory

log = logging.getLogger(__name__)

SESSION_TIMEOUT = 10.0    # seconds a silent Asterisk may keep a session thread
_SAFE = re.compile(r"[^0-9A-Za-z._-]")


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


@dataclass(frozen=True)
class GreetingJob:
    """What the speech worker needs to check one greeting."""

    linkedid: str
    uniqueid: str
    channel: str
    extension: str
    department: Optional[str]
    person: Optional[str]
    started: float
    answering_audio: str      # the answering party's voice only
    mixed_audio: str          # both directions (deleted with the job)


class AnsweredHandler:
    """Handles ``agi://.../answered,<extension>[,<linkedid>]`` sessions."""

    def __init__(self, directory: Directory, spool_dir: str, record_format: str = "wav16") -> None:
        self.directory = directory
        self.spool = Path(spool_dir)
        self.record_format = record_format
        self.spool.mkdir(parents=True, exist_ok=True)

    def __call__(self, agi: AGI) -> GreetingJob:
        env = agi.env
        # The dialplan passes the extension, or a queue's member interface
        # ("PJSIP/6834", "Local/6842@queue-agent"); with nothing given, the answering
        # channel's own caller ID is its extension.
        given = env.get("agi_arg_1") or env.get("agi_callerid", "")
        extension = given.rsplit("/", 1)[-1].split("@", 1)[0]
        linkedid = env.get("agi_arg_2") or env["agi_uniqueid"]
        person = self.directory.person(extension)
        department = self.directory.department_of(extension)
        agi.set_variable("TELMON_EXTENSION", extension)
        agi.set_variable("TELMON_DEPARTMENT", department or "")
        agi.set_variable("TELMON_PERSON", person.name if person else "")
        stem = self.spool / f"{_SAFE.sub('_', linkedid)}-{_SAFE.sub('_', env['agi_uniqueid'])}"
        answering = f"{stem}-answering.{self.record_format}"
        mixed = f"{stem}-mixed.{self.record_format}"
        agi.appexec("MixMonitor", f"{mixed},r({answering})")
        job = GreetingJob(linkedid, env["agi_uniqueid"], env["agi_channel"], extension, department,
                          person.name if person else None, time.time(), answering, mixed)
        final = Path(f"{stem}.json")      # not with_suffix: uniqueids contain dots
        tmp = Path(f"{stem}.json.tmp")
        tmp.write_text(json.dumps(job.__dict__, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, final)           # the worker never sees half a job
        return job


class _Session(socketserver.StreamRequestHandler):
    server: "AgiServer"

    def handle(self) -> None:
        peer = "%s:%s" % self.client_address[:2]
        self.request.settimeout(SESSION_TIMEOUT)
        wfile = self.request.makefile("w", encoding="utf-8", newline="\n")
        try:
            agi = open_agi(self.rfile, wfile)
            script = agi.env.get("agi_network_script", "").split("?", 1)[0].strip("/")
            handler = self.server.handlers.get(script)
            if handler is None:
                log.warning("FastAGI from %s: unknown script %r; the call continues", peer, script)
                return
            handler(agi)
            self.server.count("ok")
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

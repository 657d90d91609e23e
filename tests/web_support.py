"""Helpers of the workbench tests: a seeded database, ``telmon web`` running for real, an HTTP client.

The server is the real command (``python -m monitor web``) on a free loopback
port; the client speaks HTTP with ``http.client`` and keeps the session cookie
like a browser, so every check goes through uvicorn, the middleware and the
database exactly as a person's browser would.
"""
from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

import contextlib
from typing import Iterator


from conftest import REPO, TRACES
from stores import pg_schema, pg_schema_url
from monitor.core.rules import Verdict
from monitor.storage.store import Store
from monitor.web.accounts import Accounts

PASSWORD = "correct-horse-42"
UNCLEAR_CALL = "1795574606.0"      # a_inbound_1ring: 교류협력팀, answered by 6831 정하늘; a real recording
OTHER_CALL = "1795575002.21"       # outbound from 경영기획팀
BLIND_CALL = "1795574905.10"       # e_blind_transfer
ATTENDED_CALL = "1795574925.13"    # f_attended_transfer
WAV = TRACES / "a_inbound_1ring.mixmonitor.wav"
USERS = {"admin": ("admin", ()), "boss": ("compliance", ()), "rev": ("reviewer", ()),
         "sup": ("supervisor", ("교류협력팀",)), "sup2": ("supervisor", ("경영기획팀",))}


def evidence(recording: Path, words: Optional[list] = None) -> dict:
    """Evidence as the speech worker writes it (monitor/speech/worker.py), naming a kept recording."""
    return {"confidence": 0.41, "sample_rate": 8000, "engine": "vosk/vosk-model-small-ko-0.22", "seconds": 4.2,
            "speech": True, "gate": "speech",
            "items": [{"item": "department", "result": "unclear", "expected": "교류협력팀", "heard": "교류 협력",
                       "similarity": 0.8, "confidence": 0.62},
                      {"item": "name", "result": "unclear", "expected": "정하늘", "heard": "정 하", "similarity": 0.7,
                       "confidence": 0.55}],
            "words": words or [["네", 0.91, 0.3, 0.5], ["교류", 0.62, 0.6, 1.0], ["협력", 0.58, 1.0, 1.4],
                               ["정", 0.5, 1.6, 1.8], ["하", 0.45, 1.8, 2.0]],
            "recording": str(recording)}


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``folder``, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'web.db'}"
        return
    with pg_schema("telmon_web") as schema:
        yield pg_schema_url(schema)


def wav_name(linkedid: str) -> str:
    """The spool file name of a seeded check's recording (as FastAGI names them: linkedid-uniqueid-answering)."""
    return f"{linkedid}-{linkedid}9-answering.wav"


def seed(url: str, spool: Path) -> None:
    """The bundled captures' calls, two unclear checks with recordings in ``spool``, and one account per role."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")}
    subprocess.run([sys.executable, "-m", "monitor", "replay", "--quiet", "--database-url", url,
                    *sorted(str(p) for p in TRACES.glob("*.ami"))], check=True, capture_output=True, env=env,
                   cwd=REPO, timeout=300)
    spool.mkdir(parents=True, exist_ok=True)
    store = Store.open(url)
    for linkedid, rule in ((UNCLEAR_CALL, "R3"), (OTHER_CALL, "R7")):
        wav = spool / wav_name(linkedid)
        shutil.copy(WAV, wav)
        store.set_verdict(linkedid, Verdict(rule, "unclear", evidence(wav), "unclear: department, name: unclear"))
    accounts = Accounts(store.engine)
    for name, (role, departments) in USERS.items():
        accounts.add(name, role, PASSWORD, departments)
    store.close()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``telmon web`` in its own process."""

    url: str
    spool: Path
    port: int = field(default_factory=free_port)
    proc: Optional[subprocess.Popen] = None
    log: Optional[Path] = None

    def start(self, extra_env: Optional[dict] = None) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELMON_")} | (extra_env or {})
        self.log = self.spool.parent / f"web-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "web", "--database-url", self.url,
                                          "--spool-dir", str(self.spool), "--port", str(self.port)],
                                         cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if Client(self).get("/login").status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"telmon web did not start: {self.log.read_text()}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """A browser-like HTTP client: keeps the session cookie and the last page's CSRF token."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cookie: Optional[str] = None
        self.csrf = ""

    def request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = f"telmon_session={self.cookie}"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        conn.close()
        for value in resp.headers.get_all("set-cookie") or []:
            m = re.match(r"telmon_session=([^;]*)", value)
            if m:
                self.cookie = m.group(1)
        found = re.search(rb'name="csrf" value="([^"]+)"', reply.body)
        if found:
            self.csrf = found.group(1).decode()
        return reply

    def get(self, path: str, headers: Optional[dict] = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict, csrf: Optional[str] = None) -> Reply:
        data = dict(fields)
        if csrf is None:
            data["csrf"] = self.csrf
        elif csrf:
            data["csrf"] = csrf
        return self.request("POST", path, urlencode(data).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, name: str, password: str = PASSWORD) -> Reply:
        self.get("/login")
        return self.post("/login", {"name": name, "password": password, "next": ""})

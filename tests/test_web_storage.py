"""The workbench's storage on both backends: accounts and lock-out, the append-only audit log,
recordings kept only while a review needs them (and purged after), the commands that reach them,
and ``telmon web`` through a database outage (PostgreSQL behind a proxy that is cut and restored)."""
from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from test_cli import telmon
from web_support import (PASSWORD, UNCLEAR_CALL, Client, Server, database, evidence, seed)
from monitor.core.rules import Verdict
from monitor.review import decide
from monitor.storage import recordings
from monitor.storage.store import Store
from monitor.web import audit
from monitor.web.accounts import AccountError, Accounts

pytestmark = pytest.mark.slow   # telmon web and telmon commands in their own processes

DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, tmp_path):
    with database(request.param, tmp_path) as url:
        seed(url, tmp_path / "spool")
        store = Store.open(url)
        yield store, url, tmp_path / "spool"
        store.close()


def test_accounts_lock_after_wrong_passwords_and_unlock_later(seeded):
    store, _, _ = seeded
    accounts = Accounts(store.engine)
    with pytest.raises(AccountError):
        accounts.add("rev", "reviewer", PASSWORD)             # taken
    with pytest.raises(AccountError):
        accounts.add("x", "root", PASSWORD)                  # no such role
    with pytest.raises(AccountError):
        accounts.add("x", "reviewer", "short")               # too short
    with pytest.raises(AccountError):
        accounts.add("x", "supervisor", PASSWORD)            # a supervisor needs a department
    t = 1_000_000.0
    results = [accounts.authenticate("rev", "nope-nope-nope", 5, 15, now=t + i) for i in range(5)]
    assert [r.just_locked for r in results] == [False] * 4 + [True]
    assert accounts.authenticate("rev", PASSWORD, 5, 15, now=t + 10).reason == "locked"
    assert accounts.authenticate("rev", PASSWORD, 5, 15, now=t + 15 * 60 + 10).reason == "ok"
    with store.engine.connect() as conn:
        hashed = conn.execute(sa.text("select password_hash from users where name='rev'")).scalar()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert accounts.authenticate("nobody", PASSWORD, 5, 15).reason == "bad"


def test_the_audit_log_is_append_only(seeded):
    store, _, _ = seeded
    audit.record(store.engine, "rev", "reviewer", "recording.played", "x", "", "127.0.0.1")
    for statement in ("update audit_log set actor = 'someone else'", "delete from audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert [r.actor for r in audit.rows(store.engine)] == ["rev"]


def test_recordings_are_kept_until_reviewed_then_purged_with_the_transcript(seeded):
    store, _, spool = seeded
    wav = next(spool.glob(f"{UNCLEAR_CALL}-*.wav"))
    stated = spool / "stated.wav"
    stated.write_bytes(wav.read_bytes())
    store.set_verdict("1795574619.2", Verdict("R3", "pass", evidence(stated), "stated"))
    assert recordings.stored(store.engine) == (3, 3 * wav.stat().st_size)
    done = recordings.purge(store.engine, str(spool), keep_days=30)
    assert (done.deleted, done.files) == (1, 1) and not stated.exists()   # "stated": deleted at once
    assert wav.exists()                                                  # unclear: waits for its review
    assert recordings.purge(store.engine, str(spool), 30, now=time.time() + 400 * DAY).deleted == 0
    call = next(c for c in store.load_calls() if c.record.linkedid == UNCLEAR_CALL)
    reviewed_at = time.time()
    decide(store, call, "R3", True, "rev", "no name", now=reviewed_at)
    assert recordings.purge(store.engine, str(spool), 30, now=reviewed_at + 29 * DAY).deleted == 0
    assert wav.exists()
    done = recordings.purge(store.engine, str(spool), 30, now=reviewed_at + 31 * DAY)
    assert (done.deleted, done.files, done.transcripts) == (1, 1, 1) and not wav.exists()
    r3 = next(c for c in store.load_calls() if c.record.linkedid == UNCLEAR_CALL).verdicts["R3"]
    assert r3.result == "fail" and r3.value["review"]["by"] == "rev"                 # the decision stays
    assert "words" not in r3.value and "recording" not in r3.value and "transcript_deleted_at" in r3.value
    assert "words" not in r3.value["original"]["value"]
    assert all("heard" not in i for i in r3.value["items"])
    assert recordings.stored(store.engine)[0] == 1                                   # the other call's


def test_purge_never_deletes_outside_the_spool(seeded, tmp_path):
    store, _, spool = seeded
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    store.set_verdict("1795574619.2", Verdict("R3", "pass", evidence(outside), "stated"))
    recordings.purge(store.engine, str(spool), 30)
    assert outside.exists()


def test_user_audit_and_purge_commands(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    made = telmon("user", "add", "kim", "--role", "supervisor", "--department", "교류협력팀", "--generate",
                  "--database-url", db).stdout
    assert "password: " in made
    bad = telmon("user", "add", "lee", "--role", "reviewer", "--database-url", db, check=False)
    assert bad.returncode == 2 and "--password-stdin" in bad.stderr   # no terminal, no password: refused
    assert "kim" in telmon("user", "list", "--database-url", db).stdout
    telmon("user", "disable", "kim", "--database-url", db)
    assert "disabled" in telmon("user", "list", "--database-url", db).stdout
    trail = telmon("audit", "--since", "1h", "--database-url", db).stdout
    assert "user.added" in trail and "user.disabled" in trail and "kim" in trail
    assert "user.added" not in telmon("audit", "--since", dt.datetime.now().isoformat(timespec="seconds")
                                      .replace(str(dt.date.today().year), "2099"), "--database-url", db).stdout
    purged = telmon("purge", "--database-url", db, "--spool-dir", str(tmp_path)).stdout
    assert "0 recordings past retention" in purged


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut (listener closed, connections reset) and restored."""

    def __init__(self, port: int) -> None:
        self.port, self.conns, self.listener = port, [], None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 5432))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)   # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []


@pytest.mark.pg
def test_the_database_down_is_a_clear_page_and_the_app_recovers(tmp_path):
    from web_support import free_port
    with database("postgresql", tmp_path) as url:
        seed(url, tmp_path / "spool")
        proxy = Proxy(free_port())
        proxy.start()
        via = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        server = Server(via, tmp_path / "spool").start()
        try:
            c = Client(server)
            assert c.login("boss").status == 303 and c.get("/calls").status == 200
            proxy.cut()
            down = c.get("/calls")
            assert down.status == 503 and "데이터베이스" in down.text and "Traceback" not in down.text
            assert Client(server).get("/login").status == 200   # the login form needs no database
            proxy.start()
            assert c.get("/calls").status == 200                          # back without a restart
        finally:
            server.stop()
            proxy.cut()


def test_grafana_department_and_person_panels_link_to_the_call_lists():
    import json
    import re
    from conftest import REPO
    linked = 0
    for path in sorted((REPO / "grafana" / "dashboards").glob("*.json")):
        dash = json.loads(path.read_text(encoding="utf-8"))
        workbench = [v for v in dash["templating"]["list"] if v["name"] == "workbench"]
        for panel in dash["panels"]:
            exprs = " ".join(t["expr"] for t in panel["targets"])
            by = re.search(r"by \(([a-z, ]+)\)", exprs)
            if not by or "department" not in by.group(1):
                continue
            (link,) = panel["fieldConfig"]["defaults"]["links"]
            assert workbench and link["url"].startswith("${workbench}/calls?department=${__field.labels.department}")
            assert ("&person=${__field.labels.person}" in link["url"]) == ("person" in by.group(1))
            linked += 1
    assert linked >= 8


def test_telmon_run_exports_the_recordings_kept_and_purges(seeded):
    from monitor.config import load_settings
    from monitor.directory import load_directory
    from monitor.metrics import Metrics
    from monitor.metrics.http import Exposition
    from monitor.web.commands import RetentionLoop
    store, url, spool = seeded
    settings = load_settings(None, {}, {"database_url": url, "agi.spool_dir": str(spool)})
    metrics = Metrics.from_settings(settings, load_directory(settings.directory_path))
    loop = RetentionLoop(settings, store, metrics)
    exposition = Exposition(metrics)
    size = sum(p.stat().st_size for p in spool.glob("*.wav"))
    stated = spool / "stated.wav"
    stated.write_bytes(b"RIFF" + b"\0" * 100)
    store.set_verdict("1795574619.2", Verdict("R3", "pass", evidence(stated), "stated"))
    loop.once()
    text = exposition.render().decode()
    assert "telmon_recordings_stored 2.0" in text and f"telmon_recordings_bytes {float(size)}" in text
    assert not stated.exists()

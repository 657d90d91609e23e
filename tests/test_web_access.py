"""The workbench over real HTTP (``telmon web`` in its own process), on SQLite and on PostgreSQL:
who may open what, and every bad input of the issue: no session, forged or expired cookies, CSRF,
another department's call or recording, paths out of the spool, wrong passwords, huge parameters."""
from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from web_support import ATTENDED_CALL, OTHER_CALL, PASSWORD, UNCLEAR_CALL, Client, Server, database, seed, wav_name
from monitor.storage.store import Store
from monitor.storage.workbench import RECORDINGS, SECRETS
from monitor.web import audit

pytestmark = pytest.mark.slow   # telmon web in its own process, over HTTP

PAGES = ["/", "/review", f"/review/{UNCLEAR_CALL}/R3", "/calls", f"/calls/{UNCLEAR_CALL}", "/reports",
         "/admin/users", "/admin/audit", f"/recordings/{wav_name(UNCLEAR_CALL)}"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    with database(request.param, tmp) as url:
        seed(url, tmp / "spool")
        server = Server(url, tmp / "spool").start()
        store = Store.open(url)
        try:
            yield server, store
        finally:
            server.stop()
            store.close()


def audit_rows(store, action):
    return [r for r in audit.rows(store.engine, action=action)]


def test_every_page_needs_a_login(site):
    server, _ = site
    for path in PAGES:
        reply = Client(server).get(path)
        assert reply.status == 303 and reply.headers["location"].startswith("/login?next="), path


def test_forged_expired_and_logged_out_cookies_are_no_session(site):
    server, store = site
    c = Client(server)
    c.cookie = "eyJ1IjoxLCJlIjowLCJjIjoieCJ9.forged.signature"
    assert c.get("/calls").status == 303
    with store.engine.connect() as conn:
        key = conn.scalar(select(SECRETS.c.value))
    boss_id = next(r.id for r in store_users(store) if r.name == "boss")

    class Old(URLSafeTimedSerializer):
        def make_signer(self, *a, **kw):
            signer = super().make_signer(*a, **kw)
            signer.get_timestamp = lambda: int(time.time()) - 9 * 3600   # older than session_hours (8)
            return signer
    c.cookie = Old(key, salt="telmon-session").dumps({"u": boss_id, "e": 0, "c": "x"})
    assert c.get("/calls").status == 303
    c.cookie = URLSafeTimedSerializer(key, salt="telmon-session").dumps({"u": boss_id, "e": 0, "c": "x"})
    assert c.get("/calls").status == 200          # the same cookie, fresh: a session (the key is the point)
    logged = Client(server)
    assert logged.login("boss").status == 303
    old_cookie = logged.cookie
    assert logged.get("/calls").status == 200
    logged.post("/logout", {})
    stale = Client(server)
    stale.cookie = old_cookie
    assert stale.get("/calls").status == 303      # logout ends the session everywhere


def store_users(store):
    from monitor.web.accounts import Accounts
    return Accounts(store.engine).all()


def test_posts_without_or_with_a_wrong_csrf_token_are_refused(site):
    server, store = site
    c = Client(server)
    assert c.login("rev").status == 303
    c.get(f"/review/{UNCLEAR_CALL}/R3")
    for token in ("", "not-the-token"):
        reply = c.post(f"/review/{UNCLEAR_CALL}/R3", {"decision": "confirm"}, csrf=token)
        assert reply.status == 403 and "보안 토큰" in reply.text
    call = next(c for c in store.load_calls() if c.record.linkedid == UNCLEAR_CALL)
    assert call.verdicts["R3"].result == "unclear"
    assert Client(server).post("/login", {"name": "rev", "password": PASSWORD}, csrf="").status == 403


def test_roles_see_only_their_pages(site):
    server, store = site
    allowed = {"admin": {"/admin/users", "/admin/audit"},
               "boss": {"/review", f"/review/{UNCLEAR_CALL}/R3", "/calls", f"/calls/{UNCLEAR_CALL}", "/reports",
                        "/admin/audit"},
               "rev": {"/review", f"/review/{UNCLEAR_CALL}/R3"},
               "sup": {"/review", f"/review/{UNCLEAR_CALL}/R3", "/calls", f"/calls/{UNCLEAR_CALL}"}}
    for name, ok in allowed.items():
        c = Client(server)
        c.login(name)
        for path in PAGES[1:-1]:
            reply = c.get(path)
            assert reply.status == (200 if path in ok else 403), (name, path, reply.status)
            assert "Traceback" not in reply.text
    denied = audit_rows(store, "access.denied")
    assert any(r.actor == "rev" and r.target == "/calls" for r in denied)


def test_a_supervisor_sees_only_their_departments(site):
    server, store = site
    c = Client(server)
    c.login("sup")
    listing = c.get("/calls").text
    assert UNCLEAR_CALL in listing and ATTENDED_CALL in listing and OTHER_CALL not in listing
    for path in (f"/calls/{OTHER_CALL}", f"/review/{OTHER_CALL}/R7", "/calls?department=경영기획팀",
                 f"/recordings/{wav_name(OTHER_CALL)}"):
        reply = c.get(path.replace("경영기획팀", "%EA%B2%BD%EC%98%81%EA%B8%B0%ED%9A%8D%ED%8C%80"))
        assert reply.status == 403, path
    targets = [r.target for r in audit_rows(store, "access.denied") if r.actor == "sup"]
    assert f"call {OTHER_CALL}" in targets and f"{OTHER_CALL} R7" in targets
    assert any(t.startswith("recording ") for t in targets)
    queue = c.get("/review").text
    assert UNCLEAR_CALL in queue and OTHER_CALL not in queue
    other = Client(server)
    other.login("sup2")
    assert other.get(f"/calls/{OTHER_CALL}").status == 200 and other.get(f"/calls/{UNCLEAR_CALL}").status == 403


def test_recordings_only_from_the_spool(site, tmp_path):
    server, store = site
    c = Client(server)
    c.login("rev")
    good = c.get(f"/recordings/{wav_name(UNCLEAR_CALL)}")
    assert good.status == 200 and good.body[:4] == b"RIFF" and good.headers["content-type"] == "audio/wav"
    assert c.get(f"/recordings/{wav_name(UNCLEAR_CALL)}",
                 headers={"Range": "bytes=100-199"}).status == 206
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF-not-for-you")
    with store.engine.begin() as conn:   # a row that names a file outside the spool (a corrupted or planted path)
        conn.execute(RECORDINGS.insert().values(linkedid=ATTENDED_CALL, rule="R3", name="secret.wav",
                                                           path=str(outside), bytes=16, result="unclear",
                                                           stored_at=time.time()))
    for path in ("/recordings/../../etc/passwd", "/recordings/..%2F..%2Fetc%2Fpasswd", "/recordings/%2Fetc%2Fpasswd",
                 "/recordings//etc/passwd", "/recordings/secret.wav", "/recordings/.%2e/.%2e/etc/hostname",
                 "/recordings/nothing-here.wav"):
        reply = c.get(path)
        assert reply.status == 404 and b"RIFF" not in reply.body and b"root:" not in reply.body, path
    played = audit_rows(store, "recording.played")
    assert any(r.actor == "rev" and UNCLEAR_CALL in r.target for r in played)


def test_bad_parameters_are_a_clear_400(site):
    server, _ = site
    c = Client(server)
    c.login("boss")
    for path in ("/calls?page=99999999", "/calls?page=-1", "/calls?page=abc", "/calls?since=yesterday",
                 "/calls?person=nobody-knows", "/calls?direction=%27;drop", "/calls?rule=R1;--",
                 "/calls?since=2026-11-30&until=2026-11-01", "/review?rule=R9", "/admin/audit?days=99999",
                 "/calls?department=" + "x" * 300, "/calls?" + "a=1&" * 3000):
        reply = c.get(path)
        assert reply.status == 400, (path[:60], reply.status)
        assert "Traceback" not in reply.text and "<h1>" in reply.text and "요청" in reply.text
    assert c.get("/no/such/page").status == 404
    assert c.get("/calls?page=2&since=2026-11-01&direction=inbound").status == 200


def test_unmasking_needs_the_role_and_a_reason_and_is_audited(site):
    server, store = site
    boss = Client(server)
    boss.login("boss")
    page = boss.get(f"/calls/{UNCLEAR_CALL}").text
    assert "010-****-5678" in page and "01012345678" not in page
    assert boss.post(f"/calls/{UNCLEAR_CALL}/unmask", {"reason": ""}).status == 400
    shown = boss.post(f"/calls/{UNCLEAR_CALL}/unmask", {"reason": "민원 2026-118 회신"})
    assert shown.status == 200 and "01012345678" in shown.text
    (row,) = [r for r in audit_rows(store, "number.unmasked") if r.target == f"call {UNCLEAR_CALL}"]
    assert row.actor == "boss" and row.reason == "민원 2026-118 회신" and row.address == "127.0.0.1"
    sup = Client(server)
    sup.login("sup")
    sup.get(f"/calls/{UNCLEAR_CALL}")
    assert sup.post(f"/calls/{UNCLEAR_CALL}/unmask", {"reason": "just curious"}).status == 403


def test_report_download_is_audited(site):
    server, store = site
    boss = Client(server)
    boss.login("boss")
    boss.get("/reports")
    reply = boss.post("/reports", {"month": "2026-11", "department": "교류협력팀", "format": "csv"})
    assert reply.status == 200, reply.text[:500]
    assert "attachment" in reply.headers["content-disposition"] and reply.body.startswith(b"\xef\xbb\xbf")
    assert "010-****-5678" in reply.text and "01012345678" not in reply.text
    assert boss.post("/reports", {"month": "November", "format": "csv"}).status == 400
    downloads = audit_rows(store, "report.downloaded")
    assert any(r.actor == "boss" and r.target == "2026-11 교류협력팀 csv" for r in downloads)


def test_an_unmasked_report_needs_a_reason_and_is_audited(site):
    server, store = site
    boss = Client(server)
    boss.login("boss")
    boss.get("/reports")
    form = {"month": "2026-11", "department": "교류협력팀", "format": "csv", "unmasked": "1"}
    assert boss.post("/reports", form | {"reason": "no"}).status == 400
    reply = boss.post("/reports", form | {"reason": "민원 회신 확인"})
    assert reply.status == 200, reply.text[:500]
    assert "01012345678" in reply.text
    unmasked = audit_rows(store, "number.unmasked")
    assert any(r.actor == "boss" and r.target == "report 2026-11 교류협력팀 csv" and r.reason == "민원 회신 확인"
               for r in unmasked)


def test_admin_disables_a_user_and_their_session_ends(site):
    server, store = site
    admin, victim = Client(server), Client(server)
    admin.login("admin")
    admin.get("/admin/users")
    assert admin.post("/admin/users", {"action": "add", "name": "temp", "role": "reviewer",
                                       "password": PASSWORD}).status == 303
    assert victim.login("temp").status == 303 and victim.get("/review").status == 200
    admin.get("/admin/users")
    admin.post("/admin/users", {"action": "disable", "name": "temp"})
    assert victim.get("/review").status == 303
    assert Client(server).login("temp").status == 401
    actions = {r.action for r in audit.rows(store.engine, actor="admin")}
    assert {"user.added", "user.disabled"} <= actions


def test_ten_wrong_passwords_lock_the_account_and_the_address_is_slowed(site):
    server, store = site
    own = Server(server.url, server.spool).start()   # its own address counter
    try:
        c = Client(own)
        for _ in range(10):
            assert c.login("sup2", "wrong-password-1").status == 401
        reply = c.login("sup2")
        assert reply.status == 401 and "잠겼습니다" in reply.text
        assert any(r.target == "sup2" for r in audit_rows(store, "login.locked"))
        for n in range(10):
            c.login(f"nobody{n}", "wrong-password-1")
        assert c.login("boss").status == 429
    finally:
        own.stop()

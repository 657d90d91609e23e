"""The workbench in real headless Chromium (Debian's package, over the DevTools pipe as the report's
browser test does): a reviewer listens to an unclear check and confirms it, a supervisor sees their
department only, the journey of a captured transfer call; every page without console errors, and a
screenshot of each in test-artifacts/ (the README shows them)."""
from __future__ import annotations

import json
import subprocess
import sys
import wave

import pytest

from conftest import REPO
from test_report_browser import ARTIFACTS, DevTools
from web_support import ATTENDED_CALL, OTHER_CALL, PASSWORD, UNCLEAR_CALL, WAV, Server, database, seed
from monitor.storage.store import Store
from monitor.web import audit

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web-browser")
    with database("sqlite", tmp) as url:
        seed(url, tmp / "spool")
        server = Server(url, tmp / "spool").start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def browser(tmp_path):
    b = DevTools(tmp_path / "profile")
    yield b
    b.close()


class Pages:
    """The browser on the workbench: open pages, log in, submit, with every problem collected."""

    def __init__(self, browser: DevTools, server: Server) -> None:
        self.b, self.server = browser, server

    def open(self, path: str) -> None:
        problems = self.b.open(self.server.base + path)
        self.check(problems)

    def check(self, problems: list[str]) -> None:
        ours = f"network request: {self.server.base}/"
        assert [p for p in problems if not p.startswith(ours)] == [], problems

    def submit(self, script: str) -> None:
        """Run ``script`` (which submits a form) and wait for the next page."""
        self.b.events.clear()
        self.b.evaluate(script)
        self.b.wait_for("Page.loadEventFired")

    def login(self, name: str) -> None:
        self.open("/login")
        self.submit(f"document.querySelector('[name=name]').value = {json.dumps(name)};"
                    f"document.querySelector('[name=password]').value = {json.dumps(PASSWORD)};"
                    "document.getElementById('login').submit()")
        assert "/login" not in self.b.evaluate("location.pathname"), self.text()

    def text(self) -> str:
        return str(self.b.evaluate("document.body.innerText"))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.b.screenshot(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def _calls_json(server: Server) -> dict[str, dict]:
    out = subprocess.run([sys.executable, "-m", "monitor", "calls", "--json", "--database-url", server.url],
                         capture_output=True, text=True, check=True, cwd=REPO, timeout=120).stdout
    return {c["linkedid"]: c for c in map(json.loads, out.splitlines())}


def test_a_reviewer_listens_to_an_unclear_check_and_confirms_it(site, browser):
    p = Pages(browser, site)
    p.open("/login")
    assert "로그인" in p.text()
    p.shot("login")
    p.login("rev")
    assert browser.evaluate("location.pathname") == "/review"
    p.shot("review-queue")
    first = browser.evaluate("document.querySelector('#queue a.button').getAttribute('href')")
    assert first == f"/review/{UNCLEAR_CALL}/R3"   # the oldest unclear check comes first
    p.open(first)
    duration = browser.evaluate("""new Promise(resolve => {
        const a = document.getElementById('player');
        if (a.readyState >= 1) { resolve(a.duration); return; }
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => resolve(-1));
    })""")
    with wave.open(str(WAV)) as w:
        expected = w.getnframes() / w.getframerate()
    assert duration == pytest.approx(expected, abs=0.05)
    # The word heard at 0.6-1.0 s is highlighted when the playback is there.
    now = browser.evaluate("""new Promise(resolve => {
        const a = document.getElementById('player');
        a.addEventListener('seeked', () => setTimeout(() => {
            const w = document.querySelector('#words .word.now'); resolve(w ? w.textContent : null); }, 50),
            {once: true});
        a.currentTime = 0.8;
    })""")
    assert now == "교류"
    assert "교류협력팀" in p.text() and "정하늘" in p.text()
    p.shot("review")
    p.submit("document.querySelector('[name=note]').value = '부서만 말하고 이름은 없음';"
             "document.getElementById('confirm').click()")
    assert browser.evaluate("location.pathname") == "/review"
    r3 = _calls_json(site)[UNCLEAR_CALL]["verdicts"]["R3"]
    assert r3["result"] == "fail" and "reviewed by rev" in r3["detail"]
    assert r3["value"]["review"]["by"] == "rev" and r3["value"]["original"]["result"] == "unclear"
    store = Store.open(site.url)
    actions = [r.action for r in audit.rows(store.engine, actor="rev")]
    store.close()
    assert {"login", "transcript.opened", "recording.played", "review.decided"} <= set(actions)


def test_a_supervisor_sees_their_department_and_is_refused_another(site, browser):
    p = Pages(browser, site)
    p.login("sup")
    assert browser.evaluate("location.pathname") == "/calls"
    rows = browser.evaluate("Array.from(document.querySelectorAll('#calls tbody tr')).map(r => r.innerText)")
    assert rows and all("교류협력팀" in r for r in rows)
    p.shot("calls")
    problems = browser.open(f"{site.base}/calls/{OTHER_CALL}")
    statuses = [e["params"]["response"]["status"] for e in browser.events
                if e.get("method") == "Network.responseReceived"
                and e["params"]["response"]["url"].endswith(f"/calls/{OTHER_CALL}")]
    assert statuses == [403] and "권한이 없습니다" in p.text()
    assert all("Traceback" not in x for x in problems)
    p.shot("forbidden")


def test_the_journey_of_a_captured_attended_transfer(site, browser):
    store = Store.open(site.url)
    call = next(c for c in store.load_calls() if c.record.linkedid == ATTENDED_CALL)
    store.close()
    (transfer,) = call.record.transfers
    p = Pages(browser, site)
    p.login("boss")
    p.open(f"/calls/{ATTENDED_CALL}")
    timeline = str(browser.evaluate("document.getElementById('timeline').innerText"))
    assert transfer.kind == "attended" and "상담 후 돌려주기" in timeline
    for ext in {transfer.by, transfer.to} | {o.extension for o in call.record.offers}:
        assert ext in timeline, ext
    assert "번 울림" in timeline and "통화 종료" in timeline
    assert browser.evaluate("document.querySelectorAll('section.chart rect').length") >= 2
    p.shot("journey")


def test_reports_users_and_audit_pages_render(site, browser):
    p = Pages(browser, site)
    p.login("boss")
    p.open("/reports")
    assert browser.evaluate("document.querySelector('[name=month]').value")
    p.shot("reports")
    p.open("/admin/audit")
    assert "로그인" in str(browser.evaluate("document.getElementById('audit').innerText"))
    p.shot("audit")
    admin = Pages(browser, site)
    p.submit("document.querySelector('header form.who').submit()")
    admin.login("admin")
    assert browser.evaluate("location.pathname") == "/admin/users"
    assert "boss" in str(browser.evaluate("document.getElementById('users').innerText"))
    p.shot("users")

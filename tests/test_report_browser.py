"""The HTML report in real headless Chromium (no console errors, no network, Korean in a CJK font,
the charts drawn; a screenshot in test-artifacts/), and the PDF through pdftoppm and pdftotext.

Chromium is driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages, NUL-terminated, on file descriptors 3 and 4), so no port and no
websocket library are needed.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from monitor.report.pdf import chromium_args, find_chromium
from test_report_support import DEPARTMENTS, MONTH, PREFIX, replay_captures, telmon

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"


class DevTools:
    """A headless Chromium and one page, driven over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()

        def fds() -> None:   # the child's fd 3 reads our commands, fd 4 writes its replies
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)
        self.proc = subprocess.Popen(chromium_args(find_chromium(), str(profile)) + ["--remote-debugging-pipe",
                                     "about:blank"], preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._buf, self._id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def open(self, url: str) -> list[str]:
        """Load ``url`` in the page; returns every console error, exception, error log and non-local request."""
        for domain in ("Runtime", "Log", "Page", "Network", "DOM", "CSS"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        self.call("Runtime.evaluate", session=True, expression="1", awaitPromise=True)   # let late events arrive
        problems = []
        for e in self.events:
            p, method = e.get("params", {}), e.get("method")
            if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert", "warning"):
                problems.append(f"console.{p['type']}: {p['args']}")
            elif method == "Runtime.exceptionThrown":
                problems.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                problems.append(f"log {p['entry']['level']}: {p['entry']['text']}")
            elif method == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:")):
                problems.append(f"network request: {p['request']['url']}")
        return problems

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                         awaitPromise=True)["result"].get("value")

    def fonts_of(self, selector: str) -> list[str]:
        root = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        node = self.call("DOM.querySelector", session=True, nodeId=root, selector=selector)["nodeId"]
        fonts = self.call("CSS.getPlatformFontsForNode", session=True, nodeId=node)["fonts"]
        return [f["familyName"] for f in fonts]

    def screenshot(self, path: Path) -> None:
        height = self.evaluate("document.documentElement.scrollHeight")
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self._r)
        os.close(self._w)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 't.db'}"
    replay_captures(url)
    telmon("report", "--database-url", url, "--month", MONTH, "--format", "html,pdf", "--out", str(tmp / "out"))
    return tmp / "out"


@pytest.fixture
def browser(tmp_path):
    b = DevTools(tmp_path / "profile")
    yield b
    b.close()


def test_the_harness_sees_console_errors_and_requests(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<script>console.error("boom")</script><img src="http://192.0.2.1/x.png">')
    problems = browser.open(page.as_uri())
    assert any("boom" in p for p in problems) and any("192.0.2.1" in p for p in problems), problems


def test_html_report_renders_cleanly_in_chromium(browser, out):
    problems = browser.open((out / f"{PREFIX}.html").as_uri())
    assert problems == []
    # The three charts decoded and drawn; Korean set in the CJK font (not a fallback's boxes).
    assert browser.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 300)") == [True] * 3
    assert any("CJK" in f for f in browser.fonts_of("h1")), browser.fonts_of("h1")
    assert browser.evaluate("document.querySelector('#departments td.below-goal').textContent") == "82.1"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-html.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_pdf_pages_and_text(out):
    pdf = out / f"{PREFIX}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("report-pdf-*.png"):
        old.unlink()
    subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-r", "60", "-png", str(pdf),
                    str(ARTIFACTS / "report-pdf")], check=True, timeout=120)
    pages = sorted(ARTIFACTS.glob("report-pdf-*.png"))
    assert len(pages) >= 3, pages
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for name in DEPARTMENTS:
        assert name in text, name
    for phrase in ("전화 응대 서비스 기준 월간 보고서", "SL2 = 2번째 벨 이내에 응답한 통화", "R10 = 100 × 통과",
                   "R9 교육 대상자", "정하늘", "82.1"):
        assert phrase in text, phrase

"""PDF: the HTML report printed by headless Chromium.

The browser that shows the HTML also prints it, so the PDF is the HTML page as
the officer saw it (same fonts, same tables, the charts as vectors), with no
second layout engine to keep in step. Chromium runs with its own throw-away
profile directory: a profile shared with another Chromium would make it hand the
job to that process and return before the file exists.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .period import ReportError

CHROMIUM_PACKAGE = "chromium"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 180


def find_chromium() -> str:
    """The Chromium executable (``TELMON_CHROMIUM`` or the first on PATH); ReportError naming the package."""
    override = os.environ.get("TELMON_CHROMIUM")
    if override:
        if shutil.which(override):
            return str(shutil.which(override))
        raise ReportError(f"TELMON_CHROMIUM={override!r}: no such executable")
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise ReportError(f"PDF needs headless Chromium, which is not installed: install the Debian package "
                      f"{CHROMIUM_PACKAGE} (apt-get install {CHROMIUM_PACKAGE}), or use --format html")


def chromium_args(binary: str, profile: str) -> list[str]:
    """The flags every headless run uses (PDF here, the tests' screenshots too)."""
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
            # No network: the report has no external resource, and nothing should be fetched.
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}"]


def write_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4 landscape from the page's CSS, no browser header/footer)."""
    binary = find_chromium()
    pdf_path = pdf_path.resolve()
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="telmon-chromium-") as profile:
        cmd = chromium_args(binary, profile) + [
            "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not finish printing the PDF within {TIMEOUT_SECONDS} s") from None
    if proc.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise ReportError(f"Chromium could not print {html_path.name} to PDF (exit {proc.returncode}): {tail}")
    return pdf_path

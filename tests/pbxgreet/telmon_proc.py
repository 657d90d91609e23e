"""``telmon run`` as an administrator starts it, beside the kit's Asterisk, and what it stored.

A real process with a TOML configuration file: AMI on the ``telmon`` account of
``asterisk_conf/manager.conf``, the FastAGI service on 4573, the spool in a temporary
folder, SQLite. The tests read results through ``telmon calls --json`` (the output
an office's own checks read) and the log through its stderr file.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent.parent
TELMON = [sys.executable, "-m", "monitor"]


class Telmon:
    """One ``telmon run`` process."""

    def __init__(self, work: Path, directory: Path, secret: str) -> None:
        self.work = work
        self.spool = work / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.db = f"sqlite:///{work / 'telmon.db'}"
        self.config = work / "telmon.toml"
        self.config.write_text(
            f'database_url = "{self.db}"\ndirectory = "{directory}"\n'
            '[ami]\nusername = "telmon"\nbackoff_min = 0.2\nbackoff_max = 1.0\n'
            f'[agi]\nport = 4573\nspool_dir = "{self.spool}"\n'
            '[metrics]\nport = 0\n[speech]\nprocesses = 1\n', encoding="utf-8")
        self.env = dict(os.environ, TELMON_CONFIG=str(self.config), TELMON_AMI_SECRET=secret, PYTHONPATH=str(REPO))
        self.log = work / "telmon.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "Telmon":
        """Start ``telmon run`` and wait until it is logged in to AMI and serves FastAGI."""
        self.proc = subprocess.Popen([*TELMON, "run"], cwd=self.work, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        self.wait_log("FastAGI on", timeout)
        self.wait_log("speech check on", timeout)
        self.wait_log("AMI connected to", timeout)
        return self

    def stop(self) -> None:
        """SIGTERM (a graceful stop) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def text(self) -> str:
        """Everything telmon logged so far."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def wait_log(self, needle: str, timeout: float = 30.0, after: int = 0) -> int:
        """Wait for ``needle`` in the log after character ``after``; its position."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.text().find(needle, after)
            if at >= 0:
                return at
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"telmon run exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{needle!r} not in telmon's log within {timeout} s:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def calls(self) -> list[dict[str, Any]]:
        """``telmon calls --json``: every stored call."""
        out = subprocess.run([*TELMON, "calls", "--json"], cwd=self.work,
                             env=self.env, capture_output=True, text=True, timeout=60, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_call(self, known: set[str], rule: Optional[str], timeout: float = 90.0) -> dict[str, Any]:
        """The first stored call not in ``known`` (with a ``rule`` verdict, when given)."""
        deadline = time.monotonic() + timeout
        while True:
            fresh = [c for c in self.calls() if c["linkedid"] not in known]
            done = [c for c in fresh if rule is None or rule in c["verdicts"]]
            if done:
                return done[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no new call with {rule} within {timeout} s: {fresh}\n{self.text()[-3000:]}")
            time.sleep(0.5)

    def worker_pids(self) -> list[int]:
        """The speech worker processes (spawned children of telmon running the check loop)."""
        if self.proc is None:
            return []
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for pid in children:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"multiprocessing.spawn" in cmd and b"resource_tracker" not in cmd:
                    pids.append(int(pid))
        return pids

"""Delay from a call's last Hangup leaving the (simulated) PBX to its verdict stored (run by hand).

The simulated PBX replays the captures over TCP; the time each Hangup frame is
written to the socket is noted, and so is the time each call's row is committed
to the database. The delay is the second minus the first, per call.

    .venv/bin/python bench/latency.py [--speed 5] [--database-url URL]
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.cli.live import bundled_traces  # noqa: E402
from monitor.config import AmiSettings, load_settings  # noqa: E402
from monitor.directory import load_directory  # noqa: E402
from monitor.live.runner import LiveMonitor  # noqa: E402
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events  # noqa: E402
from monitor.storage.store import Store  # noqa: E402


class TimedStore:
    """The real store, noting when each call's row was committed."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.saved = inner, {}

    def save_calls(self, batch):
        n = self.inner.save_calls(batch)
        now = time.perf_counter()
        for record, _, _ in batch:
            self.saved[record.linkedid] = now
        return n

    def __getattr__(self, name):
        return getattr(self.inner, name)


class TimedPbx(SimulatedPbx):
    """The simulated PBX, noting when each Hangup was written to the socket."""

    hangups: dict = {}

    async def _broadcast(self, raw: bytes) -> None:
        await super()._broadcast(raw)
        if raw.startswith(b"Event: Hangup\r\n"):
            for line in raw.split(b"\r\n"):
                if line.startswith(b"Linkedid: "):
                    self.hangups[line[10:].decode()] = time.perf_counter()


async def main(speed: float, url: str) -> None:
    settings = load_settings(None, {}, {"database_url": url})
    directory = load_directory(settings.directory_path)
    store = TimedStore(Store.open(url))
    sim = TimedPbx(load_events(bundled_traces()), SimOptions(speed=speed, max_gap=0.5))
    port = await sim.start()
    ami = AmiSettings(port=port, username="telmon", secret="telmon", backoff_min=0.1)
    monitor = LiveMonitor(dataclasses.replace(settings, ami=ami), directory, store)
    task = asyncio.create_task(monitor.run())
    await sim.done.wait()
    await asyncio.sleep(1.0)
    monitor.stop.set()
    await task
    await sim.close()
    delays = sorted((store.saved[k] - sim.hangups[k]) * 1000 for k in store.saved if k in sim.hangups)
    def p(q: float) -> float:
        return delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"{len(delays)} calls at {speed:g}x: last Hangup -> verdict stored: "
          f"median {statistics.median(delays):.1f} ms, p99 {p(0.99):.1f} ms, max {delays[-1]:.1f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=5.0)
    ap.add_argument("--database-url")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(a.speed, a.database_url or f"sqlite:///{tmp}/latency.db"))

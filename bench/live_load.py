"""Latency under load, and the RSS of ``telmon run`` with the speech model loaded.

A simulated PBX (``SimulatedPbx``, real TCP) sends bench/stream.py's stream at a
fixed ~1,000 events/s to ``telmon run`` started as a subprocess, exactly as a user
starts it (speech on, the demo's recorded greeting spooled so the worker loads
the Vosk model). For every call the time its last ``Hangup`` frame was written
on the socket is noted, and compared with when its verdict became

(a) visible on telmon's ``/metrics`` (a separate process scrapes back to back and
    notes when ``telmon_calls_total`` and ``telmon_rule_verdicts_total`` reached
    the values they must have once that call is counted), and
(b) committed in the database (a separate process polls the SQLite file).

Which frame finishes which call is known in advance by running the same stream
through telmon's Pipeline offline (live == replay is tested). All processes
read CLOCK_MONOTONIC, which is system-wide on Linux, so times compare across them.

    .venv/bin/python bench/live_load.py [--rate 1000] [--seconds 60] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import urllib.request
from bisect import bisect_left
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.stream import write_stream  # noqa: E402
from monitor.cli.live import bundled_traces, spool_demo_greeting  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from monitor.core.tracker import TrackerOptions  # noqa: E402
from monitor.directory import load_directory  # noqa: E402
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402


def expected_finishes(events: list) -> list[tuple[int, str, int]]:
    """(event index, linkedid, verdict counter total once counted) per call, in finishing order."""
    settings = load_settings(None, {}, {})
    directory = load_directory(settings.directory_path)
    out: list[tuple[int, str, int]] = []
    state = {"index": 0, "verdicts": 0}

    class Counting:   # mirrors what monitor.metrics.Metrics increments
        def call_finished(self, f: Any) -> None:
            state["verdicts"] += len(f.verdicts)
            out.append((state["index"], f.record.linkedid, state["verdicts"]))

        def verdict_settled(self, linkedid: str, verdict: Any) -> None:
            state["verdicts"] += 1

    pipeline = Pipeline(settings.cadence_obj, settings.thresholds_obj, TrackerOptions(), directory.department_of,
                        [Counting()])
    for i, ev in enumerate(events):
        state["index"] = i
        pipeline.feed_event(ev.msg)
    return out


class PacedPbx(SimulatedPbx):
    """The simulated PBX at a fixed event rate, noting when each event left for the socket."""

    def __init__(self, events: list, rate: float) -> None:
        super().__init__(events, SimOptions())
        self.rate = rate
        self.written: list[float] = []

    async def _play(self) -> None:
        await self._logged_in.wait()
        start, i = time.monotonic(), 0
        while i < len(self.events):
            due = min(len(self.events), int((time.monotonic() - start) * self.rate) + 1)
            for writer in list(self.clients):
                while i < due:
                    ev = self.events[i]
                    self._track(ev.msg)
                    writer.write(ev.raw)   # the transport sends at once when its buffer is empty
                    self.written.append(time.monotonic())
                    i += 1
                await writer.drain()
            await asyncio.sleep(0.002)     # a tick: ~2 events at 1,000/s, as a PBX trickles them
        self.sent = i
        self.done.set()


def poll_metrics(url: str, gap: float, stop: Any, out: Any) -> None:
    """Scrape every ``gap`` seconds after the last scrape ended; note (time, calls, verdicts) when they move.

    A scrape costs telmon little now (the counters' text is cached until a call
    finishes; only the live gauges are rendered), so the gap can be short: it
    adds up to ``gap`` to each measured delay (resolution), nothing more.
    """
    samples, durations, last = [], [], None
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            text = urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            time.sleep(0.05)
            continue
        t1 = time.monotonic()
        calls = verdicts = 0.0
        for line in text.splitlines():
            if line.startswith("telmon_calls_total{"):
                calls += float(line.rsplit(" ", 1)[1])
            elif line.startswith("telmon_rule_verdicts_total{"):
                verdicts += float(line.rsplit(" ", 1)[1])
        durations.append(t1 - t0)
        if (calls, verdicts) != last:
            samples.append((t1, calls, verdicts))
            last = (calls, verdicts)
        time.sleep(gap)
    out.put({"samples": samples, "scrapes": len(durations), "bytes": len(text) if durations else 0,
             "scrape_ms_p50": 1000 * sorted(durations)[len(durations) // 2] if durations else None})


def poll_db(path: str, stop: Any, out: Any) -> None:
    """Poll the SQLite file (WAL: readers never block telmon's writer); note when each call appears."""
    seen: dict[str, float] = {}
    last_id, polls = 0, 0
    while not stop.is_set():
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            break
        except sqlite3.Error:
            time.sleep(0.05)
    while not stop.is_set():
        try:
            rows = con.execute("SELECT id, linkedid FROM calls WHERE id > ? ORDER BY id", (last_id,)).fetchall()
        except sqlite3.Error:   # the schema is not there yet
            rows = []
        now = time.monotonic()
        polls += 1
        for rid, linkedid in rows:
            seen.setdefault(linkedid, now)
            last_id = max(last_id, rid)
        time.sleep(0.001)
    out.put({"seen": seen, "polls": polls})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of one process (MB), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The direct children of a process (the speech worker processes of telmon run)."""
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                for c in (t / "children").read_text().split()]
    except OSError:
        return []


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(rate: float, seconds: float, gap: float, tmp: Path) -> dict[str, Any]:
    """One run: returns the figures (see the module docstring)."""
    stream = tmp / "stream.ami"
    write_stream(stream, int(rate * seconds))
    events = load_events([stream])
    finishes = expected_finishes(events)
    db, spool = tmp / "live.db", tmp / "spool"
    spool.mkdir()
    spool_demo_greeting(spool, bundled_traces())   # one greeting: the worker loads the model, as in use
    sim = PacedPbx(events, rate)
    port, mport = await sim.start(), free_port()
    stop, queue = mp.Event(), mp.Queue()
    pollers = [mp.Process(target=poll_metrics, args=(f"http://127.0.0.1:{mport}/metrics", gap, stop, queue)),
               mp.Process(target=poll_db, args=(str(db), stop, queue))]
    for p in pollers:
        p.start()
    # The secret in the environment: telmon refuses one on the command line (visible in ps).
    env = dict(os.environ, TELMON_METRICS_PORT=str(mport), TELMON_SPEECH="true", TELMON_AMI_SECRET="telmon")
    cmd = [str(ROOT / ".venv" / "bin" / "telmon"), "run", "--database-url", f"sqlite:///{db}",
           "--ami-port", str(port), "--agi-port", "0", "--spool-dir", str(spool)]
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, stderr=asyncio.subprocess.DEVNULL)
    peak_main = peak_speech = 0.0
    while not sim.done.is_set():
        peak_main = max(peak_main, rss_mb(proc.pid))
        peak_speech = max(peak_speech, sum(rss_mb(c) for c in children(proc.pid)))
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.5)   # the last calls' writes and the greeting check
    peak_main = max(peak_main, rss_mb(proc.pid))
    peak_speech = max(peak_speech, sum(rss_mb(c) for c in children(proc.pid)))
    cpu = sum(int(x) for x in Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
    proc.send_signal(signal.SIGTERM)
    await proc.wait()
    await sim.close()
    stop.set()
    got = [queue.get(timeout=30) for _ in pollers]
    for p in pollers:
        p.join(10)
    met = next(g for g in got if "samples" in g)
    seen = next(g for g in got if "seen" in g)["seen"]
    times = [s[0] for s in met["samples"]]
    to_metrics, to_db = [], []
    for k, (index, linkedid, verdicts) in enumerate(finishes):
        hung = sim.written[index]
        j = bisect_left([s[1] for s in met["samples"]], k + 1)   # first sample counting this call
        while j < len(times) and met["samples"][j][2] < verdicts:
            j += 1
        if j < len(times):
            to_metrics.append(1000 * (times[j] - hung))
        if linkedid in seen:
            to_db.append(1000 * (seen[linkedid] - hung))
    span = sim.written[-1] - sim.written[0]
    def stats(d):
        return {"n": len(d), "p50": pct(d, 0.5), "p99": pct(d, 0.99), "max": max(d)} if d else None
    return {"events": len(sim.written), "calls": len(finishes), "rate": len(sim.written) / span,
            "seconds": span, "metrics": stats(to_metrics), "db": stats(to_db),
            "scrapes": met["scrapes"], "scrape_gap_ms": 1000 * gap, "scrape_bytes": met["bytes"],
            "scrape_ms_p50": met["scrape_ms_p50"],
            "telmon_cpu_share": cpu / os.sysconf("SC_CLK_TCK") / span,
            "rss_telmon_mb": peak_main, "rss_speech_mb": peak_speech, "loadavg": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=1000.0, help="events per second sent (default 1000)")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to send (default 60)")
    ap.add_argument("--scrape-gap", type=float, default=0.005,
                    help="seconds between the end of a scrape and the next (default 0.005; Prometheus: 15)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(run(a.rate, a.seconds, a.scrape_gap, Path(tmp)))
    print(f"{r['events']:,} events in {r['seconds']:.1f} s ({r['rate']:,.0f} events/s), {r['calls']} calls; "
          f"telmon used {100 * r['telmon_cpu_share']:.0f} % of a core")
    for key, what in (("metrics", "visible on /metrics"), ("db", "committed in SQLite")):
        s = r[key]
        print(f"  last Hangup written -> {what}: " + (
            f"p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms ({s['n']} calls)" if s else "none"))
    print(f"  scrapes {r['scrapes']:,} every {1000 * a.scrape_gap:.0f} ms + scrape time "
          f"(p50 {r['scrape_ms_p50']:.1f} ms, {r['scrape_bytes']:,} bytes); "
          f"RSS telmon {r['rss_telmon_mb']:.0f} MB + speech worker {r['rss_speech_mb']:.0f} MB; "
          f"load {r['loadavg'][0]:.2f}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(r, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

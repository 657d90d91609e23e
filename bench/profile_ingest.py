"""Profile ingest stage (e) -- parse + track + store (SQLite) + metrics -- with pyinstrument.

Runs stage (e) of ``bench/ingest.py`` once without the profiler (the rate a user
gets) and once under pyinstrument's sampling profiler, then prints the
functions that own the most time, so the next optimisation is chosen from
evidence rather than guessed. pyinstrument is a bench-only tool: ``pip install
-e '.[bench]'`` (``make bench`` does it).

    .venv/bin/python bench/profile_ingest.py [--events 300000] [--html out.html] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest import full  # noqa: E402
from bench.stream import write_stream  # noqa: E402


def own_time(session: Any, top: int) -> list[tuple[str, float]]:
    """The ``top`` functions by self time (seconds) in a pyinstrument session.

    pyinstrument's tree view answers "which call path"; for "which function to
    make faster" the flat self-time list is the better read.
    """
    totals: dict[str, float] = {}

    def walk(frame: Any, parent: str) -> None:
        if frame.is_synthetic_leaf:        # pyinstrument's "[self]": time spent in the parent itself
            totals[parent] = totals.get(parent, 0.0) + frame.time
            return
        key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
        own = frame.time - sum(c.time for c in frame.children)
        totals[key] = totals.get(key, 0.0) + max(0.0, own)
        for child in frame.children:
            walk(child, key)

    walk(session.root_frame(), "?")
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def run(events: int, html: str | None, top: int) -> dict[str, Any]:
    """Time stage (e) plain and profiled on a fresh ``events``-event stream; returns the figures."""
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.ami"
        n = write_stream(path, events)
        start, cpu = time.perf_counter(), time.process_time()
        full(path, f"sqlite:///{tmp}/plain.db")
        # CPU time as well as wall time: on a shared 2-core box the wall clock also
        # counts the time other work held the core; CPU time is what telmon spent.
        plain, cpu = time.perf_counter() - start, time.process_time() - cpu
        # 1 ms sampling: fine enough for a run of seconds, cheap enough not to skew it.
        profiler = Profiler(interval=0.001)
        profiler.start()
        full(path, f"sqlite:///{tmp}/profiled.db")
        profiler.stop()
    session = profiler.last_session
    print(profiler.output_text(unicode=False, color=False, show_all=False), flush=True)
    if html:
        Path(html).write_text(profiler.output_html(), encoding="utf-8")
    hot = own_time(session, top)
    print(f"stage (e) on {n:,} events without the profiler: {plain:.2f} s wall, {n / plain:,.0f} events/s; "
          f"{cpu:.2f} s CPU, {n / cpu:,.0f} events per CPU-second")
    print("functions by self time (profiled run):")
    for name, seconds in hot:
        print(f"  {seconds:6.2f} s  {100 * seconds / session.duration:5.1f} %  {name}")
    return {"events": n, "seconds": plain, "events_per_s": n / plain, "cpu_seconds": cpu,
            "events_per_cpu_s": n / cpu, "loadavg": os.getloadavg(),
            "profiled_seconds": session.duration,
            "self_time": [{"function": k, "seconds": v, "share": v / session.duration} for k, v in hot]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300_000, help="stream size (default 300000)")
    ap.add_argument("--html", help="also write pyinstrument's interactive HTML report here")
    ap.add_argument("--top", type=int, default=15, help="how many functions to list by self time")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    result = run(a.events, a.html, a.top)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

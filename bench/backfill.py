"""Backfill: ``telmon replay`` end to end as a subprocess, extrapolated to a year (2x10^8 events).

bench/stream.py writes the stream; ``telmon replay --quiet FILE --database-url ...``
runs exactly as a user backfills (calls stored, only the summary printed: without
``--quiet`` the verdict table at the end needs every finished call in memory);
the wall time, CPU time and peak RSS come from the kernel's accounting of the
child (``wait4``). Two sizes are run so that the RSS slope shows whether memory
depends on the length of the history (it should not).

    .venv/bin/python bench/backfill.py [--events 250000 1000000] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.stream import write_stream  # noqa: E402

YEAR = 2e8   # events: a year of recorded AMI history at a busy site (issue 7)


def replay(path: Path, url: str) -> dict[str, Any]:
    """Run ``telmon replay`` on ``path``; wall, CPU and peak RSS of the child."""
    cmd = [str(ROOT / ".venv" / "bin" / "telmon"), "replay", "--quiet", str(path), "--database-url", url]
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        summary = proc.stderr.read().decode(errors="replace").strip().splitlines() if proc.stderr else []
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"telmon replay failed: {summary[-5:]}")
    return {"wall_seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "summary": summary[-1] if summary else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, nargs="+", default=[250_000, 1_000_000],
                    help="stream sizes to replay (default 250000 1000000); the largest is extrapolated")
    ap.add_argument("--database-url", help="where to store (default: a new SQLite file per run)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(a.events):
            path = Path(tmp) / f"stream{size}.ami"
            n = write_stream(path, size)
            r = replay(path, a.database_url or f"sqlite:///{tmp}/backfill{size}.db")
            path.unlink()
            r.update(events=n, events_per_s=n / r["wall_seconds"], events_per_cpu_s=n / r["cpu_seconds"],
                     loadavg=os.getloadavg())
            runs.append(r)
            print(f"telmon replay, {n:,} events: {r['wall_seconds']:.1f} s wall ({r['events_per_s']:,.0f} events/s), "
                  f"{r['cpu_seconds']:.1f} s CPU ({r['events_per_cpu_s']:,.0f} events/CPU-s), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB; load {r['loadavg'][0]:.2f}\n    {r['summary']}", flush=True)
    big = runs[-1]
    out: dict[str, Any] = {"runs": runs, "year_events": YEAR,
                           "year_minutes_wall": YEAR / big["events_per_s"] / 60,
                           "year_minutes_cpu": YEAR / big["events_per_cpu_s"] / 60}
    if len(runs) > 1 and big["wall_seconds"] - runs[0]["wall_seconds"] > 5:
        small = runs[0]
        # The marginal rate between the two sizes leaves out start-up (imports, migrations),
        # which a year-long replay pays once.
        extra = big["events"] - small["events"]
        out["marginal_events_per_s"] = extra / max(1e-9, big["wall_seconds"] - small["wall_seconds"])
        out["year_minutes_marginal"] = YEAR / out["marginal_events_per_s"] / 60
    if len(runs) > 1:
        small = runs[0]
        slope = (big["peak_rss_mb"] - small["peak_rss_mb"]) / (big["events"] - small["events"])
        out["rss_mb_per_million_events"] = slope * 1e6
        out["year_rss_gb"] = (big["peak_rss_mb"] + slope * (YEAR - big["events"])) / 1024
    print(f"2x10^8 events at this rate: {out['year_minutes_wall']:.0f} min wall "
          f"({out['year_minutes_cpu']:.0f} min of CPU"
          + (f"; {out['year_minutes_marginal']:.0f} min at the marginal rate" if "year_minutes_marginal" in out else "")
          + "); target < 60 min")
    if "year_rss_gb" in out:
        print(f"RSS grows {out['rss_mb_per_million_events']:.1f} MB per 10^6 events -> "
              f"~{out['year_rss_gb']:.1f} GB for 2x10^8 in one replay")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

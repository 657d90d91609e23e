"""The monthly report on a big month: time and peak memory of ``telmon report`` per format.

A month of N calls is made from the bundled real captures: they are replayed once
(``telmon replay``), and their stored calls are copied N/24 times with a distinct
linkedid and every time shifted so the copies spread evenly over November 2026
(Asia/Seoul). Unanswered calls' R8 verdicts are varied (within the window, late,
never) so every column has data. The database is kept in ``--work`` and reused.

Each format runs as its own ``telmon report`` process; its wall time and peak RSS
(``ru_maxrss`` from ``os.wait4`` of that one child: the largest of the process and
the children it waited for, so Chromium is included for PDF) are printed as a
Markdown table for docs/REPORT.md.

    python bench/report_bench.py [--calls 1000000 --calls 100000] [--work /tmp/telmon-report-bench]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.core.rules import Verdict  # noqa: E402
from monitor.report.period import parse_month  # noqa: E402
from monitor.storage.store import StoredCall, Store  # noqa: E402

MONTH = "2026-11"
TIME_FIELDS = {"start", "end", "answered_at", "queue_joined_at", "queue_left_at", "dial_start", "ring_start",
               "ring_end", "at"}
FORMATS = ("csv", "xlsx", "html", "pdf")


def shift(obj: Any, delta: float) -> Any:
    """A copy of a record dataclass with every time field moved by ``delta`` seconds (nested ones too)."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in TIME_FIELDS and isinstance(value, float):
            changes[f.name] = value + delta
        elif dataclasses.is_dataclass(value):
            changes[f.name] = shift(value, delta)
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            changes[f.name] = [shift(v, delta) for v in value]
    return dataclasses.replace(obj, **changes)


def base_calls(work: Path) -> list[StoredCall]:
    """The captures' calls as telmon stores them."""
    url = f"sqlite:///{work / 'base.db'}"
    traces = sorted(str(p) for p in (REPO / "monitor" / "data" / "traces").glob("*.ami"))
    subprocess.run([sys.executable, "-m", "monitor", "replay", "--database-url", url, *traces],
                   check=True, capture_output=True)
    store = Store.open(url)
    try:
        return list(store.load_calls())
    finally:
        store.close()


def copies(base: list[StoredCall], n: int) -> Iterator[tuple[Any, dict[str, Verdict], Any]]:
    """``n`` calls: the base calls repeated, each repetition at its own moment of the month."""
    since, until = parse_month(MONTH).bounds
    first = min(c.record.start for c in base)
    reps = -(-n // len(base))
    step = (until - since - 3600) / reps
    made = 0
    for k in range(reps):
        delta = since + 60 + k * step - first
        for c in base:
            if made == n:
                return
            rec = dataclasses.replace(shift(c.record, delta), linkedid=f"{c.record.linkedid}.{k}")
            verdicts = dict(c.verdicts)
            if verdicts.get("R8") is not None and verdicts["R8"].result == "pending":
                verdicts["R8"] = [Verdict("R8", "pass", 3600.0, "called back"),
                                  Verdict("R8", "fail", 90000.0, "called back late"),
                                  Verdict("R8", "fail", None, "never called back")][k % 3]
            made += 1
            yield rec, verdicts, c.department


def make_month(work: Path, n: int) -> str:
    """A SQLite database holding a month of ``n`` calls (made once, then reused)."""
    path = work / f"month-{n}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        store = Store.open(url)
        count = store.count_calls()
        store.close()
        if count == n:
            return url
        path.unlink()
    base = base_calls(work)
    store = Store.open(url)
    started, batch = time.monotonic(), []
    for item in copies(base, n):
        batch.append(item)
        if len(batch) == 5000:
            store.save_calls(batch)
            batch = []
    if batch:
        store.save_calls(batch)
    store.close()
    print(f"made {n:,} calls in {time.monotonic() - started:.0f} s: {path}", file=sys.stderr)
    return url


def run_format(url: str, fmt: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``telmon report`` process."""
    cmd = [str(REPO / ".venv" / "bin" / "telmon"), "report", "--database-url", url, "--month", MONTH,
           "--format", fmt, "--out", str(out), "--no-progress"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"telmon report --format {fmt} failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss / 1024.0


def main() -> None:
    """Make the months, time each format on each, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, action="append", help="calls in the month (repeat; default 100k and 1M)")
    ap.add_argument("--work", default="/tmp/telmon-report-bench", help="where the databases and outputs go")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = args.calls or [100_000, 1_000_000]
    rows = []
    for n in sizes:
        url = make_month(work, n)
        for fmt in [f for f in args.formats.split(",") if f]:
            seconds, rss = run_format(url, fmt, work / f"out-{n}")
            rows.append((n, fmt, seconds, rss, os.getloadavg()[0]))
            print(f"{n:>9,} calls  {fmt:<4}  {seconds:6.1f} s  peak RSS {rss:6.0f} MiB", file=sys.stderr, flush=True)
    print(f"\n{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d')}\n")
    print("| calls | format | seconds | peak RSS (MiB) |\n|---:|---|---:|---:|")
    for n, fmt, seconds, rss, _load in rows:
        print(f"| {n:,} | {fmt} | {seconds:.1f} | {rss:.0f} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": [
            {"calls": n, "format": fmt, "seconds": seconds, "peak_rss_mib": rss, "load": load}
            for n, fmt, seconds, rss, load in rows]}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

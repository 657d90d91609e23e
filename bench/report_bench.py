"""The monthly report on a big month: time and peak memory of ``telmon report`` per format.

A month of N calls is made from the bundled real captures: they are replayed once
(``telmon replay``), and their stored calls are copied N/24 times with a distinct
linkedid and every time shifted so the copies spread evenly over November 2026
(Asia/Seoul). Unanswered calls' R8 verdicts are varied (within the window, late,
never) so every column has data. The database is kept in ``--work`` and reused.

Each format runs as its own ``telmon report`` process; its wall time, CPU time and peak
RSS (``ru_maxrss`` from ``os.wait4`` of that one child: the largest of the process and
the children it waited for, so Chromium is included for PDF) are printed as a
Markdown table for docs/REPORT.md. In the same run, on the same database, the *limit*
(issue 17): one range scan of the month's ``calls`` rows written with ``csv.writer``
(no formatting), timed inside its own process; every format is given as a multiple of
it (the format's whole process, start-up included, over the limit's scan).

    python bench/report_bench.py [--calls 1000000 --calls 100000] [--work /tmp/telmon-report-bench]
                                 [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
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


def _pg_schema_url(pg: str, schema: str) -> str:
    """The PostgreSQL URL with its own schema (created when missing)."""
    import sqlalchemy as sa
    admin = sa.create_engine(pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    return f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"


def make_month(work: Path, n: int, pg: str | None = None) -> str:
    """A database holding a month of ``n`` calls (made once, then reused): a SQLite file in ``work``,
    or with ``pg`` a schema ``telmon_bench_<n>`` of that PostgreSQL database."""
    if pg:
        url = _pg_schema_url(pg, f"telmon_bench_{n}")
        store = Store.open(url)
        count = store.count_calls()
        store.close()
        if count == n:
            return url
        if count:
            raise SystemExit(f"schema telmon_bench_{n} holds {count} calls, not {n}: drop it first")
        _fill(work, url, n)
        return url
    path = work / f"month-{n}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        store = Store.open(url)
        count = store.count_calls()
        store.close()
        if count == n:
            return url
        path.unlink()
    _fill(work, url, n)
    return url


def _fill(work: Path, url: str, n: int) -> None:
    """Store ``n`` copies of the captures' calls at ``url`` (through ``Store.save_calls``, facts included)."""
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
    print(f"made {n:,} calls in {time.monotonic() - started:.0f} s: {Store.display_url(url)}", file=sys.stderr)


LIMIT = """
import csv, sys, time
import sqlalchemy as sa
from monitor.report.period import parse_month
url, out = sys.argv[1], sys.argv[2]
since, until = parse_month("{month}").bounds
engine = sa.create_engine(url)
with engine.connect() as conn:
    raw = conn.connection.dbapi_connection
    cur = raw.cursor(name="limit") if engine.dialect.name == "postgresql" else raw.cursor()
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    started = time.monotonic()
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        cur.execute(f"SELECT * FROM calls WHERE started_at >= {{mark}} AND started_at < {{mark}} "
                    "ORDER BY started_at, id", (since, until))
        n = 0
        while rows := cur.fetchmany(5000):
            writer.writerows(rows)
            n += len(rows)
    print(n, time.monotonic() - started)
"""


def run_limit(url: str, out: Path) -> tuple[float, float, float]:
    """The bare read-and-write limit: the month's ``calls`` rows by one range scan, written with csv.writer
    (the driver's own cursor, server-side on PostgreSQL; no formatting). (scan seconds, CPU s, RSS MiB)."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", LIMIT.format(month=MONTH), url, str(out / "limit.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    text = proc.stdout.read().decode() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"limit failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return float(text.split()[1]), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def run_format(url: str, fmt: str, out: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one ``telmon report`` process."""
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
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main() -> None:
    """Make the months, time the limit and each format on each, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, action="append", help="calls in the month (repeat; default 100k and 1M)")
    ap.add_argument("--work", default="/tmp/telmon-report-bench", help="where the databases and outputs go")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"),
                    help="also on this PostgreSQL database (a schema per month size, kept for the next run)")
    ap.add_argument("--backends", default="sqlite,postgresql", help="which of sqlite,postgresql (with --pg)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = args.calls or [100_000, 1_000_000]
    backends = [b for b in args.backends.split(",") if b == "sqlite" or (b == "postgresql" and args.pg)]
    rows = []
    for backend in backends:
        for n in sizes:
            url = make_month(work, n, args.pg if backend == "postgresql" else None)
            out = work / f"out-{backend}-{n}"
            for fmt in ["limit"] + [f for f in args.formats.split(",") if f]:
                load = os.getloadavg()[0]
                seconds, cpu, rss = run_limit(url, out) if fmt == "limit" else run_format(url, fmt, out)
                rows.append({"backend": backend, "calls": n, "format": fmt, "seconds": seconds, "cpu_seconds": cpu,
                             "peak_rss_mib": rss, "load": load, "load_after": os.getloadavg()[0]})
                print(f"{backend:<10} {n:>9,} calls  {fmt:<5}  {seconds:6.1f} s  CPU {cpu:6.1f} s  "
                      f"peak RSS {rss:6.0f} MiB  load {load:.2f}", file=sys.stderr, flush=True)
    print(f"\n{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d')}\n")
    print("| backend | calls | format | seconds | x limit | CPU s | peak RSS (MiB) | load |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|")
    limits = {(r["backend"], r["calls"]): r["seconds"] for r in rows if r["format"] == "limit"}
    for r in rows:
        ratio = r["seconds"] / limits[(r["backend"], r["calls"])]
        print(f"| {r['backend']} | {r['calls']:,} | {r['format']} | {r['seconds']:.1f} | {ratio:.2f} | "
              f"{r['cpu_seconds']:.1f} | {r['peak_rss_mib']:.0f} | {r['load']:.2f} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

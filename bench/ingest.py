"""Ingest throughput, one core, the same bytes, one run (run by hand; issue 7's stage (a)-(e)).

(a) bare frame split (the Python ceiling), (b) pyst2's ManagerMsg parsing alone
(the named library), (c) telmon's decoder (full parse, and with the tracker's
noise filter), (d) parse + track, (e) parse + track + store (SQLite; PostgreSQL
with --pg) + metrics, and the backfill extrapolation to 2x10^8 events.

    python bench/ingest.py [--events 1000000] [--pg URL] [--json-out r.json]

Each stage reports wall time and CPU time (``time.process_time``): on a shared
machine the wall clock also counts time other work held the core.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from asterisk.manager import ManagerMsg  # noqa: E402

from bench.stream import write_stream  # noqa: E402
from monitor.ami.codec import AmiDecoder, Message  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from monitor.core.tracker import Tracker, TrackerOptions  # noqa: E402
from monitor.directory import load_directory  # noqa: E402
from monitor.metrics import Metrics  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.replay import replay_files  # noqa: E402
from monitor.storage.sink import StoreSink  # noqa: E402
from monitor.storage.store import Store  # noqa: E402

CHUNK = 1 << 20


RESULTS: dict = {"stages": {}}


def timed(label: str, events: int, fn) -> float:
    """Run one stage; print and remember wall and CPU rates; returns events per wall second."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = events / seconds
    RESULTS["stages"][label] = {"seconds": seconds, "events_per_s": rate, "cpu_seconds": cpu,
                                "events_per_cpu_s": events / cpu, "loadavg": os.getloadavg()}
    print(f"  {label:58} {seconds:7.2f} s  {rate:10,.0f} events/s  ({events / cpu:10,.0f} per CPU-s)", flush=True)
    return rate


def chunks(path: Path):
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def bare_split(path: Path) -> int:
    n, rest = 0, b""
    for chunk in chunks(path):
        parts = (rest + chunk).split(b"\r\n\r\n")
        rest = parts.pop()
        n += len(parts)
    return n


def pyst2_parse(path: Path) -> None:
    rest = b""
    for chunk in chunks(path):
        parts = (rest + chunk).split(b"\r\n\r\n")
        rest = parts.pop()
        for frame in parts:
            ManagerMsg([line + "\r\n" for line in frame.decode("utf-8", "replace").split("\r\n")])


def telmon_parse(path: Path, wanted) -> None:
    decoder = AmiDecoder(wanted=wanted)
    for chunk in chunks(path):
        decoder.feed(chunk)


def parse_track(path: Path) -> None:
    tracker = Tracker()
    decoder = AmiDecoder(wanted=tracker.wanted_events, wanted_when=tracker.wanted_when)
    for chunk in chunks(path):
        for item in decoder.feed(chunk):
            if isinstance(item, Message) and item.event:
                tracker.feed(item)


def full(path: Path, url: str, schema: str = "") -> None:
    """Stage (e): parse, track, store and count metrics, as ``telmon replay`` does."""
    settings = load_settings(None, {}, {})
    directory = load_directory(settings.directory_path)
    store = Store.open(url, connect_args={"options": f"-csearch_path={schema}"}) if schema else Store.open(url)
    sink = StoreSink(store, batch=2000)
    metrics = Metrics(directory, settings.cadence_obj, settings.thresholds_obj)
    pipeline = Pipeline(settings.cadence_obj, settings.thresholds_obj, TrackerOptions(), directory.department_of,
                        [sink, metrics])
    replay_files(pipeline, [path])
    pipeline.flush("end of benchmark")
    sink.flush()
    print(f"    stored {store.count_calls():,} calls", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"),
                    help="also run (e) on this PostgreSQL URL (an empty database or schema; env BENCH_PG_URL)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.ami"
        n = write_stream(path, a.events)
        print(f"stream: {n:,} events, {path.stat().st_size / 1e6:.0f} MB "
              "(the captures repeated, ids and times shifted)")
        ra = timed("(a) bare frame split", n, lambda: bare_split(path))
        rb = timed("(b) pyst2 ManagerMsg parse", n, lambda: pyst2_parse(path))
        timed("(c) telmon parse, every frame", n, lambda: telmon_parse(path, None))
        timed("(c') telmon parse, noise skipped before parsing", n,
              lambda: telmon_parse(path, Tracker().wanted_events))
        timed("(d) parse + track", n, lambda: parse_track(path))
        re_ = timed("(e) parse + track + store (SQLite) + metrics", n, lambda: full(path, f"sqlite:///{tmp}/b.db"))
        if a.pg:
            # A fresh schema, dropped afterwards: every run stores into empty tables.
            import sqlalchemy as sa
            schema, admin = f"telmon_bench_{os.getpid()}", sa.create_engine(a.pg)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            try:
                timed("(e) parse + track + store (PostgreSQL) + metrics", n, lambda: full(path, a.pg, schema))
            finally:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        print(f"  ratios: (e)/(b) = {re_ / rb:.2f}x, (e)/(a) = {re_ / ra:.3f}x")
        print(f"  backfill of 2x10^8 events at (e): {2e8 / re_ / 60:.0f} min")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        RESULTS.update(events=n, mb=path.stat().st_size / 1e6, peak_rss_mb=resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(RESULTS, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

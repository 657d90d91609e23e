"""Tracker memory over 10^6 calls: must stay flat once calls finish, stale calls flushed by expiry.

The captures' call-tracking events (what the codec's noise filter lets through)
are parsed once; repetition ``k`` is then built as plain dicts with every
uniqueid/linkedid, channel counter and timestamp shifted exactly as
bench/stream.py shifts the bytes (building dicts, not re-parsing bytes, is what
makes 10^6 calls -- 1.6x10^7 events -- take minutes rather than an hour). In
every repetition one call loses its last ``Hangup``, so it never ends: the
tracker must flush it after ``stale_call_seconds`` of event time, or memory grows.

The events go through telmon's Pipeline (tracker, rules, the R8 callback book)
with the Prometheus Metrics sink; every 10^5 calls the RSS and the sizes of every
table that could grow are printed.

    .venv/bin/python bench/memory.py [--calls 1000000] [--every 100000] [--tracemalloc]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.stream import base_stream  # noqa: E402
from monitor.ami.codec import AmiDecoder, Message  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from monitor.core.tracker import Tracker, TrackerOptions  # noqa: E402
from monitor.directory import load_directory  # noqa: E402
from monitor.metrics import Metrics  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402

SPAN, ID_STEP, CHAN_STEP = 600, 100000, 4096       # as bench/stream.write_stream shifts
_TS = re.compile(r"^(\d{10})\.(\d{6})$")
_ID = re.compile(r"^(17955\d{5})\.(\d{1,5})$")
_CHAN = re.compile(r"(/[\w@-]+?-)([0-9a-f]{8})(?=[;\r\n ,]|$)")
_ID_ANY = re.compile(r"(?<![\d.])(17955\d{5})\.(\d{1,5})(?![\d])")


def shifter(value: str) -> Callable[[int], str] | None:
    """How a header value changes with repetition ``k``; None when it does not."""
    if m := _TS.match(value):
        sec, frac = int(m.group(1)), m.group(2)
        return lambda k: f"{sec + k * SPAN}.{frac}"
    if m := _ID.match(value):
        epoch, n = m.group(1), int(m.group(2))
        return lambda k: f"{epoch}.{n + k * ID_STEP}"
    if _CHAN.search(value) or _ID_ANY.search(value):   # channel names, dial strings: the general case
        def general(k: int) -> str:
            out = _ID_ANY.sub(lambda m: f"{m.group(1)}.{int(m.group(2)) + k * ID_STEP}", value)
            return _CHAN.sub(lambda m: m.group(1) + "%08x" % (int(m.group(2), 16) + k * CHAN_STEP), out)
        return general
    return None


def templates(drop_one_hangup: bool) -> list[tuple[dict[str, str], list[tuple[str, str]]]]:
    """The base repetition's tracked events as (static fields, [(key, dynamic value)])."""
    tracker = Tracker()
    events = [m for m in AmiDecoder(wanted=tracker.wanted_events, wanted_when=tracker.wanted_when).feed(base_stream())
              if isinstance(m, Message) and m.event]
    if drop_one_hangup:   # the Hangup that ends the first call: that call goes stale, every repetition
        for i, e in enumerate(events):
            if tracker.feed(e):
                del events[i]
                break
    out = []
    for e in events:
        static = {k: v for k, v in e.items() if shifter(v) is None}
        out.append((static, [(k, v) for k, v in e.items() if k not in static]))
    return out


def sizes(pipeline: Pipeline, metrics: Metrics) -> dict[str, int]:
    """Every table that holds per-call state."""
    t = pipeline.tracker
    return {"live_calls": len(t.live_calls()), "channels": len(t.channels), "finished_uids": len(t._finished),
            "r8_pending": len(pipeline.book.pending), "metric_labels": len(metrics._labels),
            "anomalies": len(t.anomalies), "objects": len(gc.get_objects())}


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(calls: int, every: int, trace: bool) -> dict[str, Any]:
    """Feed repetitions until ``calls`` calls finished; returns the samples."""
    settings = load_settings(None, {}, {})
    directory = load_directory(settings.directory_path)
    metrics = Metrics(directory, settings.cadence_obj, settings.thresholds_obj)
    finished = [0]

    class Count:
        def call_finished(self, f: Any) -> None:
            finished[0] += 1

        def verdict_settled(self, linkedid: str, verdict: Any) -> None:
            pass

    options = TrackerOptions(stale_after=settings.tracker.stale_call_seconds)
    pipeline = Pipeline(settings.cadence_obj, settings.thresholds_obj, options, directory.department_of,
                        [Count(), metrics])
    base = templates(drop_one_hangup=True)
    dynamic = {v: shifter(v) for _, dyn in base for _, v in dyn}
    if trace:
        tracemalloc.start()
    samples: list[dict[str, Any]] = []
    start, cpu, k, next_sample = time.perf_counter(), time.process_time(), 0, every
    events = 0
    while finished[0] < calls:
        shifted = {v: f(k) for v, f in dynamic.items()}   # each distinct value once per repetition
        for static, dyn in base:
            event = static.copy()
            for key, value in dyn:
                event[key] = shifted[value]
            pipeline.feed_event(event)
        events += len(base)
        k += 1
        if finished[0] >= next_sample:
            next_sample += every
            gc.collect()
            sample = {"calls": finished[0], "events": events, "rss_mb": rss_mb(),
                      "seconds": time.perf_counter() - start, **sizes(pipeline, metrics)}
            if trace:
                sample["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
            samples.append(sample)
            print("  " + "  ".join(f"{k_}={v:.1f}" if isinstance(v, float) else f"{k_}={v:,}"
                                   for k_, v in sample.items()), flush=True)
    counts = pipeline.tracker.counts
    return {"calls": finished[0], "events": events, "repetitions": k, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu, "incomplete": counts["incomplete"],
            "stale_after": options.stale_after, "samples": samples, "loadavg": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100_000, help="sample every N finished calls")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (about 2x slower)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    r = run(a.calls, a.every, a.tracemalloc)
    s = r["samples"]
    first, last = s[min(1, len(s) - 1)], s[-1]
    r["growth_mb"] = last["rss_mb"] - first["rss_mb"]
    print(f"{r['calls']:,} calls ({r['events']:,} events, {r['incomplete']:,} flushed stale as incomplete) "
          f"in {r['seconds']:.0f} s; RSS {first['rss_mb']:.1f} MB at {first['calls']:,} calls -> "
          f"{last['rss_mb']:.1f} MB at {last['calls']:,} ({r['growth_mb']:+.1f} MB); "
          f"live calls at the end {last['live_calls']}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(r, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

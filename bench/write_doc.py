"""docs/BENCHMARKS.md from the results of bench/run_all.py (``make bench``).

Every figure in the document comes from the JSON of one run; nothing is typed
in by hand except what the profile led to change (the "Hot path" section),
which is history, not a measurement of this run.

    .venv/bin/python bench/write_doc.py /tmp/telmon-bench/all.json [--out docs/BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    import sys
    sys.path.insert(0, str(ROOT))
from bench.write_speech import speech_sections  # noqa: E402

HOT_PATH = """What the profile of stage (e) showed (`bench/profile_ingest.py`, pyinstrument,
300 k events) and what changed (commit "Ingest hot path", measured A/B on the
same stream in CPU seconds because the box was shared: **91,900 -> 115,700
events per CPU-second, +26 %**):

* `AmiDecoder._parse`, the per-line `partition` loop, was the largest single cost
  (34 % of the run). Plain frames (every line `Key: value`, no repeated header)
  are now split in bulk (`line.split(": ", 1)` into the dict); anything else
  falls back to the careful loop. Noise event names are compared as bytes,
  without decoding. `tests/test_hot_path.py` checks both paths agree.
* `Store.save_calls` built SQLAlchemy mapped objects only to read their columns
  back (22 % of the run, mostly attribute instrumentation); it now builds the
  insert dicts directly (`storage/convert.insert_values`, the one record-to-row mapping; the tests
  check it fills every column of every table).
* The R8 callback book compared every outbound call's number with every pending
  missed call (`same_number`, 7 %, and growing with a day's missed calls); it now
  looks the number up by key (`number_key`), and `expire` (every minute of event
  time) no longer copies the pending list."""


COMPARISONS = "## Version comparisons"


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM and Python of this machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": mem / 2**20, "python": platform.python_version(),
            "kernel": platform.release()}


def load(d: dict[str, Any] | None) -> str:
    """The load average a figure was taken under (1-minute value)."""
    la = (d or {}).get("loadavg") or (d or {}).get("_run", {}).get("load_after")
    return f"{la[0]:.2f}" if la else "?"


def verdict(ok: bool, how: str) -> str:
    return f"**met** ({how})" if ok else f"**not met** ({how})"


def sections(r: dict[str, Any]) -> list[str]:
    """The document body, one section per benchmark present in ``r``."""
    out: list[str] = []
    targets: list[tuple[str, str, str]] = []
    ing = r.get("ingest", {})
    if ing and not ing.get("_failed"):
        st = ing["stages"]
        out.append(f"## Ingest throughput, one core, the same bytes (`{ing['_run']['command']}`)\n\n"
                   f"Stream: {ing['events']:,} events / {ing['mb']:.0f} MB made by `bench/stream.py` from the 14 "
                   "real captures repeated with every uniqueid/linkedid, channel counter and timestamp shifted "
                   "(noise events included).\n\n| stage | seconds | events/s | events per CPU-s | load |\n"
                   "|---|---|---|---|---|")
        for label, s in st.items():
            out.append(f"| {label} | {s['seconds']:.2f} | {s['events_per_s']:,.0f} | {s['events_per_cpu_s']:,.0f} | "
                       f"{s['loadavg'][0]:.2f} |")
        a, b = st["(a) bare frame split"], st["(b) pyst2 ManagerMsg parse"]
        e = st["(e) parse + track + store (SQLite) + metrics"]
        eb, ea = e["events_per_cpu_s"] / b["events_per_cpu_s"], e["events_per_cpu_s"] / a["events_per_cpu_s"]
        ebw = e["events_per_s"] / b["events_per_s"]
        out.append(f"\nRatios (CPU time; wall in brackets): (e)/(b) = **{eb:.2f}x** ({ebw:.2f}x), "
                   f"(e)/(a) = **{ea:.3f}x** ({e['events_per_s'] / a['events_per_s']:.3f}x). "
                   f"Peak RSS of the whole run {ing['peak_rss_mb']:.0f} MB.\n")
        targets.append(("ingest (e) >= 1.0x pyst2 (b)", f"{eb:.2f}x", verdict(eb >= 1.0, f"by {eb - 1:+.0%}")))
    prof = r.get("profile", {})
    out.append("## Profile of stage (e) and the hot path\n\n" + HOT_PATH + "\n")
    if prof and not prof.get("_failed"):
        out.append(f"This run (`{prof['_run']['command']}`): stage (e) {prof['events_per_s']:,.0f} events/s wall, "
                   f"{prof['events_per_cpu_s']:,.0f} per CPU-second (load {load(prof)}). Where the time goes now, "
                   "by self time under the profiler:\n\n| function | share |\n|---|---|")
        out += [f"| `{f['function']}` | {f['share']:.1%} |" for f in prof["self_time"][:10]]
        out.append("\nThe rest of (e) is spread thin: SQLAlchemy's execute path for the batched inserts, "
                   "the tracker's handlers, rules and metrics, none above a few percent; the next step "
                   "would be a C-level frame splitter (the (a)/(c') gap), not another Python tweak.\n")
    live = r.get("live", {})
    if live and not live.get("_failed"):
        m, d = live["metrics"], live["db"]
        out.append(f"## Latency under load (`{live['_run']['command']}`)\n\n"
                   f"`telmon run` as a subprocess (speech on; the demo greeting spooled, so the worker loaded "
                   f"the model during the run), fed by `SimulatedPbx` over TCP at {live['rate']:,.0f} events/s for "
                   f"{live['seconds']:.0f} s ({live['events']:,} events, {live['calls']} calls). Delay from a call's "
                   "last `Hangup` written on the socket to (a) `/metrics` showing `telmon_calls_total` and "
                   "`telmon_rule_verdicts_total` counting it (a separate process scraping every "
                   f"{live['scrape_gap_ms']:.0f} ms; a scrape of {live['scrape_bytes']:,} bytes takes "
                   f"{live['scrape_ms_p50']:.0f} ms, so (a) includes up to one gap plus one scrape), "
                   "(b) the call's row committed in SQLite (a separate process polling the file every ms).\n\n"
                   "| delay | p50 | p99 | max | calls | load |\n|---|---|---|---|---|---|")
        for what, s in (("(a) visible on /metrics", m), ("(b) committed in the database", d)):
            out.append(f"| {what} | {s['p50']:.1f} ms | {s['p99']:.1f} ms | {s['max']:.1f} ms | {s['n']} | "
                       f"{load(live)} |")
        out.append(f"\ntelmon used {live['telmon_cpu_share']:.0%} of a core during the run (most of it serving the "
                   f"{live['scrapes']:,} scrapes). RSS of `telmon run`: {live['rss_telmon_mb']:.0f} MB, plus "
                   f"{live['rss_speech_mb']:.0f} MB for the speech worker process with the Vosk model loaded "
                   f"(total {live['rss_telmon_mb'] + live['rss_speech_mb']:.0f} MB).\n")
        for what, s in (("metrics", m), ("database", d)):
            targets.append((f"latency p99 < 50 ms ({what})", f"{s['p99']:.1f} ms",
                            verdict(s["p99"] < 50, f"{50 - s['p99']:+.1f} ms margin")))
    mem = r.get("memory", {})
    if mem and not mem.get("_failed"):
        s = mem["samples"]
        out.append(f"## Tracker memory over {mem['calls']:,} calls (`{mem['_run']['command']}`)\n\n"
                   f"{mem['events']:,} call-tracking events through the Pipeline (tracker, rules, R8 book) and the "
                   f"Metrics sink in {mem['seconds']:.0f} s; one call per repetition never ends "
                   f"({mem['incomplete']:,} flushed as incomplete after {mem['stale_after']:.0f} s of event time).\n\n"
                   "| calls | RSS MB | live calls | channels | R8 pending | metric labels | GC objects |\n"
                   "|---|---|---|---|---|---|---|")
        for x in s:
            out.append(f"| {x['calls']:,} | {x['rss_mb']:.1f} | {x['live_calls']} | {x['channels']} | "
                       f"{x['r8_pending']} | {x['metric_labels']:,} | {x['objects']:,} |")
        growth = s[-1]["rss_mb"] - s[min(1, len(s) - 1)]["rss_mb"]
        flat = growth < 5.0 and s[-1]["live_calls"] == s[min(1, len(s) - 1)]["live_calls"]
        out.append(f"\nRSS from the 2nd sample to the last: {growth:+.1f} MB (load {load(mem)}). Metric labels are "
                   "bounded by design at 50,000 calls (verdicts settled later need them).\n")
        targets.append(("tracker memory flat over 10^6 calls", f"{growth:+.1f} MB",
                        verdict(flat, "growth < 5 MB, live calls bounded")))
    out += speech_sections(r, targets)
    bf = r.get("backfill", {})
    if bf and not bf.get("_failed"):
        out.append(f"## Backfill: `telmon replay` end to end (`{bf['_run']['command']}`)\n\n"
                   "| events | wall s | events/s | CPU s | peak RSS MB | load |\n|---|---|---|---|---|---|")
        for x in bf["runs"]:
            out.append(f"| {x['events']:,} | {x['wall_seconds']:.1f} | {x['events_per_s']:,.0f} | "
                       f"{x['cpu_seconds']:.1f} | {x['peak_rss_mb']:.0f} | {x['loadavg'][0]:.2f} |")
        year = bf.get("year_minutes_marginal", bf["year_minutes_wall"])
        out.append(f"\n2x10^8 events: **{year:.0f} min** at the marginal rate between the two sizes "
                   f"({bf['year_minutes_wall']:.0f} min at the largest run's overall rate, start-up included). "
                   + (f"Peak RSS {bf['runs'][0]['peak_rss_mb']:.0f} MB at {bf['runs'][0]['events']:,} events and "
                      f"{bf['runs'][-1]['peak_rss_mb']:.0f} MB at {bf['runs'][-1]['events']:,} "
                      f"({bf['rss_mb_per_million_events']:+.0f} MB per 10^6 events; `telmon replay --quiet` keeps "
                      "no finished call, so a year in one command stays near that)." if "year_rss_gb" in bf else "")
                   + "\n")
        targets.append(("backfill 2x10^8 events < 60 min", f"{year:.0f} min",
                        verdict(year < 60, f"{60 - year:+.0f} min")))
    fc = r.get("facts_cost", {})
    if fc and not fc.get("_failed"):
        out.append(f"## Keeping the report facts: ingest stage (e) with and without (`{fc['_run']['command']}`)\n\n"
                   f"Stage (e) from this tree and from {fc['baseline']} (the last commit without `call_facts`), "
                   "alternating, each run a fresh process and database; medians.\n\n"
                   "| backend | events | CPU s without | CPU s with | CPU | wall s without | wall s with | wall | "
                   "CPU s in the store without -> with | its share of the stage |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for backend in ("sqlite", "postgresql"):
            x = fc.get(backend)
            if not x:
                continue
            out.append(f"| {backend} | {x['events']:,} | {x['cpu']['baseline']:.2f} | {x['cpu']['facts']:.2f} | "
                       f"{x['slowdown_cpu']:+.1%} | {x['wall']['baseline']:.2f} | {x['wall']['facts']:.2f} | "
                       f"{x['slowdown_wall']:+.1%} | "
                       f"{x['store_cpu']['baseline']:.2f} -> {x['store_cpu']['facts']:.2f} | "
                       f"{x['slowdown_store']:+.1%} |")
            worse = max(x["slowdown_cpu"], x["slowdown_store"])
            targets.append((f"keeping the facts slows ingest (e) <= 10 % ({backend})",
                            f"{x['slowdown_cpu']:+.1%} stage CPU, {x['slowdown_store']:+.1%} in the store",
                            verdict(worse <= 0.10, f"{0.10 - worse:+.1%} margin")))
        out.append("")
    out += export_section(r.get("_export"), targets)
    head = ["## Targets\n", "| target | this run | |", "|---|---|---|"]
    head += [f"| {t} | {v} | {ok} |" for t, v, ok in targets]
    return head + [""] + out


EXPORT_LIMITS = {"csv": 2.0, "html": 2.0, "pdf": 2.0, "xlsx": 3.0}   # x the limit at 1 M calls (issue 17)


def export_section(exp: dict[str, Any] | None, targets: list[tuple[str, str, str]]) -> list[str]:
    """The export table (every format as a multiple of the same run's read-and-write limit) and its targets."""
    out = ["## Export: a month of calls per format (issues 6, 17)\n"]
    if not exp:
        return out + ["Not measured in this run.\n"]
    runs = exp.get("runs", [])
    limits = {(x.get("backend", "sqlite"), x["calls"]): x["seconds"] for x in runs if x["format"] == "limit"}
    out.append(f"`{exp['command']}` (exit {exp['exit']}): each format is one `telmon report` process (start-up "
               "included; peak RSS with Chromium for PDF) on a month made from the captures; *limit* is one range "
               "scan of the month's `calls` rows written with `csv.writer`, timed inside its own process, in the "
               "same run on the same database. What the time is spent on: [docs/REPORT.md](REPORT.md).\n\n"
               "| backend | calls | format | seconds | x limit | CPU s | peak RSS (MiB) | load |\n"
               "|---|---:|---|---:|---:|---:|---:|---:|")
    for x in runs:
        limit = limits.get((x.get("backend", "sqlite"), x["calls"]))
        ratio = f"{x['seconds'] / limit:.2f}" if limit else "–"
        load = f"{x['load']:.2f}" if x.get("load") is not None else "—"
        out.append(f"| {x.get('backend', 'sqlite')} | {x['calls']:,} | {x['format']} | {x['seconds']:.1f} | {ratio} | "
                   f"{x.get('cpu_seconds', float('nan')):.1f} | {x['peak_rss_mib']:.0f} | {load} |")
    out.append("")
    for backend in sorted({x.get("backend", "sqlite") for x in runs}):
        mine = [x for x in runs if x.get("backend", "sqlite") == backend and x["format"] != "limit"]
        big = [x for x in mine if x["calls"] >= 1_000_000 and limits.get((backend, x["calls"]))]
        for x in big:
            ratio = x["seconds"] / limits[(backend, x["calls"])]
            goal = EXPORT_LIMITS.get(x["format"], 2.0)
            targets.append((f"export 1 M calls, {x['format']} <= {goal:g}x the limit ({backend})", f"{ratio:.2f}x",
                            verdict(ratio <= goal, f"{goal - ratio:+.2f}x margin")))
        small = [x for x in mine if x["calls"] == 100_000]
        if small:
            worst = max(small, key=lambda x: x["seconds"])
            targets.append((f"export 100 k calls < 2 s, every format ({backend})",
                            f"{worst['format']} {worst['seconds']:.1f} s",
                            verdict(worst["seconds"] < 2, f"{2 - worst['seconds']:+.1f} s")))
        growth = [(x["format"], x["peak_rss_mib"] / y["peak_rss_mib"] - 1) for x in big for y in small
                  if x["format"] == y["format"]]
        if growth:
            fmt, worst_growth = max(growth, key=lambda g: g[1])
            targets.append((f"export memory flat, 100 k -> 1 M within 20 % ({backend})", f"{fmt} {worst_growth:+.0%}",
                            verdict(worst_growth <= 0.2, f"{0.2 - worst_growth:+.0%} margin")))
    return out


def write_doc(r: dict[str, Any], path: Path) -> None:
    """Rewrite ``path`` from the results ``r`` of bench/run_all.py."""
    m = r.get("_machine") or machine()
    when = dt.datetime.fromtimestamp(r.get("_started", 0), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        "# Benchmarks\n",
        f"Written by `{r.get('_command', 'make bench')}` (bench/run_all.py) on {when}. Machine: {m['cpu']}, "
        f"{m['cores']} cores, {m['ram_gib']:.0f} GiB RAM, Python {m['python']}, Linux {m['kernel']}.\n",
        "Every figure has the 1-minute load average it was taken under: this box has 2 cores and was shared "
        "with other work, so wall-clock figures are noisy (a load near 2 means another job held a core). "
        "Ingest rates are also given per CPU-second, which the load does not inflate. Rerun `make bench` on "
        "a quiet machine for clean figures; each script under bench/ also runs alone (`--help`).\n",
        *sections(r),
    ]
    # Version comparisons (bench/compare.py, two versions in one run) are history, not this run's
    # figures: kept as they are when the rest is rewritten.
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = old[old.index(COMPARISONS):] if COMPARISONS in old else ""
    path.write_text("\n".join(text).rstrip() + "\n" + ("\n" + kept if kept else ""), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="all.json written by bench/run_all.py")
    ap.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    a = ap.parse_args()
    write_doc(json.loads(Path(a.results).read_text(encoding="utf-8")), Path(a.out))


if __name__ == "__main__":
    main()

"""``make bench``: run every benchmark, then rewrite docs/BENCHMARKS.md from their results.

Each benchmark is its own script (runnable alone, ``--help``) writing JSON with
``--json-out``; this runner starts them one after another as subprocesses (so
one's memory or threads never disturb the next), notes the load average before
and after each (a 2-core box shared with other work gives noisy figures; the
load tells a reader how noisy), and hands the results to bench/write_doc.py.
If ``bench/report_bench.py`` (export timings, issue 6) exists it is run too and
the document links its figures in docs/REPORT.md.

    .venv/bin/python bench/run_all.py [--quick] [--only ingest memory ... export] [--reuse] [--results DIR] [--no-doc]
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
from bench.write_doc import machine, write_doc  # noqa: E402

# name -> (script, full-size arguments, --quick arguments). Full sizes are issue 7's.
# PostgreSQL as on the development machine (BENCH_PG_URL to point elsewhere).
PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STEPS: dict[str, tuple[str, list[str], list[str]]] = {
    "ingest": ("ingest.py", ["--events", "1000000", "--pg", PG], ["--events", "100000"]),
    # What keeping the report facts costs stage (e): A/B against the last commit without them (issue 17).
    "facts_cost": ("facts_cost.py", ["--events", "1000000", "--rounds", "5", "--pg", PG],
                   ["--events", "100000", "--rounds", "1"]),
    "profile": ("profile_ingest.py", ["--events", "300000"], ["--events", "50000"]),
    "live": ("live_load.py", ["--rate", "1000", "--seconds", "60"], ["--rate", "1000", "--seconds", "15"]),
    "memory": ("memory.py", ["--calls", "1000000", "--every", "100000"], ["--calls", "50000", "--every", "10000"]),
    "speech_pool": ("speech_pool.py", ["--processes", "1", "2", "--rounds", "2"],
                    ["--processes", "1", "2", "--rounds", "1", "--limit", "20", "--burst", "6"]),
    "speech_pool_vosk": ("speech_pool.py", ["--processes", "2", "--rounds", "2", "--engines", "vosk", "--burst", "0"],
                         ["--processes", "2", "--rounds", "1", "--limit", "20", "--engines", "vosk", "--burst", "0"]),
    "speech_cost": ("speech_cost.py", ["--limit", "30"], ["--limit", "3"]),
    "greeting": ("greeting_eval.py", [], ["--limit", "20"]),
    "backfill": ("backfill.py", ["--events", "250000", "1000000"], ["--events", "30000", "100000"]),
}


def run_step(name: str, quick: bool, results: Path) -> dict[str, Any]:
    """Run one benchmark script; its JSON plus the runner's notes (command, time, load)."""
    script, full, small = STEPS[name]
    out = results / f"{name}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / script), *(small if quick else full), "--json-out", str(out)]
    shown = " ".join(["python", f"bench/{script}", *(small if quick else full)])
    print(f"\n== {name}: {shown}  (load {os.getloadavg()[0]:.2f})", flush=True)
    load_before, start = os.getloadavg(), time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT)
    note = {"command": shown, "exit": code, "runner_seconds": time.perf_counter() - start,
            "load_before": load_before, "load_after": os.getloadavg()}
    if code != 0 or not out.is_file():
        print(f"!! {name} failed (exit {code}); the document says so", flush=True)
        return {"_run": note, "_failed": True}
    data = json.loads(out.read_text(encoding="utf-8"))
    data["_run"] = note
    return data


def run_report_hook(results: Path) -> dict[str, Any] | None:
    """Export timings (issue 6) live in bench/report_bench.py when its author has added it."""
    script = ROOT / "bench" / "report_bench.py"
    if not script.is_file():
        return None
    print(f"\n== export: python bench/report_bench.py  (load {os.getloadavg()[0]:.2f})", flush=True)
    load_before, start = os.getloadavg(), time.perf_counter()
    out = results / "export.json"
    out.unlink(missing_ok=True)
    code = subprocess.call([sys.executable, str(script), "--pg", PG, "--json-out", str(out)], cwd=ROOT)
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"] if out.is_file() else []
    return {"command": f"python bench/report_bench.py --pg {PG}", "exit": code,
            "runner_seconds": time.perf_counter() - start,
            "load_before": load_before, "load_after": os.getloadavg(), "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a check that everything runs, not figures")
    ap.add_argument("--only", nargs="+", choices=list(STEPS) + ["export"], help="run only these steps")
    ap.add_argument("--reuse", action="store_true",
                    help="take the steps not run now from earlier results in --results, and write the document")
    ap.add_argument("--results", default=str(Path(tempfile.gettempdir()) / "telmon-bench"),
                    help="where the JSON results go (default: $TMPDIR/telmon-bench)")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    a = ap.parse_args()
    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)
    started = time.time()
    data: dict[str, Any] = {}
    for name in a.only or list(STEPS):
        if name != "export":
            data[name] = run_step(name, a.quick, results)
    if not a.only or "export" in a.only:
        data["_export"] = run_report_hook(results)
    if a.reuse:
        # Steps run at another time (e.g. the export after its code changed): their
        # JSON and load figures are kept as they were measured.
        earlier = results / "all.json"
        old = json.loads(earlier.read_text(encoding="utf-8")) if earlier.is_file() else {}
        for name in list(STEPS) + ["_export"]:
            if name not in data and name in old:
                data[name] = old[name]
    data["_machine"] = machine()
    data["_started"] = started
    data["_command"] = "make bench" + (" (bench/run_all.py --quick)" if a.quick else "")
    (results / "all.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    complete = all(n in data for n in STEPS) and data.get("_export") is not None
    if a.no_doc or a.quick or (a.only and not (a.reuse and complete)):
        # A partial or quick run must not replace the full figures in the document.
        print(f"\nresults in {results}/all.json (docs/BENCHMARKS.md not rewritten: partial or quick run; "
              f"bench/write_doc.py {results}/all.json rewrites it)")
        return
    write_doc(data, ROOT / "docs" / "BENCHMARKS.md")
    print(f"\ndocs/BENCHMARKS.md rewritten ({(time.time() - started) / 60:.0f} min)")


if __name__ == "__main__":
    main()

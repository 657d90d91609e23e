"""What keeping the report facts costs the write path (issue 17): ingest stage (e) with and without, A/B.

Stage (e) of ``bench/ingest.py`` (parse + track + store + metrics, as ``telmon replay``
does) runs on the same stream from two source trees: this one, and a baseline commit
from before the facts (default ``970c8f9``, checked out into a temporary ``git worktree``
and removed afterwards). The two alternate, ``--rounds`` times each, each run a fresh
process with a fresh database, so a shared machine's load falls on both alike; the
figure is CPU seconds (``time.process_time`` around the stage), which that load inflates
least, with the wall time beside it. Because whole-stage figures still vary by ±10 % from
run to run on a shared box, the CPU spent inside ``Store.save_calls`` and
``Store.set_verdict`` (the only code the facts change) is measured too: its difference,
over the baseline stage, is the facts' share with the noise of the rest left out.

    python bench/facts_cost.py [--events 1000000] [--rounds 3] [--baseline 970c8f9] [--pg URL]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.stream import write_stream  # noqa: E402

STAGE = """
import json, os, sys, time
tree, stream, url, schema = sys.argv[1:5]
sys.path.insert(0, tree)
from monitor.storage.store import Store
store_cpu = {"save_calls": 0.0, "set_verdict": 0.0}
for name in store_cpu:
    def timed(self, *a, _orig=getattr(Store, name), _name=name, **k):
        started = time.process_time()
        try:
            return _orig(self, *a, **k)
        finally:
            store_cpu[_name] += time.process_time() - started
    setattr(Store, name, timed)
from bench.ingest import full
from pathlib import Path
wall, cpu = time.perf_counter(), time.process_time()
full(Path(stream), url, schema)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "store_cpu": sum(store_cpu.values()), "load": os.getloadavg()[0], **store_cpu}))
"""


def run_stage(tree: Path, stream: Path, url: str, schema: str) -> dict[str, float]:
    """One stage (e) in a fresh process importing telmon from ``tree``."""
    proc = subprocess.run([sys.executable, "-c", STAGE, str(tree), str(stream), url, schema], cwd=tree,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"stage (e) in {tree} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Alternate the two trees, print and optionally save the medians."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", default="970c8f9", help="a commit without the facts")
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"), help="run on this PostgreSQL too")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), a.baseline], cwd=REPO, check=True,
                       capture_output=True)
        try:
            stream = Path(tmp) / "stream.ami"
            n = write_stream(stream, a.events)
            print(f"stream: {n:,} events; baseline {a.baseline} vs this tree", flush=True)
            backends = ["sqlite"] + (["postgresql"] if a.pg else [])
            for backend in backends:
                for k in range(a.rounds):
                    for name, tree in (("baseline", base), ("facts", REPO)):
                        url, schema = f"sqlite:///{tmp}/e-{name}-{k}.db", ""
                        if backend == "postgresql":
                            url, schema = a.pg, _schema(a.pg, f"telmon_cost_{os.getpid()}_{name}_{k}", True)
                        try:
                            got = run_stage(tree, stream, url, schema)
                        finally:
                            if backend == "postgresql":
                                _schema(a.pg, schema, False)
                            else:
                                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
                        results.setdefault(backend, {}).setdefault(name, []).append(got)
                        print(f"  {backend:<10} {name:<8} round {k + 1}: CPU {got['cpu']:.2f} s (store "
                              f"{got['store_cpu']:.2f} s), wall {got['wall']:.2f} s, load {got['load']:.2f}",
                              flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, capture_output=True)
    summary = {}
    for backend, runs in results.items():
        cpu = {name: statistics.median(r["cpu"] for r in rs) for name, rs in runs.items()}
        wall = {name: statistics.median(r["wall"] for r in rs) for name, rs in runs.items()}
        store = {name: statistics.median(r["store_cpu"] for r in rs) for name, rs in runs.items()}
        summary[backend] = {"events": n, "cpu": cpu, "wall": wall, "store_cpu": store,
                            "slowdown_cpu": cpu["facts"] / cpu["baseline"] - 1,
                            "slowdown_wall": wall["facts"] / wall["baseline"] - 1,
                            "slowdown_store": (store["facts"] - store["baseline"]) / cpu["baseline"], "runs": runs}
        print(f"{backend}: median CPU {cpu['baseline']:.2f} -> {cpu['facts']:.2f} s "
              f"({summary[backend]['slowdown_cpu']:+.1%}); wall {wall['baseline']:.2f} -> {wall['facts']:.2f} s "
              f"({summary[backend]['slowdown_wall']:+.1%}); in the store {store['baseline']:.2f} -> "
              f"{store['facts']:.2f} s CPU ({summary[backend]['slowdown_store']:+.1%} of the stage)")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"baseline": a.baseline, **summary}, indent=1), encoding="utf-8")


def _schema(pg: str, schema: str, create: bool) -> str:
    """Create (or drop) a PostgreSQL schema; returns its name."""
    import sqlalchemy as sa
    admin = sa.create_engine(pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    return schema


if __name__ == "__main__":
    main()

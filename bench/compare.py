"""Two versions of telmon benchmarked in one run: is HEAD no worse than BASE?

A refactor must not cost speed. Figures from different days on this shared 2-core box
are not comparable, so both versions are run here, step after step, alternating
(base, head, base, head ...) so that a change of load hits both alike:

    .venv/bin/python bench/compare.py --base 4b6f2e2 --steps ingest live memory backfill --rounds 2

BASE is checked out into a temporary git worktree and run with this virtualenv
(linked in as its ``.venv``, with the worktree first on ``PYTHONPATH``, so the
``telmon`` processes the benchmarks start run BASE's code too): only the
project's code differs. ``--work DIR`` keeps each run's JSON there; a run whose
JSON is already there is not repeated (a comparison cut short goes on). Each step
is a bench/run_all.py step at the sizes given below.
The table gives every figure both runs report, the median of the rounds, and
HEAD/BASE; a ``worse`` mark is set when HEAD is more than ``--tolerance`` worse in
the figure's own direction (rates: higher is better; seconds, bytes: lower).
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
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Mid sizes: large enough to be figures, small enough to run twice per version.
STEPS: dict[str, list[str]] = {
    "ingest": ["ingest.py", "--events", "300000", "--pg", PG],
    "live": ["live_load.py", "--rate", "1000", "--seconds", "30"],
    "memory": ["memory.py", "--calls", "300000", "--every", "100000"],
    "backfill": ["backfill.py", "--events", "100000", "300000"],
    "facts_cost": ["facts_cost.py", "--events", "300000", "--rounds", "2", "--pg", PG],
    # runs[i] = the formats in order (limit, csv, xlsx, html) on the reused 100 k-call PostgreSQL month
    "report": ["report_bench.py", "--calls", "100000", "--pg", PG, "--backends", "postgresql",
               "--formats", "csv,xlsx,html"],
}
HIGHER = ("per_s", "per_cpu_s", "rate", "ratio_e_b", "throughput")
LOWER = ("seconds", "_ms", "_s", "rss", "bytes", "mb", "minutes", "p50", "p95", "p99", "growth")
SKIP = ("loadavg", "load_", "events", "calls", "started", "time", "pid", "rounds")


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every numeric leaf of a JSON value as (dotted path, number)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and len(value) <= 20:
        for i, v in enumerate(value):
            yield from leaves(v, f"{prefix}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix, float(value)


def direction(path: str) -> int:
    """+1 when a larger figure is better, -1 when smaller is, 0 when it is not a measurement."""
    last = path.rsplit(".", 1)[-1].lower()
    if any(s in last for s in SKIP) and not any(h in last for h in HIGHER):
        return 0
    if any(h in last for h in HIGHER):
        return 1
    if any(low in last for low in LOWER):
        return -1
    return 0


def run_step(tree: Path, step: str, out: Path) -> dict[str, Any]:
    """Run one step of the checkout at ``tree``; its JSON result (empty when it failed)."""
    if out.exists():
        return json.loads(out.read_text(encoding="utf-8"))
    script, *args = STEPS[step]
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(tree / "bench" / script), *args, "--json-out", str(out)]
    try:
        code = subprocess.call(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, timeout=1800)
    except subprocess.TimeoutExpired:
        code = -1   # a benchmark that hangs is a failed run, not the end of the comparison
    if code != 0 or not out.exists():
        print(f"  {step} at {tree}: exit {code}", file=sys.stderr)
        return {}
    return json.loads(out.read_text(encoding="utf-8"))


def compare(base: list[dict[str, Any]], head: list[dict[str, Any]], tolerance: float) -> list[str]:
    """Markdown rows: figure, base median, head median, head/base, verdict."""
    def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
        values: dict[str, list[float]] = {}
        for r in runs:
            for k, v in leaves(r):
                values.setdefault(k, []).append(v)
        return {k: statistics.median(v) for k, v in values.items()}
    b, h = medians(base), medians(head)
    rows = []
    for key in sorted(set(b) & set(h)):
        sense = direction(key)
        if sense == 0 or b[key] == 0:
            continue
        ratio = h[key] / b[key]
        worse = ratio < 1 - tolerance if sense > 0 else ratio > 1 + tolerance
        rows.append(f"| {key} | {b[key]:.4g} | {h[key]:.4g} | {ratio:.3f} | {'**worse**' if worse else 'ok'} |")
    return rows


def main() -> int:
    """Check out BASE, run the steps alternately for BASE and this tree, print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the git revision to compare against")
    ap.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed loss before 'worse' (0.05 = 5 %%)")
    ap.add_argument("--out", help="write the markdown table here too")
    ap.add_argument("--work", help="keep the runs' JSON here (and reuse what is there)")
    ap.add_argument("--base-tree", help="an existing checkout of BASE to use (e.g. with a benchmark fixed by hand)")
    a = ap.parse_args()
    tmp = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="telmon-compare-"))
    tmp.mkdir(parents=True, exist_ok=True)
    made = not a.base_tree
    base_tree = Path(a.base_tree) if a.base_tree else Path(tempfile.mkdtemp(prefix="telmon-base-")) / "base"
    if made:
        subprocess.check_call(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base_tree), a.base])
    if not (base_tree / ".venv").exists():
        (base_tree / ".venv").symlink_to(ROOT / ".venv")   # benchmarks start .venv/bin/telmon of their tree
    head = subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True).strip()
    lines = [f"HEAD {head}"
             f" vs BASE {a.base}, {a.rounds} rounds alternating, load {os.getloadavg()[0]:.2f} at start", "",
             "| figure | base | head | head/base | |", "|---|---|---|---|---|"]
    try:
        for step in a.steps:
            runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
            for i in range(a.rounds):
                for name, tree in (("base", base_tree), ("head", ROOT)):
                    print(f"{step} round {i + 1}: {name}", file=sys.stderr)
                    runs[name].append(run_step(tree, step, tmp / f"{step}-{name}-{i}.json"))
            lines += [f"| **{step}** | | | | |"] + compare(runs["base"], runs["head"], a.tolerance)
    finally:
        if made:
            subprocess.call(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)])
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 1 if "**worse**" in text else 0


if __name__ == "__main__":
    sys.exit(main())

"""The workbench's call search and journey page on a generated PostgreSQL database (issue 16).

Builds N calls (default 1 M; the issue's target is 10 M: ``--calls 10000000``)
in a schema of their own with SQL ``generate_series`` (a call every 3 s: 10 M
is about a year), each with one offer and four verdicts, runs ``telmon web`` on
it, and measures per page, with the server running: the HTTP page (login,
session, rendering included) against the bare SQL of the same page
(``monitor.web.queries``) in the same run, p50/p95 over ``--repeat`` requests.

    .venv/bin/python bench/web_search.py [--calls N] [--repeat 20] [--json-out FILE] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from monitor.storage.store import Store  # noqa: E402
from monitor.web.accounts import Accounts  # noqa: E402
from monitor.web.queries import CallFilter, load_call, search_calls  # noqa: E402

PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = 1_764_547_200.0      # 2025-12-01 00:00 UTC
DEPTS = ["경영기획팀", "교류협력팀", "개발협력팀", "세계시민협력팀", "유라시아 협력센터"]
GENERATE = """
INSERT INTO calls (id, linkedid, direction, caller, dialed, outcome, started_at, ended_at, answered_by, answered_at,
                   department, uniqueids)
SELECT g, 'b' || g, (ARRAY['inbound','inbound','outbound','internal'])[1 + g % 4],
       '0101234' || lpad((g % 10000)::text, 4, '0'), '68' || (11 + g % 50),
       (ARRAY['answered','answered','answered','answered','abandoned','no_answer','busy'])[1 + g % 7],
       :t0 + g * 3.0, :t0 + g * 3.0 + 60, CASE WHEN g % 7 < 4 THEN '68' || (11 + g % 50) END,
       CASE WHEN g % 7 < 4 THEN :t0 + g * 3.0 + 4 END, (ARRAY[:d1, :d2, :d3, :d4, :d5])[1 + (g / 7) % 5], '[]'
FROM generate_series(:lo, :hi) g;
INSERT INTO offers (call_id, position, extension, channel, uniqueid, leg, dial_start, ring_start, ring_end,
                    answered_at, status, to_trunk)
SELECT g, 0, '68' || (11 + g % 50), 'PJSIP/x', 'u' || g, 'direct', :t0 + g * 3.0, :t0 + g * 3.0 + 0.1,
       :t0 + g * 3.0 + 4, CASE WHEN g % 7 < 4 THEN :t0 + g * 3.0 + 4 END, 'ANSWER', false
FROM generate_series(:lo, :hi) g;
INSERT INTO verdicts (call_id, rule, result, value, detail)
SELECT g, r, CASE WHEN (g + ascii(substr(r, 2))) % 9 = 0 THEN 'fail' ELSE 'pass' END, 'null', ''
FROM generate_series(:lo, :hi) g, unnest(ARRAY['R1','R4','R5','R8']) r;
"""


def build(url: str, calls: int) -> None:
    """Migrate, then generate the calls in chunks (one transaction each), then ANALYZE."""
    store = Store.open(url)
    step = 500_000
    for lo in range(1, calls + 1, step):
        hi = min(calls, lo + step - 1)
        with store.engine.begin() as conn:
            for statement in GENERATE.strip().split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement), {"t0": T0, "lo": lo, "hi": hi,
                                                      **{f"d{i + 1}": d for i, d in enumerate(DEPTS)}})
        print(f"  {hi:,} calls", file=sys.stderr, flush=True)
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    Accounts(store.engine).add("bench", "compliance", "bench-password-1")
    store.close()


def timed(fn, repeat: int) -> dict[str, float]:
    """p50 and p95 in milliseconds of ``repeat`` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--deep-page", type=int, default=200)
    parser.add_argument("--json-out")
    parser.add_argument("--keep", action="store_true", help="keep the schema (its name is printed)")
    args = parser.parse_args()
    from web_support import Client, Server
    schema = f"bench_web_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    results: dict = {"calls": args.calls, "schema": schema, "pages": []}
    try:
        t = time.perf_counter()
        build(url, args.calls)
        results["build_seconds"] = round(time.perf_counter() - t, 1)
        store = Store.open(url)
        server = Server(url, Path("/tmp") / schema).start()   # no recordings: the spool is never read
        client = Client(server)
        client.login("bench", "bench-password-1")
        mid = T0 + args.calls * 3.0 / 2
        day = time.strftime("%Y-%m-%d", time.localtime(mid))
        week = time.strftime("%Y-%m-%d", time.localtime(mid + 7 * 86400))
        combos = {
            "none": ({}, CallFilter()),
            "department": ({"department": DEPTS[1]}, CallFilter(department=DEPTS[1])),
            "person": ({"person": "6831"}, CallFilter(person="6831")),
            "direction+outcome": ({"direction": "outbound", "outcome": "answered"},
                                  CallFilter(direction="outbound", outcome="answered")),
            "rule+result": ({"rule": "R1", "result": "fail"}, CallFilter(rule="R1", result="fail")),
            "period+department+rule": ({"since": day, "until": week, "department": DEPTS[2], "rule": "R4",
                                        "result": "fail"},
                                       CallFilter(since=time.mktime(time.strptime(day, "%Y-%m-%d")),
                                                  until=time.mktime(time.strptime(week, "%Y-%m-%d")) + 86400,
                                                  department=DEPTS[2], rule="R4", result="fail")),
        }
        from urllib.parse import urlencode
        for name, (params, f) in combos.items():
            for page in (1, args.deep_page):
                http = timed(lambda: client.get("/calls?" + urlencode(dict(params, page=page))), args.repeat)
                sql = timed(lambda: search_calls(store.engine, f, page, 50), args.repeat)
                row = {"query": name, "page": page, "http": http, "sql": sql,
                       "ratio_p95": round(http["p95_ms"] / max(sql["p95_ms"], 0.01), 2)}
                results["pages"].append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
        linkedid = f"b{args.calls // 2}"
        http = timed(lambda: client.get(f"/calls/{linkedid}"), args.repeat)
        sql = timed(lambda: load_call(store.engine, linkedid), args.repeat)
        results["journey"] = {"http": http, "sql": sql,
                              "ratio_p95": round(http["p95_ms"] / max(sql["p95_ms"], 0.01), 2)}
        print(json.dumps(results["journey"]), flush=True)
        server.stop()
        store.close()
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

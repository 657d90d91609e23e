"""FastAGI under a burst: N answers at once against one session alone, in the same run.

Each session is Asterisk's side played over loopback (environment block, a reply
per command) against ``telmon run``'s FastAGI server with the greeting hook.
Prints the time from connect to the session's end: the median of sessions one at
a time (the baseline), and p50/p99/max when N connect at once, with the ratio.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.directory import load_directory  # noqa: E402
from monitor.live.fastagi import AgiServer  # noqa: E402
from monitor.live.greeting_hook import greeting_handlers  # noqa: E402

ENV = ("agi_network: yes\nagi_network_script: answered\nagi_request: agi://127.0.0.1/answered\n"
       "agi_channel: PJSIP/6831-00000001\nagi_uniqueid: {u}\nagi_arg_1: 6831\nagi_arg_2: {u}\n\n")


def session(port: int, n: int) -> float:
    """One session as Asterisk plays it; seconds from connect to the server closing it."""
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        rfile = sock.makefile("rb")
        sock.sendall(ENV.format(u=f"1795574606.{n}").encode())
        while rfile.readline():
            sock.sendall(b"200 result=1\n")
    return time.perf_counter() - began


def main() -> None:
    """Measure and print (``--json-out`` also writes the figures)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    directory = load_directory(Path(__file__).resolve().parent.parent / "monitor" / "data" / "directory.yaml")
    with tempfile.TemporaryDirectory() as spool:
        srv = AgiServer("127.0.0.1", 0, greeting_handlers(directory, spool, "wav16")).start()
        alone = statistics.median(session(srv.port, n) for n in range(30))
        with ThreadPoolExecutor(max_workers=args.sessions) as pool:
            burst = sorted(pool.map(lambda n: session(srv.port, 1000 + n), range(args.sessions)))
        srv.stop()
    p = {q: burst[min(len(burst) - 1, int(q / 100 * len(burst)))] for q in (50, 99)}
    out = {"sessions": args.sessions, "alone_median_ms": alone * 1000, "burst_p50_ms": p[50] * 1000,
           "burst_p99_ms": p[99] * 1000, "burst_max_ms": burst[-1] * 1000, "served": len(burst),
           "p99_over_alone": p[99] / alone}
    print(json.dumps(out, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()

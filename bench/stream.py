"""A large AMI stream made from the real captures, every call distinct (for the benchmarks).

The captures are repeated; each repetition shifts every uniqueid/linkedid counter,
every channel-name counter and every timestamp, so no two repetitions share a
call, a channel or a moment, while the bytes keep Asterisk's exact shape (noise
events included).

    python bench/stream.py OUT.ami [--events 1000000]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TRACES = Path(__file__).resolve().parent.parent / "monitor" / "data" / "traces"
_ID = re.compile(rb"(?<![\d.])(17955\d{5})\.(\d{1,5})(?![\d])")        # uniqueid / linkedid: epoch.counter
_TS = re.compile(rb"(Timestamp: )(\d{10})\.(\d{6})")
_CHAN = re.compile(rb"(/[\w@-]+?-)([0-9a-f]{8})(?=[;\r\n ,])")


def base_stream() -> bytes:
    """The captures' events in order, without each capture's banner and login response."""
    parts = []
    for path in TRACES.glob("*.ami"):
        data = path.read_bytes()
        start = data.index(b"Event: ")
        first = _TS.search(data, start)
        head = first.group(2) + first.group(3) if first else b""
        parts.append((head, data[start:].rsplit(b"Response: Goodbye", 1)[0]))
    return b"".join(body for _, body in sorted(parts))   # in time order, as Asterisk sent them


def shifted(base: bytes, k: int, span: int) -> bytes:
    """Repetition ``k``: ids +k*100000, channel counters +k*4096, timestamps +k*span seconds."""
    out = _ID.sub(lambda m: m.group(1) + b"." + str(int(m.group(2)) + k * 100000).encode(), base)
    out = _TS.sub(lambda m: m.group(1) + str(int(m.group(2)) + k * span).encode() + b"." + m.group(3), out)
    return _CHAN.sub(lambda m: m.group(1) + b"%08x" % (int(m.group(2), 16) + k * 4096), out)


def write_stream(out: Path, events: int) -> int:
    """Write at least ``events`` events; returns the number written."""
    base = base_stream()
    per = base.count(b"\r\n\r\n")
    reps = -(-events // per)
    with open(out, "wb") as fh:
        fh.write(b"Asterisk Call Manager/11.0.0\r\n")
        for k in range(reps):
            fh.write(shifted(base, k, 600))
    return reps * per


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--events", type=int, default=1_000_000)
    a = ap.parse_args()
    n = write_stream(Path(a.out), a.events)
    print(f"{a.out}: {n} events", file=sys.stderr)

"""Greetings per second through telmon's real SpeechWorker process pool, on real 16 kHz clips.

Each clip of ``../shared/speech/real/wb16k`` (real Korean speech over G.722) is
handed to :class:`monitor.speech.worker.SpeechWorker` exactly as ``telmon run``
hands a finished call to it: a spool job names the recording and the answering
extension (a person of the bundled directory, so the grammar is a real per-call
grammar), ``call_finished`` queues it, a pool process checks it and the verdict
comes back through ``settle``. The corpus is read in place, never copied, and
``retain`` is on so the worker never deletes it (by default it deletes
recordings after the check).

The pool is warmed first (the model loads once per process: that load time is
reported separately), then every clip is submitted at once and the wall time to
the last verdict gives greetings per second, for 1 process and for 2.

    .venv/bin/python bench/speech_pool.py [--processes 1 2] [--rounds 2] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.config import load_settings  # noqa: E402
from monitor.core.record import INBOUND  # noqa: E402
from monitor.core.rules import Verdict  # noqa: E402
from monitor.directory import load_directory  # noqa: E402
from monitor.speech.worker import SpeechWorker  # noqa: E402

WB16K = Path(__file__).resolve().parent.parent.parent / "shared" / "speech" / "real" / "wb16k"


class Bench:
    """One SpeechWorker with ``processes`` processes, fed answered inbound calls."""

    def __init__(self, processes: int, spool: Path) -> None:
        settings = load_settings(None, {}, {})
        self.directory = load_directory(settings.directory_path)
        self.extensions = [p.extension for p in self.directory.people]
        self.spool = spool
        self.done = threading.Condition()
        self.verdicts: list[Verdict] = []
        self.seq = 0
        self.worker = SpeechWorker(str(spool), self.directory, self._settle, processes=processes,
                                   max_backlog=100_000, retain=True, limits=settings.speech.thresholds)

    def _settle(self, linkedid: str, verdict: Verdict) -> None:
        with self.done:
            self.verdicts.append(verdict)
            self.done.notify_all()

    def submit(self, clip: Path) -> None:
        """Spool a job for ``clip`` and finish its call, as the FastAGI service and the pipeline would."""
        self.seq += 1
        linkedid = f"1795600000.{self.seq}"
        ext = self.extensions[self.seq % len(self.extensions)]
        job = {"linkedid": linkedid, "extension": ext, "answering_audio": str(clip)}
        (self.spool / f"{linkedid}-1.json").write_text(json.dumps(job), encoding="utf-8")
        record = SimpleNamespace(outcome="answered", direction=INBOUND, linkedid=linkedid, answered_by=ext,
                                 caller="0212345678")
        self.worker.call_finished(SimpleNamespace(record=record, verdicts={"R1": Verdict("R1", "pass", 1, "")}))

    def wait_for(self, count: int) -> None:
        with self.done:
            self.done.wait_for(lambda: len(self.verdicts) >= count)


def measure(processes: int, clips: list[Path], rounds: int) -> dict[str, Any]:
    """Warm the pool, then time ``rounds`` passes over every clip."""
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(processes, Path(tmp))
        start = time.perf_counter()
        for clip in clips[: 2 * processes]:      # one model load per process, off the clock
            bench.submit(clip)
        bench.wait_for(2 * processes)
        warm = time.perf_counter() - start
        bench.verdicts.clear()
        cpu_before = os.times()
        start = time.perf_counter()
        for _ in range(rounds):
            for clip in clips:
                bench.submit(clip)
        bench.wait_for(rounds * len(clips))
        wall = time.perf_counter() - start
        cpu_after = os.times()
        bench.worker.close()
    checks = rounds * len(clips)
    child_cpu = (cpu_after.children_user + cpu_after.children_system) - (cpu_before.children_user + cpu_before.children_system)
    results = {v.result for v in bench.verdicts}
    return {"processes": processes, "checks": checks, "seconds": wall, "per_second": checks / wall,
            "ms_per_check_wall": 1000 * wall / checks, "warmup_seconds": warm, "results": sorted(results),
            "child_cpu_seconds": child_cpu, "loadavg": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="pool sizes to measure (default 1 2)")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the clips per pool size (default 2)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    clips = sorted(WB16K.glob("*.wav"))[: a.limit or None]
    if not clips:
        sys.exit(f"no clips in {WB16K}")
    out = []
    for n in a.processes:
        r = measure(n, clips, a.rounds)
        out.append(r)
        print(f"{n} process(es): {r['checks']} greetings ({len(clips)} real 16 kHz clips x {a.rounds}) in "
              f"{r['seconds']:.1f} s = {r['per_second']:.2f} greetings/s ({r['ms_per_check_wall']:.0f} ms each); "
              f"pool warm-up incl. model load {r['warmup_seconds']:.1f} s; load {r['loadavg'][0]:.2f}", flush=True)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"clips": len(clips), "runs": out}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

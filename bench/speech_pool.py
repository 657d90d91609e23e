"""Greetings per second through telmon's real SpeechWorker process pool, on real 16 kHz clips.

Each clip of ``../shared/speech/real/wb16k`` (real Korean speech over G.722) is
handed to :class:`monitor.speech.worker.SpeechWorker` exactly as ``telmon run``
hands a finished call to it: a spool job names the recording and the answering
extension (a person of the bundled directory, so the grammar is a real per-call
grammar), ``call_finished`` queues it, a pool process checks it and the verdict
comes back through ``settle``. The corpus is read in place, never copied, and
``retain`` is on so the worker never deletes it (by default it deletes
recordings after the check).

The pool is warmed first (the models load once per process: that load time is
reported separately), then every clip is submitted at once and the wall time to
the last verdict gives greetings per second, for 1 process and for 2, with the
engines of ``--engines`` (default: Vosk, then Whisper where Vosk is unsure; the
clips name none of the directory's people, so Whisper runs on nearly all: the
cascade's worst case).

The busy hour: a burst of ``--burst`` greetings at once through the 2-process
pool (measured: the time until the last verdict and the deepest backlog), and
300 greetings in an hour (simulated with Poisson arrivals and the per-greeting
times measured in the burst: the wait before a check starts, median and worst).

    .venv/bin/python bench/speech_pool.py [--processes 1 2] [--rounds 2] [--engines vosk] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import shutil
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
from monitor.speech.job import GreetingJob  # noqa: E402
from monitor.speech.worker import SpeechWorker  # noqa: E402

WB16K = Path(__file__).resolve().parent.parent.parent / "shared" / "speech" / "real" / "wb16k"


class Bench:
    """One SpeechWorker with ``processes`` processes, fed answered inbound calls."""

    def __init__(self, processes: int, spool: Path, engines: tuple[str, ...] = ("vosk", "whisper")) -> None:
        settings = load_settings(None, {}, {})
        self.directory = load_directory(settings.directory_path)
        self.extensions = [p.extension for p in self.directory.people]
        self.spool = spool
        self.done = threading.Condition()
        self.verdicts: list[Verdict] = []
        self.seq = 0
        self.worker = SpeechWorker(str(spool), self.directory, self._settle, processes=processes,
                                   max_backlog=100_000, retain=True, limits=settings.speech.thresholds,
                                   engines=engines)

    def _settle(self, linkedid: str, verdict: Verdict) -> None:
        with self.done:
            self.verdicts.append(verdict)
            self.done.notify_all()

    def submit(self, clip: Path) -> None:
        """Spool a job for ``clip`` and finish its call, as the FastAGI service and the pipeline would."""
        self.seq += 1
        linkedid = f"1795600000.{self.seq}"
        ext = self.extensions[self.seq % len(self.extensions)]
        # The spool only checks recordings inside it (a job naming another path is set aside as .bad),
        # as Asterisk's MixMonitor writes them there: a copy per job, deleted by the worker once judged.
        audio = self.spool / f"{linkedid}-1{clip.suffix}"
        shutil.copyfile(clip, audio)
        job = GreetingJob(linkedid=linkedid, uniqueid="1", extension=ext, answering_audio=str(audio))
        (self.spool / f"{linkedid}-1.json").write_text(job.to_json(), encoding="utf-8")
        record = SimpleNamespace(outcome="answered", direction=INBOUND, linkedid=linkedid, answered_by=ext,
                                 caller="0212345678")
        self.worker.call_finished(SimpleNamespace(record=record, verdicts={"R1": Verdict("R1", "pass", 1, "")}))

    def wait_for(self, count: int) -> None:
        with self.done:
            self.done.wait_for(lambda: len(self.verdicts) >= count)


def measure(processes: int, clips: list[Path], rounds: int, engines: tuple[str, ...]) -> dict[str, Any]:
    """Warm the pool, then time ``rounds`` passes over every clip."""
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(processes, Path(tmp), engines)
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
    child_cpu = ((cpu_after.children_user + cpu_after.children_system)
                 - (cpu_before.children_user + cpu_before.children_system))
    results = {v.result for v in bench.verdicts}
    cascade = sum(1 for v in bench.verdicts
                  if isinstance(v.value, dict) and "whisper" in v.value.get("transcripts", {}))
    return {"processes": processes, "engines": "+".join(engines), "whisper_ran": cascade,
            "checks": checks, "seconds": wall, "per_second": checks / wall,
            "ms_per_check_wall": 1000 * wall / checks, "warmup_seconds": warm, "results": sorted(results),
            "child_cpu_seconds": child_cpu, "loadavg": os.getloadavg()}


def burst(clips: list[Path], count: int, engines: tuple[str, ...]) -> dict[str, Any]:
    """``count`` greetings at once through a warm 2-process pool: drain time and deepest backlog."""
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(2, Path(tmp), engines)
        for clip in clips[:4]:
            bench.submit(clip)
        bench.wait_for(4)
        bench.verdicts.clear()
        start, deepest, finished = time.perf_counter(), 0, []
        for i in range(count):
            bench.submit(clips[i % len(clips)])
        while len(bench.verdicts) < count:
            deepest = max(deepest, bench.worker.backlog)
            with bench.done:
                before = len(bench.verdicts)
                bench.done.wait(0.05)
                finished += [time.perf_counter() - start] * (len(bench.verdicts) - before)
        wall = time.perf_counter() - start
        bench.worker.close()
    gaps = [b - a for a, b in zip([0.0] + finished[:-1], finished)]
    return {"count": count, "seconds": wall, "deepest_backlog": deepest,
            "service_s": 2 * wall / count, "gaps": gaps, "loadavg": os.getloadavg()}


def busy_hour(service_s: float, per_hour: int = 300, processes: int = 2, hours: int = 200) -> dict[str, float]:
    """Poisson arrivals at ``per_hour`` into ``processes`` servers taking ``service_s`` each (simulated)."""
    rng = random.Random(13)
    free = [0.0] * processes
    now, deepest = 0.0, 0
    waits: list[float] = []
    ends: list[float] = []       # when each check still in the backlog (waiting or running) finishes
    for _ in range(per_hour * hours):
        now += rng.expovariate(per_hour / 3600.0)
        slot = min(range(processes), key=free.__getitem__)
        start = max(now, free[slot])
        waits.append(start - now)
        free[slot] = start + service_s * rng.uniform(0.7, 1.3)
        ends = [e for e in ends if e > now] + [free[slot]]
        deepest = max(deepest, len(ends))
    waits.sort()
    return {"per_hour": per_hour, "median_wait_s": waits[len(waits) // 2], "p99_wait_s": waits[int(0.99 * len(waits))],
            "worst_wait_s": waits[-1], "deepest_backlog": deepest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="pool sizes to measure (default 1 2)")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the clips per pool size (default 2)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips")
    ap.add_argument("--engines", default="vosk,whisper", help="vosk, or vosk,whisper (default)")
    ap.add_argument("--burst", type=int, default=50, help="greetings at once for the busy-hour figures (0: skip)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    engines = tuple(a.engines.split(","))
    clips = sorted(WB16K.glob("*.wav"))[: a.limit or None]
    if not clips:
        sys.exit(f"no clips in {WB16K}")
    out = []
    for n in a.processes:
        r = measure(n, clips, a.rounds, engines)
        out.append(r)
        print(f"{n} process(es), {r['engines']} (Whisper ran on {r['whisper_ran']}): {r['checks']} greetings "
              f"({len(clips)} real 16 kHz clips x {a.rounds}) in "
              f"{r['seconds']:.1f} s = {r['per_second']:.2f} greetings/s ({r['ms_per_check_wall']:.0f} ms each); "
              f"pool warm-up incl. model load {r['warmup_seconds']:.1f} s; load {r['loadavg'][0]:.2f}", flush=True)
    extra: dict[str, Any] = {}
    if a.burst:
        b = burst(clips, a.burst, engines)
        hour = busy_hour(b["service_s"])
        extra = {"burst": {k: v for k, v in b.items() if k != "gaps"}, "busy_hour": hour}
        print(f"burst of {a.burst} at once (2 processes): last verdict after {b['seconds']:.0f} s, deepest backlog "
              f"{b['deepest_backlog']}; 300 an hour at {b['service_s']:.2f} s each (simulated): wait median "
              f"{hour['median_wait_s']:.1f} s, p99 {hour['p99_wait_s']:.1f} s, worst {hour['worst_wait_s']:.1f} s, "
              f"deepest backlog {hour['deepest_backlog']}", flush=True)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"clips": len(clips), "engines": a.engines, "runs": out, **extra},
                                               indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

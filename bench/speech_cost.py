"""What one greeting check costs, by band and by path, against bare decodes of the same clip.

For the first N utterances of ../shared/speech/real (their true-greeting trial:
expected department and name said), per band:

* **Vosk only**: telmon's check with Vosk alone, against a bare Vosk decode with
  the same grammar of the same seconds (the first 8 s up to the next pause).
* **cascade**: telmon's check where Whisper is asked, against the sum of the two
  bare decodes (Vosk with the grammar, Whisper free) of the same seconds. To take
  this path on every clip, the same audio is checked against its ``neg_both``
  trial (neither stand-in said, so Vosk never confirms it).

Median and p95 of the check's CPU time and of its ratio to the bare decodes,
CPU-seconds per audio second of each engine alone, and the peak RSS of this
process with both models loaded (what one worker process holds). CPU time
(``time.process_time``), not wall time: the machine is shared, and CPU time is
what a check takes from the box. Whisper runs on one thread, as in a worker.

    .venv/bin/python bench/speech_cost.py [--limit 20] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.greeting_eval import REAL, expected_of, load_trials  # noqa: E402
from monitor.speech.audio import Audio, read_audio  # noqa: E402
from monitor.speech.bandwidth import measure_bandwidth, to_8khz  # noqa: E402
from monitor.speech.check import APOLOGY_PHRASES, ASK_PHRASES  # noqa: E402
from monitor.speech.engine import Engine  # noqa: E402
from monitor.speech.gate import pause_after  # noqa: E402
from monitor.speech.grammar import build_grammar  # noqa: E402
from monitor.speech.greeting import check_greeting  # noqa: E402
from monitor.speech.whisper_engine import WhisperEngine  # noqa: E402


def cpu(fn: Callable[[], Any]) -> float:
    """CPU seconds of this process spent in ``fn()``."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def the_clip(audio: Audio) -> Audio:
    """The seconds the check decodes, at the rate it decodes them (as monitor/speech/greeting.py cuts them)."""
    clip = audio.head(pause_after(audio.samples, audio.rate, 8.0))
    if clip.rate == 16000 and not measure_bandwidth(clip.samples, clip.rate).wideband:
        clip = Audio(to_8khz(clip.samples, clip.rate), 8000, clip.source_format)
    return clip


def spread(xs: list[float]) -> dict[str, float]:
    """Median and 95th percentile."""
    xs = sorted(xs)
    return {"median": statistics.median(xs), "p95": xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]}


def rss_mb() -> dict[str, float]:
    """This process's resident memory now and at its peak (MB)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024}


def measure(vosk: Engine, whisper: WhisperEngine, limit: int) -> dict[str, Any]:
    """Per band: the check on each path and the bare decodes, per clip."""
    trials, by_utt, _ = load_trials()
    positives = [t for t in trials if t["type"] == "pos"][:limit]
    neither = {t["id"]: t for t in trials if t["type"] == "neg_both"}
    out: dict[str, Any] = {}
    for band in ("nb8k", "wb16k"):
        rows = []
        for t in positives:
            audio = read_audio(REAL / band / f"{t['id']}.wav")
            exp = expected_of(t, by_utt)
            clip = the_clip(audio)
            wrong = expected_of(neither[t["id"]], by_utt)
            grammar, grammar_wrong = (build_grammar(list(e.department) + list(e.name), e.distractors, vosk.known,
                                                    list(APOLOGY_PHRASES) + list(ASK_PHRASES)) for e in (exp, wrong))
            ran: list = []
            row = {"audio_s": clip.seconds,
                   "vosk_check": cpu(lambda: check_greeting(vosk, audio, exp, ("R3",))),
                   "vosk_bare": cpu(lambda: vosk.recognize(clip, grammar)),
                   "cascade_check": cpu(lambda: ran.append(check_greeting(vosk, audio, wrong, ("R3",),
                                                                          second=whisper))),
                   "vosk_bare_wrong": cpu(lambda: vosk.recognize(clip, grammar_wrong)),
                   "whisper_bare": cpu(lambda: whisper.decode(clip))}
            if ran[0].quality is None:       # Vosk confirmed a wrong greeting: not the cascade path
                continue
            rows.append(row)
        audio_s = sum(r["audio_s"] for r in rows)
        out[band] = {
            "clips": len(rows), "audio_seconds": audio_s,
            "vosk_only_s": spread([r["vosk_check"] for r in rows]),
            "vosk_only_ratio": spread([r["vosk_check"] / r["vosk_bare"] for r in rows]),
            "cascade_s": spread([r["cascade_check"] for r in rows]),
            "cascade_ratio": spread([r["cascade_check"] / (r["vosk_bare_wrong"] + r["whisper_bare"]) for r in rows]),
            "vosk_cpu_per_audio_s": sum(r["vosk_bare"] for r in rows) / audio_s,
            "whisper_cpu_per_audio_s": sum(r["whisper_bare"] for r in rows) / audio_s,
            "loadavg": os.getloadavg()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=20, help="utterances per band (default 20)")
    ap.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    a = ap.parse_args()
    vosk = Engine.load()
    whisper = WhisperEngine.load()
    results: dict[str, Any] = {"vosk_load_s": vosk.load_seconds, "whisper_load_s": whisper.load_seconds,
                               "bands": measure(vosk, whisper, a.limit), **rss_mb()}
    for band, x in results["bands"].items():
        print(f"{band}: {x['clips']} clips; Vosk only {x['vosk_only_s']['median'] * 1000:.0f} ms "
              f"(p95 {x['vosk_only_s']['p95'] * 1000:.0f}), {x['vosk_only_ratio']['median']:.2f}x bare Vosk; "
              f"cascade {x['cascade_s']['median'] * 1000:.0f} ms (p95 {x['cascade_s']['p95'] * 1000:.0f}), "
              f"{x['cascade_ratio']['median']:.2f}x bare Vosk + bare Whisper; CPU-s per audio s: "
              f"Vosk {x['vosk_cpu_per_audio_s']:.3f}, Whisper {x['whisper_cpu_per_audio_s']:.3f}; "
              f"load {x['loadavg'][0]:.2f}", flush=True)
    print(f"models loaded in {results['vosk_load_s']:.1f} s (Vosk) and {results['whisper_load_s']:.1f} s (Whisper, "
          f"incl. verifying the assembled file); RSS with both {results['rss_mb']:.0f} MB "
          f"(peak {results['peak_rss_mb']:.0f} MB)")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

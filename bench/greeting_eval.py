"""Greeting-check accuracy on the real Korean corpus (../shared/speech/real; run by hand).

For every trial of ``trials.csv`` the stand-in department/name of the trial are
the expected ones; the stand-ins of the utterance's other trials are the
directory's other entries (realistic distractors). Prints, per band (8 kHz
telephone, 16 kHz G.722), how often each trial type ended stated / not stated /
unclear, and the time per check against a raw Vosk decode of the same audio.

    .venv/bin/python bench/greeting_eval.py [--limit N] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.speech.audio import read_audio  # noqa: E402
from monitor.speech.engine import Engine  # noqa: E402
from monitor.speech.check import APOLOGY_PHRASES, ASK_PHRASES  # noqa: E402
from monitor.speech.grammar import build_grammar  # noqa: E402
from monitor.speech.greeting import Expected, check_greeting  # noqa: E402

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "speech" / "real"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--raw", type=int, default=10, help="also time a free (no grammar) decode on N trials")
    parser.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    args = parser.parse_args()
    results: dict = {"bands": {}}
    trials = list(csv.DictReader(open(REAL / "trials.csv", encoding="utf-8")))
    if args.limit:
        trials = trials[: args.limit]
    by_utt = defaultdict(list)
    for t in trials:
        by_utt[t["id"]].append(t)
    engine = Engine.load()
    print(f"model {engine.info.name} loaded in {engine.load_seconds:.1f} s")
    results.update(model=engine.info.name, load_seconds=engine.load_seconds, trials=len(trials))
    for band in ("nb8k", "wb16k"):
        table: dict[str, Counter] = defaultdict(Counter)
        t_check = t_raw = t_bare = audio_s = raw_audio_s = 0.0
        for k, t in enumerate(trials):
            audio = read_audio(REAL / band / f"{t['id']}.wav")
            others = [x for o in by_utt[t["id"]] for x in (o["exp_dept"], o["exp_name"])
                      if x not in (t["exp_dept"], t["exp_name"])]
            exp = Expected([t["exp_dept"]], [t["exp_name"]], sorted(set(others)))
            start = time.perf_counter()
            result = check_greeting(engine, audio, exp, ("R3",))
            t_check += time.perf_counter() - start
            # The same decode done bare: Vosk with the same grammar on the same audio (the
            # first 8 s up to the next pause, as checked), none of telmon's work around it
            # (reading, finding the pause, gate, grammar building, matching).
            grammar = build_grammar(list(exp.department) + list(exp.name), exp.distractors, engine.known,
                                    list(APOLOGY_PHRASES) + list(ASK_PHRASES))
            clip = audio.head(result.seconds)
            start = time.perf_counter()
            engine.recognize(clip, grammar)
            t_bare += time.perf_counter() - start
            if k < args.raw:
                start = time.perf_counter()
                engine.recognize(clip, None)
                t_raw += time.perf_counter() - start
                raw_audio_s += min(audio.seconds, 8.0)
            audio_s += min(audio.seconds, 8.0)
            table[t["type"]][result.verdicts["R3"].result] += 1
        print(f"\n{band}: R3 verdicts by trial type (pos should be stated; the rest not_stated)")
        for typ in ("pos", "neg_name", "neg_dept", "neg_both"):
            c = table[typ]
            n = sum(c.values()) or 1
            print(f"  {typ:9} n={n:3}  stated {c['stated'] / n:.2f}  not_stated {c['not_stated'] / n:.2f}  "
                  f"unclear {c['unclear'] / n:.2f}")
        print(f"  bare Vosk decode with the same grammar {t_bare / len(trials) * 1000:.0f} ms; "
              f"telmon's check / bare decode = {t_check / t_bare:.2f}x")
        print(f"  time per check {t_check / len(trials) * 1000:.0f} ms (RTF {t_check / audio_s:.3f}); "
              f"free decode without grammar RTF {t_raw / max(raw_audio_s, 1e-9):.3f} ({args.raw} clips)", flush=True)
        results["bands"][band] = {
            "ms_per_check": t_check / len(trials) * 1000, "ms_bare_decode": t_bare / len(trials) * 1000,
            "ratio": t_check / t_bare, "rtf": t_check / audio_s, "free_rtf": t_raw / max(raw_audio_s, 1e-9),
            "loadavg": os.getloadavg(),
            "table": {typ: dict(table[typ]) for typ in ("pos", "neg_name", "neg_dept", "neg_both")}}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

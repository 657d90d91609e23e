"""Greeting-check accuracy on the real Korean corpus (../shared/speech/real; run by hand or by make bench).

For every trial of ``trials.csv`` the stand-in department/name of the trial are
the expected ones; the stand-ins of the utterance's other trials are the
directory's other entries (realistic distractors). Every trial is checked by the
cascade (Vosk, then Whisper where Vosk is unsure), which also keeps what Vosk alone said, and
the tables say, per band (8 kHz telephone, 16 kHz G.722), path and half of the
corpus, how often each trial type ended stated / not stated / unclear.

Halves: the thresholds were tuned on half ``A`` (the 28 utterances of twelve
speakers) and checked on half ``B`` (the 27 of speaker ``lmy``, unseen while
tuning). Whisper's decode depends only on the audio, so it is done once per
utterance and band and reused by its four trials (cost: bench/speech_cost.py).

    .venv/bin/python bench/greeting_eval.py [--limit N] [--engines vosk] [--json-out r.json]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.speech.audio import read_audio  # noqa: E402
from monitor.speech.engine import Engine  # noqa: E402
from monitor.speech.greeting import Expected, check_greeting  # noqa: E402
from monitor.speech.whisper_engine import WhisperEngine  # noqa: E402

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "speech" / "real"
TYPES = ("pos", "neg_name", "neg_dept", "neg_both")
TUNING_HALF_OUT = "lmy"      # the speaker of half B


class OncePerClip:
    """Whisper with its decode remembered per clip (the four trials of an utterance share the audio)."""

    def __init__(self, engine: WhisperEngine) -> None:
        self.engine, self.info, self._seen = engine, engine.info, {}  # type: ignore[var-annotated]

    def decode(self, clip: Any) -> Any:
        key = (clip.rate, clip.samples.tobytes())
        if key not in self._seen:
            self._seen[key] = self.engine.decode(clip)
        return self._seen[key]


def load_trials(limit: int = 0) -> tuple[list[dict], dict[str, list[dict]], dict[str, str]]:
    """The trials, the trials of each utterance, and each utterance's half (A or B)."""
    trials = list(csv.DictReader(open(REAL / "trials.csv", encoding="utf-8")))
    labels = {r["id"]: r for r in csv.DictReader(open(REAL / "labels.csv", encoding="utf-8"))}
    if limit:
        trials = trials[:limit]
    by_utt: dict[str, list[dict]] = defaultdict(list)
    for t in trials:
        by_utt[t["id"]].append(t)
    half = {i: "B" if labels[i]["speaker"] == TUNING_HALF_OUT else "A" for i in by_utt}
    return trials, by_utt, half


def expected_of(t: dict, by_utt: dict[str, list[dict]]) -> Expected:
    """The trial's expected department and name, the utterance's other stand-ins as distractors."""
    others = {x for o in by_utt[t["id"]] for x in (o["exp_dept"], o["exp_name"])} - {t["exp_dept"], t["exp_name"]}
    return Expected([t["exp_dept"]], [t["exp_name"]], sorted(others))


def summarize(table: dict[str, Counter]) -> dict[str, Any]:
    """The issue's figures from a type -> result counter."""
    def rate(typ: str, result: str) -> float:
        n = sum(table[typ].values())
        return table[typ][result] / n if n else 0.0
    negatives = sum((table[t] for t in TYPES[1:]), Counter())
    n_neg = sum(negatives.values()) or 1
    return {"recall": rate("pos", "stated"), "true_not_stated": rate("pos", "not_stated"),
            "false_accepts": {t: rate(t, "stated") for t in TYPES[1:]},
            "wrong_caught": negatives["not_stated"] / n_neg, "wrong_accepted": negatives["stated"] / n_neg,
            "table": {t: dict(table[t]) for t in TYPES}}


def evaluate(vosk: Engine, whisper: Any, limit: int = 0) -> dict[str, Any]:
    """Both paths on every trial of both bands; figures per band, path and half."""
    trials, by_utt, half = load_trials(limit)
    out: dict[str, Any] = {}
    for band in ("nb8k", "wb16k"):
        tables: dict[tuple[str, str], dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        decided: Counter = Counter()
        for t in trials:
            audio = read_audio(REAL / band / f"{t['id']}.wav")
            exp = expected_of(t, by_utt)
            result = check_greeting(vosk, audio, exp, ("R3",), second=whisper)
            paths = {"vosk": result.vosk_verdicts["R3"].result}     # what Vosk alone said, before Whisper
            if whisper is not None:
                paths["cascade"] = result.verdicts["R3"].result
                decided[result.verdicts["R3"].decided_by] += 1
            for path, verdict in paths.items():
                for h in (half[t["id"]], "all"):
                    tables[(path, h)][t["type"]][verdict] += 1
        out[band] = {f"{path}/{h}": summarize(tab) for (path, h), tab in tables.items()}
        out[band]["decided_by"] = dict(decided)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--engines", default="vosk,whisper", help="vosk, or vosk,whisper (default)")
    parser.add_argument("--json-out", help="write the figures as JSON here (for bench/run_all.py)")
    args = parser.parse_args()
    started = time.perf_counter()
    vosk = Engine.load()
    whisper = OncePerClip(WhisperEngine.load()) if "whisper" in args.engines.split(",") else None
    results = evaluate(vosk, whisper, args.limit)
    for band, figures in results.items():
        print(f"\n{band}: R3 (recall = true greetings stated; caught = wrong greetings 'not stated')")
        for key in sorted(k for k in figures if "/" in k):
            f = figures[key]
            fa = max(f["false_accepts"].values())
            print(f"  {key:13} recall {f['recall']:.2f}  true 'not stated' {f['true_not_stated']:.3f}  "
                  f"worst false accept {fa:.3f}  wrong caught {f['wrong_caught']:.2f}  "
                  f"wrong accepted {f['wrong_accepted']:.3f}")
        print(f"  cascade verdicts decided by: {figures.get('decided_by')}")
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"model": vosk.info.name, "bands": results}, indent=1),
                                       encoding="utf-8")


if __name__ == "__main__":
    main()

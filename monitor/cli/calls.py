"""``telmon replay`` (recorded AMI streams into the database, with a verdict table
or ``--json``), ``telmon calls`` (stored calls in the same formats) and
``telmon directory`` (check a directory file and summarise it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..directory import load_directory
from ..pipeline import Pipeline
from ..render import print_json, print_table
from ..replay import replay_files
from ..sinks import Collector, Tally, pending_verdicts
from ..storage.sink import StoreSink, finish_storing
from ..storage.spill import load_spilled
from ..storage.store import Store
from .common import CommonFlags, Subparsers, add_unmask_flags, parse_since, setup, unmasked


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``replay``, ``calls`` and ``directory``."""
    p = sub.add_parser("replay", help="ingest recorded AMI streams and print verdicts")
    p.add_argument("files", nargs="+", help="recorded AMI streams (raw bytes as received)")
    p.add_argument("--json", action="store_true", help="one JSON object per finished call (numbers masked)")
    add_unmask_flags(p)
    p.add_argument("--no-store", action="store_true", help="judge only, do not write the database")
    p.add_argument("--quiet", action="store_true",
                   help="no per-call output, only the summary (backfills: memory stays flat)")
    common(p)
    p.set_defaults(handler=cmd_replay)

    p = sub.add_parser("calls", help="print stored calls")
    p.add_argument("--json", action="store_true", help="one JSON object per call (numbers masked)")
    add_unmask_flags(p)
    p.add_argument("--since", help="epoch seconds, ISO time, or an age such as 2h or 7d")
    p.add_argument("--department", help="only calls of this department")
    common(p)
    p.set_defaults(handler=cmd_calls)

    # No configuration flags: it checks the file it is given.
    p = sub.add_parser("directory", help="check a directory file")
    p.add_argument("file", help="directory YAML file")
    p.set_defaults(handler=cmd_directory)


def cmd_replay(args: argparse.Namespace) -> int:
    """Ingest recorded AMI streams, then print the verdict table (or JSON lines)."""
    settings, directory = setup(args)
    show_numbers = unmasked(args, "telmon replay --json")
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
    pipeline = Pipeline.from_settings(settings, directory, sinks)
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
            print_json(f.record, f.verdicts, settings.cadence_obj, f.department, sys.stdout, show_numbers)
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
    settings, _ = setup(args)
    since = parse_since(args.since) if args.since else None
    show_numbers = unmasked(args, "telmon calls --json")
    store = Store.open(settings.database_url)
    rows = store.load_calls(since=since, department=args.department)
    if args.json:
        for c in rows:
            print_json(c.record, c.verdicts, settings.cadence_obj, c.department, sys.stdout, show_numbers)
    else:
        print_table(((c.record, c.verdicts, c.department) for c in rows), settings.cadence_obj, sys.stdout)
    return 0


def cmd_directory(args: argparse.Namespace) -> int:
    """Check a directory file and summarise it."""
    directory = load_directory(args.file)
    for dept in directory.departments:
        people = directory.people_in(dept.name)
        print(f"{dept.name}: {', '.join(str(r) for r in dept.ranges)}; {len(people)} people")
    return 0

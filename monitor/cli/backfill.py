"""``telmon backfill --cel SOURCE --since WHEN``: judge an office's history from Asterisk's CEL on day one.

Every call in the CEL (a ``cel_custom`` CSV) that ended in the window is rebuilt
(core/celcalls.py), judged as far as CEL allows and stored, unless the database
already holds it with as much knowledge (monitor/recovery.py). Missed callers'
R8 verdicts are settled by the later calls in the window, as live.
"""
from __future__ import annotations

import argparse
import sys
import time

from ..cel_source import CelError
from ..exit_codes import exit_code_of
from ..pipeline import Pipeline
from ..recovery import recover
from ..sinks import Tally
from ..storage.sink import StoreSink, finish_storing
from ..storage.store import Store
from .common import CommonFlags, Subparsers, parse_since, setup


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``backfill``."""
    p = sub.add_parser("backfill", help="judge and store past calls from Asterisk's CEL (cel_custom CSV)")
    p.add_argument("--cel", required=True, metavar="SOURCE",
                   help="cel_custom's Master.csv (or its cel-custom folder)")
    p.add_argument("--since", required=True, type=parse_since, help="epoch seconds, ISO time, or an age (30d)")
    p.add_argument("--until", type=parse_since, help="end of the window (default: now)")
    common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Recover the window's calls into the database; prints one summary line."""
    settings, directory = setup(args)
    store = Store.open(settings.database_url)
    tally = Tally()
    sink = StoreSink(store)
    pipeline = Pipeline.from_settings(settings, directory, [sink, tally])
    until = args.until if args.until is not None else time.time()
    if until <= args.since:
        print("telmon backfill: --until must be after --since", file=sys.stderr)
        return 2
    pipeline.restore_pending(store.pending_callbacks(now=args.since))
    try:
        got = recover(pipeline, store, args.cel, args.since, until, frozenset(settings.tracker.trunks))
    except CelError as exc:
        print(f"telmon backfill: {exc}", file=sys.stderr)
        return exit_code_of(exc)
    pipeline.tick(now=until)    # R8 windows that closed within the window without a callback fail
    stored = finish_storing(sink, settings.spill_path)
    print(f"telmon backfill: {got.calls} calls recovered from CEL, {got.known} already stored, "
          f"{len(tally.pending)} awaiting callback (R8)"
          + (f", {got.skipped_lines} lines not CEL rows" if got.skipped_lines else "")
          + ("" if stored else f"; database unavailable: calls saved in {settings.spill_path}"), file=sys.stderr)
    return 0 if stored else 1

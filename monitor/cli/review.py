"""``telmon review``: the list of greeting checks a person must decide, their evidence, the decision.

Only a confident ``stated`` or ``not stated`` counts on its own; an ``unclear``
speech verdict (R2, R3, R7) waits here (monitor/review.py finds them and
records decisions, for this command and the workbench alike). ``--confirm``:
the violation is real, ``fail``; ``--reject``: no violation, ``pass``. The
reviewer is the account running the command (``pwd``, not ``LOGNAME``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TextIO

from ..core.charter import SPEECH_RULES
from ..core.masking import mask_number
from ..core.rules import Verdict
from ..masking import process_owner
from ..review import decide, staff_member, waiting
from ..storage.store import Store, StoredCall
from .common import CommonFlags, Subparsers, setup


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``review``."""
    p = sub.add_parser("review", help="list, show and decide unclear greeting checks")
    p.add_argument("linkedid", nargs="?", help="the call (omit to list what waits)")
    p.add_argument("rule", nargs="?", help="R2, R3 or R7")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--confirm", action="store_true", help="the violation is real: not stated (fail)")
    group.add_argument("--reject", action="store_true", help="no violation: it was stated (pass)")
    p.add_argument("--note", help="why")
    p.add_argument("--force", action="store_true", help="overrule a verdict that is not unclear")
    common(p)
    p.set_defaults(handler=review)


def show(call: StoredCall, verdict: Verdict, out: TextIO) -> None:
    """Print everything a reviewer needs to decide one verdict."""
    rec = call.record
    print(f"call {rec.linkedid}  {dt.datetime.fromtimestamp(rec.start):%Y-%m-%d %H:%M:%S}  {rec.direction}  "
          f"{mask_number(rec.caller)} -> {mask_number(rec.dialed)}  answered by {mask_number(rec.answered_by)}  "
          f"greeting of {staff_member(call, verdict)}  [{call.department}]", file=out)
    print(f"{verdict.rule}: {verdict.result}  {verdict.detail}", file=out)
    ev = verdict.value if isinstance(verdict.value, dict) else {}
    if ev:
        band = f" ({ev['bandwidth']}, file {ev.get('file_rate')} Hz)" if ev.get("bandwidth") else ""
        print(f"  audio: {ev.get('sample_rate')} Hz{band}, {ev.get('seconds')} s checked, speech gate: "
              f"{ev.get('gate')}, engine {ev.get('engine')}, decided by {ev.get('decided_by', 'vosk')}", file=out)
        if ev.get("fallback"):
            print(f"  note: {ev['fallback']}", file=out)
        for item in ev.get("items", []):
            print(f"  {item['item']:10} {item['result']:10} expected {item['expected']!r}  heard {item['heard']!r}  "
                  f"similarity {item['similarity']:.2f}  confidence {item['confidence']:.2f}"
                  f"  ({item.get('engine', 'vosk')})", file=out)
        transcripts = ev.get("transcripts") or {"vosk": ev.get("words", [])}
        for name, words in transcripts.items():
            print(f"  words ({name}): " + (" ".join(f"{w[0]}({w[1]:.2f}@{w[2]:.1f}s)" for w in words) or "(none)"),
                  file=out)
        if ev.get("recording"):
            print(f"  recording: {ev['recording']}  (listen: play {ev['recording']})", file=out)
        else:
            print("  recording: not retained ([speech] retain_recordings = false)", file=out)


def review(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """The ``telmon review`` command: the list, one verdict's evidence, or a decision."""
    settings, _ = setup(args)
    store = Store.open(settings.database_url)
    if not args.linkedid:
        rows = list(waiting(store))
        if not rows:
            print("nothing waits for review", file=out)
        for call, v in rows:
            heard = " ".join(w[0] for w in (v.value or {}).get("words", [])) if isinstance(v.value, dict) else ""
            print(f"{dt.datetime.fromtimestamp(call.record.start):%Y-%m-%d %H:%M}  {call.record.linkedid:18} "
                  f"{v.rule}  {staff_member(call, v):6} {call.department or '':12}  {v.detail}  "
                  f"heard: {heard or '-'}", file=out)
        return 0
    if args.rule not in SPEECH_RULES:
        # Only the greeting checks are a person's call to make; R1/R4/R5/R8 are measured, not reviewed.
        print(f"telmon review: only the greeting checks can be reviewed (R2, R3 or R7), not {args.rule or 'none'}",
              file=sys.stderr)
        return 2
    call = next((c for c in store.load_calls() if c.record.linkedid == args.linkedid), None)
    verdict = call.verdicts.get(args.rule) if call is not None else None
    if call is None or verdict is None:
        print(f"telmon review: no {args.rule} verdict for call {args.linkedid}", file=sys.stderr)
        return 2
    if not (args.confirm or args.reject):
        show(call, verdict, out)
        return 0
    if verdict.result != "unclear" and not args.force:
        print(f"telmon review: {args.rule} of {args.linkedid} is {verdict.result}, not unclear "
              "(--force to overrule it)", file=sys.stderr)
        return 2
    who = process_owner()   # the operating system's word for who decides, not a flag or LOGNAME
    new = decide(store, call, args.rule, bool(args.confirm), who, args.note or "")
    print(f"{args.linkedid} {args.rule}: {new.detail}", file=out)
    return 0

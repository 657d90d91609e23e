"""``telmon review``: the list of greeting checks a person must decide, their evidence, the decision.

Only a confident ``stated`` or ``not stated`` counts on its own; an ``unclear``
speech verdict (R2, R3, R7) waits here. A reviewer reads the evidence (every
word heard with its time and confidence, what matched how well, the sample
rate, the engine, and the recording when it was retained), listens if they
can, and decides. The decision replaces the verdict (``--confirm``: the
violation is real, ``fail``; ``--reject``: no violation, ``pass``) and keeps
who decided, when, their note, and the original verdict with its evidence.
Only speech verdicts can be reviewed, and the reviewer is the account running
the command (``pwd``, not ``LOGNAME`` or a flag): accounts are the workbench's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any, Iterator, Optional, TextIO

from .core.charter import SPEECH_RULES
from .core.rules import Verdict
from .core.masking import mask_number
from .masking import process_owner
from .storage.store import Store, StoredCall


def waiting(store: Store, since: Optional[float] = None) -> Iterator[tuple[StoredCall, Verdict]]:
    """Every unclear speech verdict not yet decided, oldest call first."""
    for call in store.load_calls(since=since):
        for rule in SPEECH_RULES:
            v = call.verdicts.get(rule)
            if v is not None and v.result == "unclear":
                yield call, v


def decide(store: Store, call: StoredCall, rule: str, violation: bool, who: str, note: str = "",
           now: Optional[float] = None) -> Verdict:
    """Record a reviewer's decision; the original verdict and its evidence are kept inside it."""
    original = call.verdicts[rule]
    when = dt.datetime.fromtimestamp(now if now is not None else dt.datetime.now().timestamp(),
                                     dt.timezone.utc).isoformat(timespec="seconds")
    evidence = original.value if isinstance(original.value, dict) else {}
    value = dict(evidence, review={"by": who, "at": when, "decision": "confirmed" if violation else "rejected",
                                   "note": note},
                 original={"result": original.result, "value": original.value, "detail": original.detail})
    verdict = Verdict(rule, "fail" if violation else "pass", value,
                      f"reviewed by {who} at {when}: {'not stated (violation confirmed)' if violation else 'stated'}"
                      + (f"; {note}" if note else "") + f" [was {original.result}: {original.detail}]")
    store.set_verdict(call.record.linkedid, verdict)
    return verdict


def staff_member(call: StoredCall, verdict: Verdict) -> str:
    """Whose greeting was checked: the answering extension inbound, the calling one outbound."""
    ev = verdict.value if isinstance(verdict.value, dict) else {}
    rec = call.record
    return str(ev.get("extension") or (rec.caller if rec.direction == "outbound" else rec.answered_by) or "")


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


def run(args: argparse.Namespace, store: Store, out: TextIO = sys.stdout) -> int:
    """The ``telmon review`` command."""
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


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``telmon review``."""
    p = sub.add_parser("review", help="list, show and decide unclear greeting checks")
    p.add_argument("linkedid", nargs="?", help="the call (omit to list what waits)")
    p.add_argument("rule", nargs="?", help="R2, R3 or R7")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--confirm", action="store_true", help="the violation is real: not stated (fail)")
    group.add_argument("--reject", action="store_true", help="no violation: it was stated (pass)")
    p.add_argument("--note", help="why")
    p.add_argument("--force", action="store_true", help="overrule a verdict that is not unclear")
    return p

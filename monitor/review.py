"""The review of greeting checks: the list a person must decide, and the decision.

Only a confident ``stated`` or ``not stated`` counts on its own; an ``unclear``
speech verdict (R2, R3, R7) waits here. A reviewer reads the evidence (every
word heard with its time and confidence, what matched how well, the sample
rate, the engine, and the recording when it was retained), listens if they
can, and decides. The decision replaces the verdict (``--confirm``: the
violation is real, ``fail``; ``--reject``: no violation, ``pass``) and keeps
who decided, when, their note, and the original verdict with its evidence.
Only speech verdicts can be reviewed, and the reviewer is the account running
the command (``pwd``, not ``LOGNAME`` or a flag): accounts are the workbench's.
The command itself (``telmon review``): monitor/cli/review.py; the workbench's
review page: monitor/web/pages_review.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterator, Optional

from .core.charter import SPEECH_RULES
from .core.rules import Verdict
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

"""Which record of a call to keep when it is stored twice: never replace a record with less.

A call can reach the database more than once: a replay run twice, a call
flushed as incomplete at shutdown and adopted again after the restart, a call
recovered from Asterisk's CEL that telmon also saw live. The stored record is
replaced only by one that knows at least as much:

1. followed whole over AMI (not incomplete) — the only kind the rules judge fully;
2. recovered from CEL: the true start, end, answer and outcome, no ring times;
3. incomplete (telmon missed part of it).

Of two incomplete records, the one with more parts (offers, transfers, holds)
and then the longer span wins. Within the other kinds the newer record replaces
the stored one, so re-judging a replay (new thresholds, a newer telmon) updates
it. A settled R8 verdict is never replaced by a pending one (:func:`keep_r8`):
the callback already happened, or the window closed.
"""
from __future__ import annotations

from dataclasses import dataclass

from .record import CallRecord
from .rules import PENDING


INCOMPLETE = 1


@dataclass(frozen=True)
class Knowledge:
    """What a record of a call knows, as comparable numbers (from a record or a stored row)."""

    kind: int        # 3 whole over AMI, 2 recovered from CEL, 1 incomplete
    parts: int       # offers + transfers + holds
    span: float      # end - start (seconds)


def knowledge(outcome: str, source: str, parts: int, start: float, end: float) -> Knowledge:
    """The knowledge of a record described by its stored columns."""
    kind = INCOMPLETE if outcome == "incomplete" else 2 if source != "ami" else 3
    span = end - start if end == end and start == start else 0.0   # NaN-safe
    return Knowledge(kind, parts, span)


def knowledge_of(record: CallRecord) -> Knowledge:
    """The knowledge of a record."""
    return knowledge(record.outcome, record.source, len(record.offers) + len(record.transfers) + len(record.holds),
                     record.start, record.end)


def replaces(new: Knowledge, stored: Knowledge) -> bool:
    """True when the new record may replace the stored one."""
    if new.kind != stored.kind:
        return new.kind > stored.kind
    if new.kind != INCOMPLETE:
        return True    # the same call judged again (a replay re-run, a newer telmon): the newest wins
    return (new.parts, new.span) >= (stored.parts, stored.span - 1e-6)


def keep_r8(new_result: str, stored_result: str) -> bool:
    """True when the stored R8 verdict must stay (it settled; the new one is still pending)."""
    return stored_result != PENDING and new_result == PENDING

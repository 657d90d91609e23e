"""The columns every format shares: one definition, so CSV, XLSX, HTML and PDF cannot disagree.

A column has a header, a kind (``int``, ``pct`` 0..1, ``score`` 0..100, ``sec``,
``text``) that each writer formats its own way, and a getter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..core.charter import CALL_RULES, SPEECH_RULES
from .aggregate import RING_BUCKETS, Stats


@dataclass(frozen=True)
class Column:
    """One summary column."""

    header: str
    kind: str
    get: Callable[[Stats], Any]


def _rate(rule: str) -> Callable[[Stats], Optional[float]]:
    return lambda s: s.rules[rule].rate


def _count(rule: str, attr: str) -> Callable[[Stats], int]:
    return lambda s: getattr(s.rules[rule], attr)


def _bucket(n: int) -> Callable[[Stats], int]:
    return lambda s: s.ring_bucket(n)


STAT_COLUMNS: list[Column] = [
    Column("calls", "int", lambda s: s.calls),
    Column("offered", "int", lambda s: s.offered),
    Column("answered", "int", lambda s: s.answered),
    Column("abandoned", "int", lambda s: s.abandoned),
    Column("busy", "int", lambda s: s.busy),
    Column("no answer", "int", lambda s: s.no_answer),
    Column("outbound", "int", lambda s: s.outbound),
    Column("R1 pass", "int", _count("R1", "passed")),
    Column("R1 fail", "int", _count("R1", "failed")),
    Column("R1 pass rate", "pct", _rate("R1")),
    *[Column(f"rings {n}" + ("+" if n == RING_BUCKETS[-1] else ""), "int", _bucket(n)) for n in RING_BUCKETS],
    *[c for r in SPEECH_RULES for c in (
        Column(f"{r} stated", "int", _count(r, "passed")),
        Column(f"{r} not stated", "int", _count(r, "failed")),
        Column(f"{r} unclear", "int", _count(r, "unclear")),
        Column(f"{r} reviewed", "int", _count(r, "reviewed")))],
    Column("R4 longest wait s", "sec", lambda s: round(s.longest_wait, 1)),
    Column("R4 over 3 min", "int", lambda s: s.waits_over),
    Column("R4 pass rate", "pct", _rate("R4")),
    Column("R5 transfers", "int", lambda s: s.transfers),
    Column("R5 lost", "int", lambda s: s.transfers_lost),
    Column("R5 bounced", "int", lambda s: s.bounced),
    Column("R8 within window", "int", _count("R8", "passed")),
    Column("R8 late", "int", lambda s: s.r8_late),
    Column("R8 never", "int", lambda s: s.r8_never),
    Column("R8 pending", "int", _count("R8", "pending")),
    Column("SL", "pct", lambda s: s.sl),
    Column("SL2", "pct", lambda s: s.sl2),
    Column("violations", "int", lambda s: s.violations),
    Column("R10 score", "score", lambda s: s.score),
]

# The short list the printed (HTML/PDF) tables show; the sheets carry every column.
PRINT_HEADERS = ("calls", "offered", "answered", "abandoned", "busy", "R1 pass rate", "R4 over 3 min",
                 "R5 transfers", "R5 lost", "R8 within window", "R8 late", "R8 never", "SL", "SL2",
                 "violations", "R10 score")
PRINT_COLUMNS = [c for c in STAT_COLUMNS if c.header in PRINT_HEADERS]

CALL_HEADERS = ["linkedid", "date", "time", "direction", "caller", "dialed", "outcome", "department",
                "extension", "person", "rings", "longest wait s", "transfers",
                *[h for r in CALL_RULES for h in (r, f"{r} value")], "violations"]


VIOLATION_HEADERS = ["department", "extension", "person", "date", "time", "linkedid", "rule", "value", "evidence"]


FORMULAS = [
    ("SL", "calls answered at or before ring 2 / calls answered (inbound and internal calls answered by an "
           "office phone; rings = floor(ringing seconds / cadence cycle) + 1)"),
    ("SL2", "calls answered at or before ring 2 / (calls answered + calls abandoned)"),
    ("R10 score", "100 x passes / (passes + confirmed violations) over every judged verdict of R1, R2, R3, R4, "
                  "R5, R7 and R8 in the group; pending, n/a and undecided unclear verdicts are left out. "
                  "Goal: 90 or more; below 90 is highlighted."),
    ("confirmed violation", "a fail verdict of R1, R2, R3, R4, R5, R7 or R8; a speech check (R2/R3/R7) that "
                            "was unclear counts only after a reviewer confirmed it (telmon review ... --confirm)"),
    ("R9 training list", "everyone with 3 or more confirmed violations in the month"),
    ("person", "the extension that answered (on outbound calls: the one that called); when nobody answered, "
               "the office phone that rang longest unanswered, and every other office phone that rang past "
               "ring 2 is charged the R1 failure too; 'unknown' only when no office phone rang"),
]

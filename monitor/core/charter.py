"""The charter's vocabulary, defined once: rule ids, verdict results, the score, who is charged.

Every other part of telmon (metrics, reports, review, the workbench, ``--json``) takes
these names from here, so Grafana and the monthly report cannot disagree on which
rules count, how R10 is computed or which person a verdict is charged to.

* Rules judged per call: R1 ring, R2 apology after a late answer, R3 department
  and name stated, R4 wait, R5 transfer, R7 on an outbound call department, name
  and "is this a good time", R8 callback. R6 is off by default
  (a question of courtesy the speech check cannot judge); R9 (the monthly list of
  violations per person) and R10 (the score) are computed over a period.
* R10 = 100 x passes / (passes + confirmed violations) over the verdicts of
  :data:`SCORED_RULES`; each verdict weighs the same. A speech verdict that was
  ``unclear`` counts only once a reviewer confirmed it (it is then ``fail``);
  ``unclear``, ``pending`` and ``n/a`` never count.
* The person charged with a call's verdicts: who answered (on an outbound call,
  the member of staff who called out). An unanswered incoming or internal call is
  charged to the office phone that rang longest without answering — the person who
  let it ring; nobody (``None``) when no office phone rang.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Callable, Iterable, Optional, Sequence

from .record import OUTBOUND, CallRecord


class Rule(StrEnum):
    """A rule of the charter (a ``str``: ``Rule.R1 == "R1"``)."""

    R1 = "R1"     # answered before the 3rd ring
    R2 = "R2"     # a late answer (R1 failed) comes with an apology
    R3 = "R3"     # the answering person states department and name
    R4 = "R4"     # nobody waits more than 3 minutes
    R5 = "R5"     # a transfer never loses the caller
    R6 = "R6"     # courtesy (off: not judged)
    R7 = "R7"     # calling out: department, name, and asking whether it is a good time
    R8 = "R8"     # missed callers are called back
    R9 = "R9"     # the monthly list of violations per person
    R10 = "R10"   # the compliance score


class Result(StrEnum):
    """A verdict's result (a ``str``: ``Result.PASS == "pass"``)."""

    PASS = "pass"
    FAIL = "fail"
    NA = "n/a"            # the rule does not apply to this call
    PENDING = "pending"   # R8 until the callback window closes
    UNCLEAR = "unclear"   # the speech check could not decide: a reviewer will


#: The rules judged on every call, in the order reports and metrics list them.
CALL_RULES: tuple[Rule, ...] = (Rule.R1, Rule.R2, Rule.R3, Rule.R4, Rule.R5, Rule.R7, Rule.R8)
#: The rules the greeting check (speech) decides; a reviewer settles their ``unclear`` verdicts.
SPEECH_RULES: tuple[Rule, ...] = (Rule.R2, Rule.R3, Rule.R7)
#: The rules judged from one call's events the moment it ends (R8 needs later calls: core/callback.py).
CALL_END_RULES: tuple[Rule, ...] = (Rule.R1, Rule.R4, Rule.R5)
#: The rules decided from the call's events alone (the tracker), in the call table's order.
EVENT_RULES: tuple[Rule, ...] = (Rule.R1, Rule.R4, Rule.R5, Rule.R8)
#: A call's verdicts in ``--json`` and the terminal table: event rules first, speech rules after.
TABLE_RULES: tuple[Rule, ...] = EVENT_RULES + SPEECH_RULES
#: The rules R10 scores (every per-call rule; each verdict weighs the same).
SCORED_RULES: tuple[Rule, ...] = CALL_RULES
#: The score below which a department or person is flagged (R10's 90 points).
SCORE_GOAL = 90.0
#: Results that are a judgement (count in R10); the others wait or do not apply.
JUDGED_RESULTS: tuple[Result, ...] = (Result.PASS, Result.FAIL)


def score(passed: int, judged: int) -> Optional[float]:
    """R10: 100 x passes / judged verdicts (pass + confirmed fail), rounded to 0.1; None without any."""
    return round(100.0 * passed / judged, 1) if judged else None


def counts_in_score(rule: str, result: str) -> bool:
    """True when a verdict of ``rule`` with ``result`` is a judgement R10 counts."""
    return rule in SCORED_RULES and result in JUDGED_RESULTS


IsOffice = Callable[[str], bool]   # is this extension an office phone (in the directory)?
Rung = tuple[str, float]           # (extension, seconds it rang) of a phone that did not answer


def rung_unanswered(record: CallRecord) -> list[Rung]:
    """Phones that rang for this call and did not answer, longest ringing first (stable for ties).

    Stored with a call's facts as it is: which of them are office phones is the
    directory's say at report time, so a changed directory needs no rebuild.
    """
    rung = [(o.extension, o.ring_seconds) for o in record.offers
            if not o.answered and not o.to_trunk and o.ring_start is not None]
    return sorted(rung, key=lambda r: -r[1])


def staff_extension(record: CallRecord) -> Optional[str]:
    """The member of staff on a call: who answered it, or on an outbound call who called out (None: nobody)."""
    return (record.caller or None) if record.direction == OUTBOUND else (record.answered_by or None)


def charged_of(direction: str, caller: Optional[str], answered_by: Optional[str], rung: Sequence[Rung],
               is_office: IsOffice) -> Optional[str]:
    """The extension a call's verdicts are charged to (see the module docstring), or None.

    ``rung`` is :func:`rung_unanswered` of the call (only read when nobody answered).
    """
    if direction == OUTBOUND:
        return caller or None
    if answered_by:
        return answered_by
    return next((ext for ext, _ in rung if is_office(ext)), None)


def also_charged_of(direction: str, answered_by: Optional[str], rung: Sequence[Rung], r1_failed: bool,
                    rings_of: Callable[[float], int], max_rings: int, is_office: IsOffice) -> list[str]:
    """Further extensions charged with an unanswered call's R1 failure, for the R9 list.

    A ring group or queue rings several phones; each that rang past ``max_rings``
    without answering let the caller ring too. The first office phone (the longest)
    is the call's charged extension already and is not repeated; callers that list
    people, not phones, drop a person charged twice.
    """
    if answered_by or direction == OUTBOUND or not r1_failed:
        return []
    office = [(ext, secs) for ext, secs in rung if is_office(ext)]
    out: list[str] = []
    for ext, secs in office[1:]:
        if rings_of(secs) > max_rings and ext != office[0][0] and ext not in out:
            out.append(ext)
    return out


def charged_extension(record: CallRecord, is_office: IsOffice) -> Optional[str]:
    """:func:`charged_of` for a whole record."""
    return charged_of(record.direction, record.caller, record.answered_by, rung_unanswered(record), is_office)


def also_charged_r1(record: CallRecord, r1_failed: bool, rings_of: Callable[[float], int], max_rings: int,
                    is_office: IsOffice) -> list[str]:
    """:func:`also_charged_of` for a whole record."""
    return also_charged_of(record.direction, record.answered_by, rung_unanswered(record), r1_failed, rings_of,
                           max_rings, is_office)


def rules_in(order: Iterable[str], present: Iterable[str]) -> list[str]:
    """The rules of ``present`` in the order of ``order`` (unknown ones after, sorted)."""
    have = set(present)
    known = [r for r in order if r in have]
    return known + sorted(have - set(known))

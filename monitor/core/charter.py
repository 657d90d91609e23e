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
from typing import Callable, Iterable, Optional

from .record import OUTBOUND, CallRecord, Offer


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


def rang_unanswered(record: CallRecord, is_office: IsOffice) -> list[Offer]:
    """Office phones that rang for this call and did not answer, longest ringing first."""
    offers = [o for o in record.offers if not o.answered and not o.to_trunk and o.ring_start is not None
              and is_office(o.extension)]
    return sorted(offers, key=lambda o: -o.ring_seconds)


def charged_extension(record: CallRecord, is_office: IsOffice) -> Optional[str]:
    """The extension a call's verdicts are charged to (see the module docstring), or None."""
    if record.direction == OUTBOUND:
        return record.caller or None
    if record.answered_by:
        return record.answered_by
    rang = rang_unanswered(record, is_office)
    return rang[0].extension if rang else None


def also_charged_r1(record: CallRecord, r1_failed: bool, rings_of: Callable[[float], int], max_rings: int,
                    is_office: IsOffice) -> list[str]:
    """Further extensions charged with an unanswered call's R1 failure, for the R9 list.

    A ring group or queue rings several phones; each that rang past ``max_rings``
    without answering let the caller ring too. The first (longest) is the call's
    charged extension already and is not repeated.
    """
    if record.answered_by or record.direction == OUTBOUND or not r1_failed:
        return []
    rang = rang_unanswered(record, is_office)
    out: list[str] = []
    for offer in rang[1:]:   # a phone offered twice is charged once, as the call's own extension
        if (rings_of(offer.ring_seconds) > max_rings and offer.extension != rang[0].extension
                and offer.extension not in out):
            out.append(offer.extension)
    return out


def rules_in(order: Iterable[str], present: Iterable[str]) -> list[str]:
    """The rules of ``present`` in the order of ``order`` (unknown ones after, sorted)."""
    have = set(present)
    known = [r for r in order if r in have]
    return known + sorted(have - set(known))

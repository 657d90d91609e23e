"""A test oracle for the monthly report: whole stored calls folded one at a time, the obvious way.

Not production code. ``telmon report`` reads the month's ``call_facts`` rows and counts
them by key (``monitor/report/fast.py``): fast, and every figure derived when the call
was written (``storage/facts.py``). This oracle starts from the other end: the calls as
``Store.load_calls`` gives them back (records and verdicts from the seven tables, no
facts), charged with ``MonthReport.person_of`` / ``also_charged``, each folded into every
``Stats`` it belongs to. ``tests/test_report_fast.py`` and ``tests/test_report_facts.py``
require identical tallies, R9 lists, call-level rows and files from both, so a mistake
in the facts, the keyed counting or the row layout cannot hide.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from monitor.core.charter import CALL_RULES, SPEECH_RULES
from monitor.core.judged import JudgedCall
from monitor.core.masking import mask_number
from monitor.core.record import OUTBOUND
from monitor.report.aggregate import (NO_DEPARTMENT, NOT_OFFERED, OUTCOME_FIELD, RESULT_FIELD, MonthReport,
                                      PersonKey, Stats, Violation)
from monitor.report.evidence import evidence_text, is_reviewed, value_text


@dataclass(frozen=True)
class CallFacts:
    """What the oracle derived from one call (for its call-level rows)."""

    department: str
    person: PersonKey
    when: dt.datetime
    rings: Optional[int]
    longest_wait: Optional[float]
    violations: tuple[Violation, ...]
    also_r1: tuple[PersonKey, ...] = ()    # further people charged with the call's R1 failure

    def charged(self) -> list[tuple[PersonKey, Violation]]:
        """Every (person, violation) pair this call adds to the people's tallies."""
        out = [(self.person, v) for v in self.violations]
        out += [(k, v) for k in self.also_r1 for v in self.violations if v.rule == "R1"]
        return out


def add(report: MonthReport, call: JudgedCall) -> CallFacts:
    """Fold one call into every tally of ``report`` it belongs to; returns what was derived from it."""
    rec = call.record
    department = call.department or NO_DEPARTMENT
    person = report.person_of(call, department)
    when = report.month.local(rec.start)
    violations = tuple(Violation(when, rec.linkedid, r, value_text(v), evidence_text(v))
                       for r, v in sorted(call.verdicts.items()) if r in CALL_RULES and v.result == "fail")
    offer = rec.answered_offer
    rings = report.cadence.rings(offer.ring_seconds) if offer is not None and not offer.to_trunk else None
    longest = rec.longest_wait
    others = report.also_charged(call, person, department)
    facts = CallFacts(department, person, when, rings, longest.seconds if longest else None, violations,
                      tuple(others))
    groups = [report.total, report.departments.setdefault(department, Stats()),
              report.people.setdefault(person, Stats())]
    day = report.daily.get(when.date())
    if day is not None:
        groups.append(day)
    for stats in groups:
        _fold(report, stats, call, rings)
    report.keep(person, violations)
    for other in others:
        # Charged the R1 failure only: the call itself is counted once, with its first person.
        report.people.setdefault(other, Stats()).rules["R1"].failed += 1
        report.keep(other, tuple(v for v in violations if v.rule == "R1"))
    return facts


def _fold(report: MonthReport, s: Stats, call: JudgedCall, rings: Optional[int]) -> None:
    rec = call.record
    s.calls += 1
    if rec.outcome == "incomplete":
        s.incomplete += 1
    elif rec.direction == OUTBOUND:
        s.outbound += 1
    elif rec.outcome not in NOT_OFFERED:
        s.offered += 1
        if rec.outcome == "answered":
            s.answered += 1
            if rings is not None:
                s.sl_answered += 1
                s.sl_fast += rings <= report.limits.max_rings
        else:
            attr = OUTCOME_FIELD.get(rec.outcome, "no_answer")
            setattr(s, attr, getattr(s, attr) + 1)
    for rule, v in call.verdicts.items():
        tally = s.rules.get(rule)
        if tally is None:
            continue
        attr = RESULT_FIELD.get(v.result, "na")
        setattr(tally, attr, getattr(tally, attr) + 1)
        if rule in SPEECH_RULES and is_reviewed(v):
            tally.reviewed += 1
    r1 = call.verdicts.get("R1")
    if r1 is not None and r1.result in ("pass", "fail") and isinstance(r1.value, int):
        s.rings[r1.value] += 1
    r4 = call.verdicts.get("R4")
    if r4 is not None and r4.result in ("pass", "fail") and isinstance(r4.value, (int, float)):
        s.longest_wait = max(s.longest_wait, float(r4.value))
        s.waits_over += r4.result == "fail"
    s.transfers += len(rec.transfers)
    s.transfers_lost += sum(1 for t in rec.transfers if not t.answered)
    s.bounced += len(rec.transfers) > report.limits.max_transfers
    r8 = call.verdicts.get("R8")
    if r8 is not None and r8.result == "fail":
        if r8.value is None:
            s.r8_never += 1
        else:
            s.r8_late += 1


def call_row(call: JudgedCall, facts: CallFacts, unmasked: bool = False) -> list[Any]:
    """One call-level row (``columns.CALL_HEADERS``): the call, its verdicts and measured values."""
    rec = call.record
    caller = rec.caller if unmasked else mask_number(rec.caller)
    dialed = rec.dialed if unmasked else mask_number(rec.dialed)
    row: list[Any] = [rec.linkedid, facts.when.strftime("%Y-%m-%d"), facts.when.strftime("%H:%M:%S"),
                      rec.direction, caller, dialed, rec.outcome, facts.department, facts.person.extension,
                      facts.person.name, facts.rings,
                      None if facts.longest_wait is None else round(facts.longest_wait, 1), len(rec.transfers)]
    for rule in CALL_RULES:
        v = call.verdicts.get(rule)
        row += [v.result if v else "", value_text(v) if v else ""]
    row.append(len(facts.violations))
    return row


def violation_rows(facts: CallFacts) -> list[list[Any]]:
    """The call's confirmed violations, one row per person charged (``columns.VIOLATION_HEADERS``)."""
    return [[p.department, p.extension, p.name, v.when.strftime("%Y-%m-%d"), v.when.strftime("%H:%M:%S"),
             v.linkedid, v.rule, v.value, v.evidence] for p, v in facts.charged()]


def fold(report: MonthReport, calls: Iterable[JudgedCall], sinks: Iterable[Any] = ()
         ) -> tuple[list[list[Any]], list[list[Any]]]:
    """Fold every call into ``report``, feeding each tabular sink its rows; returns (call rows, violation rows)."""
    sinks = list(sinks)
    rows: list[list[Any]] = []
    vrows: list[list[Any]] = []
    for call in calls:
        facts = add(report, call)
        row, violations = call_row(call, facts), violation_rows(facts)
        rows.append(row)
        vrows += violations
        for sink in sinks:
            sink.rows([row], violations)
    return rows, vrows

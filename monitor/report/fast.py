"""The month's figures from the facts rows (``fastread.py``): every tally of a :class:`MonthReport`.

Why this shape: folding each call into four ``Stats`` (total, department, person,
day) costs ~40 attribute updates a call. Instead each row is counted under a key:
who (department, person, co-charged people), the local day, the rings, the
outcome, direction, transfers, lost transfers and the ``tally`` text (each rule's
result, reviewed bits, R1's rings, R8 never called back); the counts are folded into the tallies once per distinct key
at the end (a few thousand keys for a million calls). The one continuous figure,
R4's longest wait, is kept as a running max per (department, person, day).
Memory: keys grow with people x days x outcomes, not with calls.

The per-call work is what depends on report-time settings only: the directory (the
person's name; for an unanswered call, which candidate phones are office phones),
the cadence (rings), the time zone (date and time). Everything else was derived when
the call was written (``storage/facts.py``).

This is the report's only implementation. ``tests/report_oracle.py`` folds whole stored
calls (``Store.load_calls``) the straightforward way, as a test oracle: the tests check
that both give identical tallies, R9 lists, call-level rows and files.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional, Sequence

from ..core.charter import CALL_RULES, also_charged_of, charged_of
from ..core.record import OUTBOUND
from ..storage.facts import REVIEW_BITS, parse_tally
from ..storage.store import Store
from .aggregate import (
    NO_DEPARTMENT,
    NOT_OFFERED,
    OUTCOME_FIELD,
    RESULT_FIELD,
    UNKNOWN,
    MonthReport,
    PersonKey,
    Stats,
    Violation,
)
from .fastread import VERDICTS_FROM, VERDICTS_TO, Clock, FactsRow, stream_rows

Sink = Callable[[list[list[Any]], list[list[Any]]], None]   # (call rows, violation rows) of a chunk


class FastMonth:
    """Fills a :class:`MonthReport`'s tallies from the facts rows."""

    def __init__(self, report: MonthReport, sheets: bool = False, unmasked: bool = False) -> None:
        """Counts for ``report``; ``sheets``: call-level rows will be wanted; ``unmasked``: full numbers."""
        self.report, self.sheets, self.unmasked = report, sheets, unmasked
        self.counts: dict[tuple[Any, ...], int] = {}
        self.r4max: dict[tuple[Any, ...], float] = {}
        # People are counted by number: a frozen dataclass hashes in Python, ~0.5 µs a call.
        self._people: dict[tuple[str, Optional[str]], tuple[int, PersonKey]] = {}
        self._numbers: dict[PersonKey, int] = {}
        self._keys: list[PersonKey] = []
        self._kept_full: set[int] = set()   # people whose R9 list is full (or who are never listed)
        self.clock = Clock(report.month)
        self.max_rings = report.limits.max_rings

    def run(self, store: Store, since: float, until: float, department: Optional[str] = None,
            sink: Optional[Sink] = None, step: Optional[Callable[[], None]] = None) -> None:
        """Stream the month's calls (of one department) into the counts; rows go to ``sink`` per chunk."""
        for rows in stream_rows(store, since, until, department, self.unmasked):
            self.add_rows(rows, sink, step)

    def _person(self, department: str, ext: Optional[str]) -> tuple[int, PersonKey]:
        """(number, key) of the person an extension is in a department."""
        found = self._people.get((department, ext))
        if found is None:
            key = self.report.person_key(department, ext)
            n = self._numbers.get(key)
            if n is None:
                n = self._numbers[key] = len(self._keys)
                self._keys.append(key)
            found = self._people[(department, ext)] = (n, key)
        return found

    def _unanswered(self, department: str, direction: str, rang: Optional[str], r1_failed: bool
                    ) -> tuple[tuple[int, PersonKey], tuple[int, ...]]:
        """Who let an unanswered call ring (the office phone that rang longest), and who else is charged
        its R1 failure (every other office phone that rang past the limit), by number."""
        rep = self.report
        is_office = rep.is_office
        rung = [(ext, secs) for ext, secs in json.loads(rang or "[]")]
        person = self._person(department, charged_of(direction, None, None, rung, is_office))
        others = also_charged_of(direction, None, rung, r1_failed, rep.cadence.rings, self.max_rings, is_office)
        out: list[int] = []
        for ext in others:   # people, not phones: a person with two phones is charged once
            n, _ = self._person(department, ext)
            if n != person[0] and n not in out:
                out.append(n)
        return person, tuple(out)

    def add_rows(self, rows: Sequence[FactsRow], sink: Optional[Sink] = None,
                 step: Optional[Callable[[], None]] = None) -> None:
        """Count facts rows; with a ``sink``, hand it the chunk's sheet rows."""
        rep, counts, r4max, people, keys = self.report, self.counts, self.r4max, self._people, self._keys
        done = self._kept_full
        split, rings_of, person_of, keep = self.clock.split, rep.cadence.rings, self._person, rep.keep_violations
        local, remember = rep.month.local, rep.keep
        sheet: list[list[Any]] = []
        vrows: list[list[Any]] = []
        for row in rows:
            linkedid, direction = row.linkedid, row.direction
            day, date, clock = split(row.started_at)
            department = row.department or NO_DEPARTMENT
            ext = row.person
            others: tuple[int, ...] = ()
            if ext or direction == OUTBOUND:
                who = people.get((department, ext)) or person_of(department, ext)
            else:
                who, others = self._unanswered(department, direction, row.rang, row.r1 == "fail")
            pid, person = who
            ring_secs = row.ring_secs
            rings = None if ring_secs is None else rings_of(ring_secs)
            r4 = row.r4_wait
            key = (department, pid, day, others, rings, r4 is None, row.outcome, direction, row.transfers, row.lost,
                   row.tally)
            counts[key] = counts.get(key, 0) + 1
            if r4 is not None:
                k4 = (department, pid, day)
                if r4 > r4max.get(k4, -1.0):
                    r4max[k4] = r4
            fails = row.fails
            if fails:
                failed = None
                if others or pid not in done:
                    # The printed R9 list keeps each person's first violations (with their datetime).
                    failed = json.loads(row.why or "[]")   # [[rule, value, evidence], ...]
                    when = local(row.started_at)
                    violations = tuple(Violation(when, linkedid, r, value, why) for r, value, why in failed)
                    remember(person, violations)
                    r1 = tuple(v for v in violations if v.rule == "R1")
                    for other in others:
                        remember(keys[other], r1)
                    if person.name == UNKNOWN or len(rep.kept.get(person, ())) >= keep:
                        done.add(pid)
                if sink is not None:
                    if failed is None:
                        failed = json.loads(row.why or "[]")
                    vrows += [[person.department, person.extension, person.name, date, clock, linkedid, r, value,
                               why] for r, value, why in failed]
                    for other in others:
                        p = keys[other]
                        vrows += [[p.department, p.extension, p.name, date, clock, linkedid, r, value, why]
                                  for r, value, why in failed if r == "R1"]
            if sink is not None:
                sheet.append([linkedid, date, clock, direction, row.caller, row.dialed, row.outcome, department,
                              person.extension, person.name, rings, row.longest_wait, row.transfers,
                              *row[VERDICTS_FROM:VERDICTS_TO], fails])
            if step is not None:
                step()
        if sink is not None:
            sink(sheet, vrows)

    def finish(self) -> None:
        """Fold the counted keys into the report's Stats (each distinct key once, weighted)."""
        rep, keys = self.report, self._keys
        tallies: dict[str, Any] = {}
        for (department, pid, day, others, rings, r4none, *sig), n in self.counts.items():
            outcome, direction, ntr, lost, text = sig
            tally = tallies.get(text) or tallies.setdefault(text, parse_tally(text))
            person = keys[pid]
            groups = [rep.total, rep.departments.get(department) or rep.departments.setdefault(department, Stats()),
                      rep.people.get(person) or rep.people.setdefault(person, Stats())]
            daily = rep.daily.get(self.clock.date_of(day))
            if daily is not None:
                groups.append(daily)
            for stats in groups:
                self._fold(stats, rings, r4none, outcome, direction, ntr, lost, tally, n)
            for other in others:
                (rep.people.get(keys[other]) or rep.people.setdefault(keys[other], Stats())).rules["R1"].failed += n
        for (department, pid, day), wait in self.r4max.items():
            for group in (rep.total, rep.departments[department], rep.people[keys[pid]],
                          rep.daily.get(self.clock.date_of(day))):
                if group is not None:
                    group.longest_wait = max(group.longest_wait, wait)
        self.counts, self.r4max = {}, {}

    def _fold(self, s: Stats, rings: Optional[int], r4none: bool, outcome: str, direction: str, ntr: int,
              lost: int, tally: tuple[list[str], int, Optional[int], bool], n: int) -> None:
        """Add ``n`` calls of one counted key to ``s`` (``tally``: ``facts.parse_tally``'s)."""
        results, reviewed, r1ring, r8never = tally
        s.calls += n
        if outcome == "incomplete":
            s.incomplete += n
        elif direction == OUTBOUND:
            s.outbound += n
        elif outcome not in NOT_OFFERED:
            s.offered += n
            if outcome == "answered":
                s.answered += n
                if rings is not None:
                    s.sl_answered += n
                    s.sl_fast += n * (rings <= self.max_rings)
            else:
                attr = OUTCOME_FIELD.get(outcome, "no_answer")
                setattr(s, attr, getattr(s, attr) + n)
        by_rule: dict[str, str] = dict(zip(CALL_RULES, results))
        for rule, result in by_rule.items():
            if result == "":
                continue   # no such verdict
            rule_tally = s.rules[rule]
            attr = RESULT_FIELD.get(result, "na")
            setattr(rule_tally, attr, getattr(rule_tally, attr) + n)
            if reviewed & REVIEW_BITS.get(rule, 0):
                rule_tally.reviewed += n
        if r1ring is not None:
            s.rings[r1ring] += n
        s.waits_over += n * (by_rule["R4"] == "fail" and not r4none)
        s.transfers += n * ntr
        s.transfers_lost += n * lost
        s.bounced += n * (ntr > self.report.limits.max_transfers)
        if by_rule["R8"] == "fail":
            if r8never:
                s.r8_never += n
            else:
                s.r8_late += n


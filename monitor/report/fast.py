"""The month's figures from flat per-call rows (``fastread.py``): the same tallies as ``MonthReport.add``.

Why this shape: folding each call into four ``Stats`` (total, department, person,
day) cost ~40 attribute updates a call. Instead each call is reduced to a small
hashable *signature* of everything the fold looks at (outcome, direction, rings,
each rule's result, reviewed flags, R1 rings, transfers, lost, R8 kind) and counted
per (department, person, day, co-charged people); the counts are folded once per
distinct key with a weight at the end (a few thousand keys for a million calls).
The one continuous figure, R4's longest wait, is kept as a running max per key.
Memory: keys grow with people x days x outcomes, not with calls.

``aggregate.MonthReport`` stays the reference (small inputs, readable); the test
``tests/test_report_fast.py`` checks that both give identical tallies, R9 lists and
call-level rows on the captures and on hand-built calls covering every result.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional

from ..core.record import OUTBOUND
from ..core.rules import Verdict
from ..render import mask_number
from ..storage.store import Store
from .aggregate import _OUTCOME_FIELD, _RESULT_FIELD, NO_DEPARTMENT, RULES, SPEECH_RULES, UNKNOWN, MonthReport, \
    PersonKey, Stats, Violation
from .evidence import evidence_text, is_reviewed, value_text
from .fastread import stream_flat
from .reader import _value

Sink = Callable[[list[Any], list[list[Any]]], None]   # (call row, violation rows)
_UNITS = {"R1": " rings", "R4": " s", "R5": " transfers", "R8": " s delay"}


class FastMonth:
    """Fills a :class:`MonthReport`'s tallies from the database without building call records."""

    def __init__(self, report: MonthReport, sheets: bool = False, unmasked: bool = False) -> None:
        self.report, self.sheets, self.unmasked = report, sheets, unmasked
        self.counts: dict[tuple[Any, ...], int] = {}
        self.r4max: dict[tuple[Any, ...], float] = {}
        self._keys: dict[tuple[str, Optional[str]], PersonKey] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._masked: dict[str, str] = {}
        self._dates: dict[dt.date, str] = {}
        self.max_rings = report.limits.max_rings

    def run(self, store: Store, since: float, until: float, department: Optional[str] = None,
            sink: Optional[Sink] = None, step: Optional[Callable[[], None]] = None) -> None:
        """Stream the month's calls (of one department) into the counts; rows go to ``sink``."""
        for rules, rows, offers in stream_flat(store, since, until, department, RULES, self.sheets):
            for row in rows:
                self.add(rules, row, offers, sink)
                if step is not None:
                    step()

    def _key(self, department: str, ext: Optional[str]) -> PersonKey:
        key = self._keys.get((department, ext))
        if key is None:
            key = self._keys[(department, ext)] = self.report._key(department, ext)
        return key

    def _text(self, rule: str, raw: str) -> str:
        """value_text of a stored value, by its JSON text (the same text always gives the same words)."""
        text = self._texts.get((rule, raw))
        if text is None:
            text = value_text(Verdict(rule, "", _value(raw), ""))
            if len(self._texts) < 100_000:
                self._texts[(rule, raw)] = text
        return text

    def _rang(self, offers: list[tuple[Any, ...]]) -> list[tuple[str, float]]:
        """(extension, ringing seconds) of office phones that rang unanswered, longest first (stable)."""
        dept_of = self.report.directory.department_of
        rang = [(o[0], 0.0 if o[2] is None else max(0.0, o[2] - o[1])) for o in offers
                if o[3] is None and not o[4] and o[1] is not None and dept_of(o[0])]
        return sorted(rang, key=lambda o: -o[1])

    def add(self, rules: tuple[str, ...], row: tuple[Any, ...], offers: dict[int, list[tuple[Any, ...]]],
            sink: Optional[Sink] = None) -> None:
        """Count one flat row (see ``fastread.month_query`` for its columns)."""
        rep = self.report
        cid, linkedid, start, direction, caller, dialed, outcome, dept, answered_by = row[:9]
        department = dept or NO_DEPARTMENT
        ext = caller if direction == OUTBOUND else answered_by
        rang: list[tuple[str, float]] = []
        if not answered_by and direction != OUTBOUND:
            rang = self._rang(offers.get(cid, []))
            if not ext:
                ext = rang[0][0] if rang else None
        person = self._key(department, ext)
        when = rep.month.local(start)
        day = when.date()
        n = len(rules)
        verdicts = {rules[i]: row[9 + 3 * i: 12 + 3 * i] for i in range(n) if row[9 + 3 * i] is not None}
        ntr, lost, ring_secs = row[9 + 3 * n: 12 + 3 * n]
        rings = None if ring_secs is None else rep.cadence.rings(max(0.0, ring_secs))
        fields, reviewed, fails = [], [], []
        r1ring = r8kind = None
        waits_over = False
        for rule in RULES:
            v = verdicts.get(rule)
            if v is None:
                fields.append(None)
                continue
            result, raw, detail = v
            fields.append(_RESULT_FIELD.get(result, "na"))
            judged = result == "pass" or result == "fail"
            if rule in SPEECH_RULES:
                # json.dumps never escapes letters, so a value without this text has no review.
                reviewed.append('"review"' in raw and is_reviewed(Verdict(rule, result, _value(raw), "")))
            elif rule == "R1" and judged:
                value = _value(raw)
                r1ring = value if isinstance(value, int) else None
            elif rule == "R4" and judged:
                value = _value(raw)
                if isinstance(value, (int, float)):
                    waits_over = result == "fail"
                    key4 = (department, person, day)
                    old = self.r4max.get(key4)
                    if old is None or float(value) > old:
                        self.r4max[key4] = float(value)
            elif rule == "R8" and result == "fail":
                r8kind = "never" if raw == "null" or _value(raw) is None else "late"
            if result == "fail":
                fails.append((rule, raw, detail))
        others: tuple[PersonKey, ...] = ()
        if rang and verdicts.get("R1", ("",))[0] == "fail":
            out: list[PersonKey] = []
            for other_ext, secs in rang[1:]:
                k = self._key(department, other_ext)
                if rep.cadence.rings(secs) > self.max_rings and k != person and k not in out:
                    out.append(k)
            others = tuple(out)
        sig = (outcome, direction, rings, tuple(fields), tuple(reviewed), r1ring, waits_over, ntr, lost, r8kind)
        key = (department, person, day, others, sig)
        self.counts[key] = self.counts.get(key, 0) + 1
        violations: tuple[Violation, ...] = ()
        if fails and (sink is not None or person.name != UNKNOWN or others):
            violations = tuple(Violation(when, linkedid, r, self._text(r, raw),
                                         evidence_text(Verdict(r, "fail", _value(raw), d or "")))
                               for r, raw, d in fails)
            rep._keep(person, violations)
            for other in others:
                rep._keep(other, tuple(v for v in violations if v.rule == "R1"))
        if sink is not None:
            sink(self._call_row(row, verdicts, when, department, person, rings, ntr, len(fails), n),
                 self._violation_rows(when, person, others, violations))

    def _date(self, day: dt.date) -> str:
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = day.strftime("%Y-%m-%d")
        return text

    def _mask(self, number: Optional[str]) -> str:
        if self.unmasked:
            return number or ""
        masked = self._masked.get(number or "")
        if masked is None:
            masked = mask_number(number)
            if len(self._masked) < 100_000:
                self._masked[number or ""] = masked
        return masked

    def _call_row(self, row: tuple[Any, ...], verdicts: dict[str, Any], when: dt.datetime, department: str,
                  person: PersonKey, rings: Optional[int], ntr: int, nviol: int, n: int) -> list[Any]:
        """The same list as ``columns.call_row``."""
        longest = row[12 + 3 * n]
        out: list[Any] = [row[1], self._date(when.date()), f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}",
                          row[3], self._mask(row[4]), self._mask(row[5]), row[6], department, person.extension,
                          person.name, rings, None if longest is None else round(max(0.0, longest), 1), ntr]
        for rule in RULES:
            v = verdicts.get(rule)
            out += [v[0], self._text(rule, v[1])] if v else ["", ""]
        out.append(nviol)
        return out

    def _violation_rows(self, when: dt.datetime, person: PersonKey, others: tuple[PersonKey, ...],
                        violations: tuple[Violation, ...]) -> list[list[Any]]:
        """The same lists as ``columns.violation_rows``."""
        if not violations:
            return []
        pairs = [(person, v) for v in violations] + [(k, v) for k in others for v in violations if v.rule == "R1"]
        date, time = self._date(when.date()), f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
        return [[p.department, p.extension, p.name, date, time, v.linkedid, v.rule, v.value, v.evidence]
                for p, v in pairs]

    def finish(self) -> None:
        """Fold the counted signatures into the report's Stats (each distinct key once, weighted)."""
        rep = self.report
        for (department, person, day, others, sig), n in self.counts.items():
            groups = [rep.total, rep.departments.get(department) or rep.departments.setdefault(department, Stats()),
                      rep.people.get(person) or rep.people.setdefault(person, Stats())]
            if day in rep.daily:
                groups.append(rep.daily[day])
            for stats in groups:
                self._fold(stats, sig, n)
            for other in others:
                (rep.people.get(other) or rep.people.setdefault(other, Stats())).rules["R1"].failed += n
        for (department, person, day), wait in self.r4max.items():
            for stats in (rep.total, rep.departments[department], rep.people[person], rep.daily.get(day)):
                if stats is not None:
                    stats.longest_wait = max(stats.longest_wait, wait)
        self.counts, self.r4max = {}, {}

    def _fold(self, s: Stats, sig: tuple[Any, ...], n: int) -> None:
        """``MonthReport._fold`` for ``n`` calls of one signature."""
        outcome, direction, rings, fields, reviewed, r1ring, waits_over, ntr, lost, r8kind = sig
        s.calls += n
        if outcome == "incomplete":
            s.incomplete += n
        elif direction == OUTBOUND:
            s.outbound += n
        else:
            s.offered += n
            if outcome == "answered":
                s.answered += n
                if rings is not None:
                    s.sl_answered += n
                    s.sl_fast += n * (rings <= self.max_rings)
            else:
                attr = _OUTCOME_FIELD.get(outcome, "no_answer")
                setattr(s, attr, getattr(s, attr) + n)
        speech = iter(reviewed)
        for rule, attr in zip(RULES, fields):
            if attr is None:
                continue
            tally = s.rules[rule]
            setattr(tally, attr, getattr(tally, attr) + n)
            if rule in SPEECH_RULES and next(speech):
                tally.reviewed += n
        if r1ring is not None:
            s.rings[r1ring] += n
        s.waits_over += n * waits_over
        s.transfers += n * ntr
        s.transfers_lost += n * lost
        s.bounced += n * (ntr > self.report.limits.max_transfers)
        if r8kind == "never":
            s.r8_never += n
        elif r8kind == "late":
            s.r8_late += n

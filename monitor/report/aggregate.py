"""The month's per-department, per-person and per-day figures, and who they are charged to.

Pure: no I/O. ``fast.FastMonth`` fills a :class:`MonthReport`'s fixed-size tallies from
the month's facts rows, so a month of a million calls needs the memory of its
departments x people, not of its calls. The only lists kept are each person's
first ``keep_violations`` violations (for the printed R9 list; the complete list
is streamed to the violations sheet by the writers).

Definitions (also printed in every report and in docs/REPORT.md):

* **confirmed violation**: a ``fail`` verdict of R1, R2, R3, R4, R5, R7 or R8. A speech
  verdict (R2/R3/R7) that was ``unclear`` counts only after a reviewer confirmed it
  (``telmon review LINKEDID RULE --confirm`` turns it into ``fail``); undecided
  ``unclear`` verdicts, ``pending`` R8 and ``n/a`` never count.
* **SL** = calls answered at or before ring 2 / calls answered (inbound and internal
  calls answered by an office phone). **SL2** = the same / (answered + abandoned).
* **R10 score** = 100 x passes / (passes + confirmed violations), over all judged
  verdicts of R1, R2, R3, R4, R5, R7 and R8 of the group's calls (each verdict weighs
  the same, so busier people and departments weigh more). No judged verdict: no score.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from ..core.cadence import Cadence
from ..core.charter import SCORE_GOAL as SCORE_GOAL   # the report's goal line (html.py imports it from here)
from ..core.charter import CALL_RULES, SCORED_RULES, also_charged_r1, charged_extension, score
from ..core.judged import JudgedCall as StoredCall
from ..core.rules import Thresholds
from ..directory import Directory
from .period import Month

RING_BUCKETS = (1, 2, 3, 4, 5, 6)   # 6 means "6 or more"
NO_DEPARTMENT = "(no department)"
UNKNOWN = "unknown"
#: A verdict's result -> the :class:`RuleTally` counter it adds to (any other result: ``na``).
RESULT_FIELD = {"pass": "passed", "fail": "failed", "pending": "pending", "unclear": "unclear"}
#: An offered, unanswered call's outcome -> the :class:`Stats` counter it adds to (any other:
#: ``no_answer``: no answer, rejected, failed).
OUTCOME_FIELD = {"abandoned": "abandoned", "busy": "busy", "voicemail": "no_answer"}
# Outcomes that are not an offered call: a caller who dialled a conference room reached a
# meeting, not a person (counted in ``calls`` only). Any other unknown outcome counts as missed.
NOT_OFFERED = ("conference",)


@dataclass
class RuleTally:
    """How one rule's verdicts came out over a group of calls."""

    passed: int = 0
    failed: int = 0
    na: int = 0
    pending: int = 0
    unclear: int = 0
    reviewed: int = 0     # speech verdicts a reviewer decided (confirmed or rejected)

    @property
    def judged(self) -> int:
        """Verdicts that count: pass or (confirmed) fail."""
        return self.passed + self.failed

    @property
    def rate(self) -> Optional[float]:
        """Pass rate 0..1, None when nothing was judged."""
        return self.passed / self.judged if self.judged else None


@dataclass
class Stats:
    """The month's figures for one department, one person, one day or everything."""

    calls: int = 0
    offered: int = 0        # inbound + internal calls (not outbound)
    answered: int = 0
    abandoned: int = 0
    busy: int = 0
    no_answer: int = 0      # no answer, rejected, failed
    outbound: int = 0
    incomplete: int = 0
    rules: dict[str, RuleTally] = field(default_factory=lambda: {r: RuleTally() for r in CALL_RULES})
    rings: Counter = field(default_factory=Counter)   # R1 rings (worst offer) of judged calls
    sl_answered: int = 0    # offered calls answered by an office phone
    sl_fast: int = 0        # ... of which at ring <= max_rings
    longest_wait: float = 0.0
    waits_over: int = 0     # R4 failures
    transfers: int = 0
    transfers_lost: int = 0
    bounced: int = 0        # calls transferred more than the allowed number of times
    r8_late: int = 0        # called back, but after the window
    r8_never: int = 0       # window closed without a callback

    @property
    def violations(self) -> int:
        """Confirmed violations (fail verdicts) of the per-call rules."""
        return sum(t.failed for t in self.rules.values())

    @property
    def sl(self) -> Optional[float]:
        """Service level: answered before the 3rd ring / answered."""
        return self.sl_fast / self.sl_answered if self.sl_answered else None

    @property
    def sl2(self) -> Optional[float]:
        """Service level counting abandoned calls: answered before the 3rd ring / (answered + abandoned)."""
        denom = self.sl_answered + self.abandoned
        return self.sl_fast / denom if denom else None

    @property
    def score(self) -> Optional[float]:
        """R10: 100 x passes / judged verdicts of the scored rules, rounded to 0.1."""
        scored = [t for r, t in self.rules.items() if r in SCORED_RULES]
        return score(sum(t.passed for t in scored), sum(t.judged for t in scored))

    def ring_bucket(self, n: int) -> int:
        """Judged calls whose R1 ring count is ``n`` (the last bucket: n or more)."""
        if n == RING_BUCKETS[-1]:
            return sum(c for r, c in self.rings.items() if r >= n)
        return self.rings.get(n, 0)


@dataclass(frozen=True)
class PersonKey:
    """A person as the report lists them: department, extension and name ('unknown': no one answered)."""

    department: str
    extension: str
    name: str


@dataclass(frozen=True)
class Violation:
    """One confirmed violation, as the R9 training list shows it."""

    when: dt.datetime
    linkedid: str
    rule: str
    value: str
    evidence: str


class MonthReport:
    """The accumulators of one month's report."""

    def __init__(self, month: Month, directory: Directory, cadence: Cadence, limits: Thresholds,
                 departments: Optional[list[str]] = None, keep_violations: int = 20) -> None:
        self.month, self.directory, self.cadence, self.limits = month, directory, cadence, limits
        self.keep_violations = keep_violations
        self.total = Stats()
        # Every department is listed, even one without calls: "no calls" is a finding too.
        names = list(departments) if departments else [d.name for d in directory.departments]
        self.departments: dict[str, Stats] = {n: Stats() for n in names}
        self.people: dict[PersonKey, Stats] = {}
        self.daily: dict[dt.date, Stats] = {d: Stats() for d in month.days()}
        self.kept: dict[PersonKey, list[Violation]] = {}

    def person_of(self, call: StoredCall, department: str) -> PersonKey:
        """Who the call is charged to: the answering extension (the caller on outbound calls).

        When nobody answered, the office phone that rang longest unanswered: the person who
        let it ring is who the R9 list is about. 'unknown' only when no office phone rang.
        """
        return self.person_key(department, charged_extension(call.record, self.is_office))

    def is_office(self, extension: str) -> bool:
        """True when ``extension`` is an office phone of the directory."""
        return bool(self.directory.department_of(extension))

    def person_key(self, department: str, ext: Optional[str]) -> PersonKey:
        """How the report lists extension ``ext`` charged in ``department`` ('unknown': no known person;
        the extension is kept when it is an office phone)."""
        person = self.directory.person(ext) if ext else None
        if person is None:
            return PersonKey(department, ext if ext and self.directory.department_of(ext) else "", UNKNOWN)
        return PersonKey(department, person.extension, person.name)

    def also_charged(self, call: StoredCall, person: PersonKey, department: str) -> list[PersonKey]:
        """Other people charged with an unanswered call's R1 failure: every further office phone that
        rang past the limit (a ring group or queue rings several; each of them let it ring)."""
        r1 = call.verdicts.get("R1")
        exts = also_charged_r1(call.record, r1 is not None and r1.result == "fail", self.cadence.rings,
                               self.limits.max_rings, self.is_office)
        # Two extensions of one person are one key: charged once, never twice to the call's own person.
        return [k for k in dict.fromkeys(self.person_key(department, e) for e in exts) if k != person]

    def keep(self, person: PersonKey, violations: tuple[Violation, ...]) -> None:
        """Remember a person's violations for the printed R9 list (the first ``keep_violations`` only)."""
        if violations and person.name != UNKNOWN:
            kept = self.kept.setdefault(person, [])
            kept.extend(violations[:max(0, self.keep_violations - len(kept))])

    def trainees(self) -> list[tuple[PersonKey, Stats, list[Violation]]]:
        """R9: every known person with 3 or more confirmed violations, most violations first."""
        out = [(k, s, self.kept.get(k, [])) for k, s in self.people.items()
               if k.name != UNKNOWN and s.violations >= 3]
        return sorted(out, key=lambda t: (-t[1].violations, t[0].department, t[0].extension))

    def sorted_people(self) -> list[tuple[PersonKey, Stats]]:
        """People by department (directory order), then extension."""
        order = {d: i for i, d in enumerate(self.departments)}
        return sorted(self.people.items(), key=lambda kv: (order.get(kv[0].department, 99), kv[0].department,
                                                           kv[0].name == UNKNOWN, kv[0].extension))

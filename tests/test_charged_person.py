"""Grafana and the monthly report charge every call to the same person (core/charter.charged_extension).

On every bundled capture (the real Asterisk captures and the lab's office-feature
captures), the person :class:`Metrics` labels a call's verdicts with is the person
the report lists it under, unanswered calls included (charged to the office phone
that rang longest), and the verdict counters per person equal the report's
verdicts grouped by its person.
"""
from __future__ import annotations

from collections import Counter

import pytest

from captures_judged import CAPTURE_SETS, JudgedSet, judge_set
from monitor.core.charter import CALL_RULES, JUDGED_RESULTS
from monitor.core.record import OUTBOUND
from monitor.metrics.live import UNKNOWN


@pytest.fixture(scope="module", params=sorted(CAPTURE_SETS))
def judged(request) -> JudgedSet:
    return judge_set(request.param)


def test_metrics_and_the_report_charge_each_call_to_the_same_person(judged):
    unanswered_named = 0
    for call in judged.calls:
        rec = call.record
        by_metrics = judged.metrics.person_of(rec)
        by_report = judged.charged[rec.linkedid]   # the report's calls sheet, made by the production path
        assert by_metrics == by_report, (rec.linkedid, rec.direction, rec.outcome)
        # What Metrics labelled the call's counters with (verdicts settled later reuse it).
        assert judged.metrics._labels[rec.linkedid] == (call.department or UNKNOWN, by_metrics)
        if not rec.answered_by and rec.direction != OUTBOUND and by_metrics != UNKNOWN:
            unanswered_named += 1
    # The case the two used to disagree on: an unanswered call, charged to whoever let it ring.
    assert unanswered_named >= 1


def test_verdict_counters_per_person_equal_the_reports_verdicts_per_person(judged):
    want: Counter = Counter()
    for call in judged.calls:
        person = judged.charged[call.record.linkedid]
        for rule, v in call.verdicts.items():
            if v.result in JUDGED_RESULTS:
                want[(rule, v.result, call.department or UNKNOWN, person)] += 1
    got: Counter = Counter()
    for family in judged.metrics.registry.collect():
        for s in family.samples:
            if s.name == "telmon_rule_verdicts_total" and s.labels["result"] in JUDGED_RESULTS and s.value:
                got[(s.labels["rule"], s.labels["result"], s.labels["department"], s.labels["person"])] += s.value
    assert got == want
    assert {k[0] for k in got} <= set(CALL_RULES) and sum(got.values()) > len(judged.calls)

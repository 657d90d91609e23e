"""R10 in Prometheus and Grafana is the report's R10: generated from core/charter, checked with promtool.

* The committed rules file and compliance dashboard equal what
  ``python -m monitor.metrics.promrules`` writes (a charter change cannot leave them behind).
* promtool evaluates the recording rules and the dashboard's two R10 panel queries
  over counter series built from what :class:`Metrics` counted on the bundled
  captures (two telmon instances: the real captures and the lab's); every
  department's and person's score equals 100 x passes / judged of the same calls'
  verdicts, and that figure rounded (``charter.score``) is the monthly report's R10.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter

import pytest
import yaml

from captures_judged import CAPTURE_SETS, judge_set
from monitor.core.charter import counts_in_score, score
from monitor.metrics import promrules
from monitor.metrics.live import UNKNOWN
from monitor.report.aggregate import NO_DEPARTMENT

EVAL = "5m"   # samples at 0..5m: 0 until the calls, then each counter's final value


def test_committed_rules_and_dashboard_are_the_generators_output():
    for path, make in ((promrules.RULES_FILE, promrules.rules_file_text),
                       (promrules.DASHBOARD, promrules.dashboard_text)):
        text = path.read_text(encoding="utf-8")
        assert make(text) == text, f"{path.name}: run python -m monitor.metrics.promrules"
    assert promrules.main(["--check"]) == 0
    assert promrules.rule_regex() == "R1|R2|R3|R4|R5|R7|R8"


def test_generated_rules_follow_the_charter(monkeypatch):
    """A rule added to the charter's scored rules reaches the recording rules and the panels."""
    monkeypatch.setattr(promrules, "SCORED_RULES", ("R1", "R6"))
    rules = promrules.rules_file_text(promrules.RULES_FILE.read_text(encoding="utf-8"))
    assert 'rule=~"R1|R6"' in rules and "R1|R2" not in rules.split(promrules.MARKER)[1]
    dashboard = json.loads(promrules.dashboard_text(promrules.DASHBOARD.read_text(encoding="utf-8")))
    exprs = [p["targets"][0]["expr"] for p in dashboard["panels"] if p["title"] in promrules.PANELS]
    assert len(exprs) == 2 and all('rule=~"R1|R6"' in e for e in exprs)


def _series_and_expected():
    """(input series for promtool, {(department,): (passes, judged)}, {(department, person): ...}), reports."""
    series = []
    dept: dict[str, Counter] = {}
    person: dict[tuple[str, str], Counter] = {}
    reports = []
    for name in sorted(CAPTURE_SETS):
        judged = judge_set(name)
        reports.append(judged)
        for family in judged.metrics.registry.collect():
            for s in family.samples:
                if s.name != "telmon_rule_verdicts_total":
                    continue
                labels = dict(s.labels, job="telmon", instance=f"{name}:9108")
                text = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                series.append({"series": f"telmon_rule_verdicts_total{{{text}}}",
                               "values": f"0 0 0 {s.value:g} {s.value:g} {s.value:g}"})
        # The expected figures, from the finished calls' verdicts (not from the counters).
        for call in judged.calls:
            d = call.department or UNKNOWN
            p = judged.metrics.person_of(call.record)
            for v in call.verdicts.values():
                if counts_in_score(v.rule, v.result):
                    for tally in (dept.setdefault(d, Counter()), person.setdefault((d, p), Counter())):
                        tally["judged"] += 1
                        tally["passed"] += v.result == "pass"
    return series, dept, person, reports


def _samples(groups: dict, labels: tuple[str, ...], name: str = "") -> list[dict]:
    """promtool's expected samples: 100 x passes / judged per group (a recorded series carries its name)."""
    out = []
    for key, t in sorted(groups.items()):
        if t["judged"]:
            values = key if isinstance(key, tuple) else (key,)
            pairs = ([("__name__", name)] if name else []) + list(zip(labels, values))
            out.append({"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in pairs) + "}",
                        "value": 100 * t["passed"] / t["judged"]})
    return out


def test_promtool_score_equals_the_reports_r10_on_the_captures(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: make test installs it (scripts/install-system-deps.sh)")
    series, dept, person, judged_sets = _series_and_expected()
    assert len(dept) >= 4 and len(person) >= 8

    # The report's R10 is charter.score of the same passes and judged verdicts (rounded to 0.1).
    for d, t in dept.items():
        stats = [j.report.departments.get(NO_DEPARTMENT if d == UNKNOWN else d) for j in judged_sets]
        passed = sum(r.passed for s in stats if s for r in s.rules.values())
        assert score(t["passed"], t["judged"]) == score(passed, sum(r.judged for s in stats if s
                                                                    for r in s.rules.values())), d
    # Per person too, except for whoever the report also charged a ring group's R1 failure (R9):
    # the counter is labelled with the call's one charged person.
    also = {pair for j in judged_sets for pair in j.also_r1}
    report_people: dict[tuple[str, str], Counter] = {}
    for j in judged_sets:
        for key, stats in j.report.people.items():
            tally = report_people.setdefault((UNKNOWN if key.department == NO_DEPARTMENT else key.department,
                                              key.name), Counter())
            tally["passed"] += sum(r.passed for r in stats.rules.values())
            tally["judged"] += sum(r.judged for r in stats.rules.values())
    compared = [k for k in person if k not in also]
    assert len(compared) >= 8
    for k in compared:
        assert score(person[k]["passed"], person[k]["judged"]) == \
            score(report_people[k]["passed"], report_people[k]["judged"]), k

    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": []}]
    exprs = tests[0]["promql_expr_test"]
    exprs.append({"expr": "department:telmon_r10_score:1d", "eval_time": EVAL,
                  "exp_samples": _samples(dept, ("department",), "department:telmon_r10_score:1d")})
    exprs.append({"expr": "department_person:telmon_r10_score:1d", "eval_time": EVAL,
                  "exp_samples": _samples(person, ("department", "person"), "department_person:telmon_r10_score:1d")})
    dashboard = json.loads(promrules.DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        by = promrules.PANELS.get(panel["title"])
        if by is None:
            continue
        expr = panel["targets"][0]["expr"]
        expr = expr.replace("$window", "1d").replace("$department", ".*").replace("$person", ".*")
        exprs.append({"expr": expr, "eval_time": EVAL,
                      "exp_samples": _samples(dept, ("department",)) if by == "department"
                      else _samples(person, ("department", "person"))})
    assert len(exprs) == 4
    test_file = tmp_path / "r10.test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(promrules.RULES_FILE)], "evaluation_interval": "1m",
                                         "tests": tests}, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr

"""The bundled captures judged as ``telmon run`` judges them, seen by Metrics and by the monthly report.

Shared by tests/test_charged_person.py and tests/test_promrules.py: each capture set
(monitor/data/traces, the Asterisk lab's tests/data/pbx) is replayed through one
pipeline whose sinks are a :class:`Metrics` (person labels on) and a collector; the
same finished calls are then folded into a :class:`MonthReport`. Greeting verdicts
(R2, R3, R7) are settled on the calls the speech worker would check.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from conftest import REPO, TRACES
from monitor.cli import _pipeline
from monitor.config import load_settings
from monitor.core.rules import Verdict
from monitor.directory import load_directory
from monitor.metrics import Metrics
from monitor.pipeline import Finished
from monitor.replay import Collector, replay_files
from monitor.speech.worker import rules_for
from monitor.report.aggregate import CallFacts, MonthReport
from monitor.report.period import parse_month

SETTINGS = load_settings(None, {}, {})
DIRECTORY = load_directory(SETTINGS.directory_path)
GREETING_RESULTS = ("pass", "fail", "unclear")
CAPTURE_SETS = {"traces": TRACES, "pbx": REPO / "tests" / "data" / "pbx"}


@dataclass
class JudgedSet:
    """One capture set: the metrics it produced, its finished calls (late verdicts applied), the report."""

    name: str
    metrics: Metrics
    calls: list[Finished]
    report: MonthReport
    facts: list[CallFacts]


def judge_set(name: str) -> JudgedSet:
    """Replay one capture set through Metrics and a collector, and fold its calls into a report."""
    metrics = Metrics(DIRECTORY, SETTINGS.cadence_obj, SETTINGS.thresholds_obj, True, CollectorRegistry())
    collector = Collector()
    pipeline = _pipeline(SETTINGS, DIRECTORY, [metrics, collector])
    paths: list[Path] = sorted(CAPTURE_SETS[name].glob("*.ami"))
    assert paths, name
    replay_files(pipeline, paths)
    # The captures carry no greetings to check: the greeting verdicts a speech worker would settle
    # are stood in for, on the calls it would check, cycling pass, fail and unclear.
    wanted = [(call.record.linkedid, rule) for call in collector.ordered() for rule in rules_for(call)]
    for i, (linkedid, rule) in enumerate(wanted):
        pipeline.settle(linkedid, Verdict(rule, GREETING_RESULTS[i % 3], None, "stand-in greeting check"))
    calls = collector.ordered()
    report = MonthReport(parse_month("2026-11"), DIRECTORY, SETTINGS.cadence_obj, SETTINGS.thresholds_obj)
    facts = [report.add(call) for call in calls]
    return JudgedSet(name, metrics, calls, report, facts)

"""The bundled captures judged as ``telmon run`` judges them, seen by Metrics and by the monthly report.

Shared by tests/test_charged_person.py and tests/test_promrules.py: each capture set
(monitor/data/traces, the Asterisk lab's tests/data/pbx) is replayed through one
pipeline whose sinks are a :class:`Metrics` (person labels on) and a collector;
greeting verdicts (R2, R3, R7) are settled on the calls the speech worker would
check. The same calls are then stored (with their facts, as ``telmon run`` stores
them) and the monthly report is made from the store by its production path
(:class:`FastMonth`), keeping the calls sheet's rows: who the report charged each call to.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from conftest import REPO, TRACES
from monitor.config import load_settings
from monitor.core.charter import also_charged_r1
from monitor.core.rules import Verdict
from monitor.directory import load_directory
from monitor.metrics import Metrics
from monitor.pipeline import Finished, Pipeline
from monitor.replay import replay_files
from monitor.sinks import Collector
from monitor.report.aggregate import NO_DEPARTMENT, MonthReport
from monitor.report.columns import CALL_HEADERS
from monitor.report.fast import FastMonth
from monitor.report.period import parse_month
from monitor.speech.worker import rules_for
from monitor.storage.store import Store

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
    charged: dict[str, str]              # linkedid -> the person name the report's calls sheet gives
    also_r1: set[tuple[str, str]]        # (department, person) also charged a ring group's R1 failure


def judge_set(name: str) -> JudgedSet:
    """Replay one capture set through Metrics and a collector, store it and make the report from the store."""
    metrics = Metrics(DIRECTORY, SETTINGS.cadence_obj, SETTINGS.thresholds_obj, True, CollectorRegistry())
    collector = Collector()
    pipeline = Pipeline.from_settings(SETTINGS, DIRECTORY, [metrics, collector])
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
    sheet: list[list] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/calls.db")
        assert store.save_calls((c.record, c.verdicts, c.department) for c in calls) == len(calls)
        fast = FastMonth(report, sheets=True)
        # The whole stored range, whatever the captures' dates: who is charged does not depend on it.
        fast.run(store, 0.0, 4102444800.0, sink=lambda rows, _violations: sheet.extend(rows))
        fast.finish()
        store.close()
    at = {h: i for i, h in enumerate(CALL_HEADERS)}
    charged = {row[at["linkedid"]]: row[at["person"]] for row in sheet}
    assert len(charged) == len(calls), name
    also = set()
    for c in calls:
        r1 = c.verdicts.get("R1")
        for ext in also_charged_r1(c.record, r1 is not None and r1.result == "fail", SETTINGS.cadence_obj.rings,
                                   SETTINGS.thresholds_obj.max_rings, report.is_office):
            also.add((c.department or NO_DEPARTMENT, report.person_key(c.department or NO_DEPARTMENT, ext).name))
    return JudgedSet(name, metrics, calls, report, charged, also)

"""Metrics: the real captures counted exactly, live gauges mid-call, bounded labels, the endpoint."""
from __future__ import annotations

import asyncio
import dataclasses
import re
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from conftest import SCENARIOS, TRACES, load_truth
from monitor.config import AmiSettings, load_settings
from monitor.core.cadence import KOREA, NORTH_AMERICA
from monitor.core.rules import Thresholds, Verdict
from monitor.directory import load_directory
from monitor.live import listener as listener_mod
from monitor.live.listener import ListenerState
from monitor.live.runner import LiveMonitor
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events
from monitor.metrics import Metrics, ring_buckets, start_metrics_server, wait_buckets
from monitor.pipeline import Pipeline
from monitor.replay import replay_files
from monitor.sinks import Collector
from monitor.storage.store import Store

SETTINGS = load_settings(None, {}, {})
DIRECTORY = load_directory(SETTINGS.directory_path)
XCHG, GLOBAL, MGMT = "교류협력팀", "세계시민협력팀", "경영기획팀"


def _setup(person_labels: bool = True, wall=lambda: 1000.0, state=None, backlog=None, fallbacks=None):
    metrics = Metrics(DIRECTORY, KOREA, Thresholds(), person_labels, CollectorRegistry())
    collector = Collector()
    pipeline: Pipeline = Pipeline.from_settings(SETTINGS, DIRECTORY, [metrics, collector])
    metrics.watch(pipeline, state, backlog, wall=wall, speech_fallbacks=fallbacks)
    return metrics, pipeline, collector


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    """One sample (0 when absent: pre-initialised series read 0 too)."""
    return metrics.registry.get_sample_value(name, labels) or 0.0


def _total(metrics: Metrics, name: str, **match: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``match``."""
    return sum(s.value for fam in metrics.registry.collect() for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in match.items()))


def _feed(pipeline: Pipeline, name: str, stop) -> list:
    """Feed a capture's events to the pipeline until ``stop(index, event)`` says so; returns them all."""
    events = load_events([TRACES / f"{name}.ami"])
    for i, ev in enumerate(events):
        if stop(i, ev):
            break
        pipeline.feed_event(ev.msg)
    return events


@pytest.fixture(scope="module")
def replayed():
    metrics, pipeline, collector = _setup()
    replay_files(pipeline, [TRACES / f"{n}.ami" for n in SCENARIOS])
    pipeline.flush("end of recording")
    return metrics, collector


def test_every_capture_counted_once_by_direction_outcome_and_department(replayed):
    metrics, collector = replayed
    assert len(SCENARIOS) == 14 and len(collector.calls) == 24
    assert _total(metrics, "telmon_calls_total") == 24
    assert _value(metrics, "telmon_calls_total", direction="inbound", outcome="answered", department=XCHG) == 10
    assert _value(metrics, "telmon_calls_total", direction="inbound", outcome="abandoned", department=XCHG) == 2
    assert _value(metrics, "telmon_calls_total", direction="internal", outcome="rejected", department=GLOBAL) == 1
    assert _value(metrics, "telmon_calls_total", direction="outbound", outcome="answered", department=MGMT) == 2
    assert _total(metrics, "telmon_calls_total", outcome="incomplete") == 0
    assert _value(metrics, "telmon_build_info", version="0.1.0") == 1


def test_verdicts_by_rule_result_department_and_person(replayed):
    metrics, collector = replayed
    # R1 fails: b (6832 answered at ring 4), c (6833 rang 7 rings, abandoned), and in i_concurrent10
    # 6832 answered at ring 3 and 6833 rang 5 rings unanswered.
    assert _total(metrics, "telmon_rule_verdicts_total", rule="R1", result="fail") == 4
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R1", result="fail", department=XCHG,
                  person="이지은") == 2
    # Nobody answered the abandoned callers: charged, as in the report, to the phone that rang
    # longest, 6833 (최유나) both times (core/charter.charged_extension).
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R1", result="fail", department=XCHG,
                  person="최유나") == 2
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R1", result="fail", department=XCHG,
                  person="unknown") == 0
    assert _total(metrics, "telmon_rule_verdicts_total", rule="R1", result="pass", department=XCHG) == 8
    assert _total(metrics, "telmon_rule_verdicts_total", rule="R4", result="fail") == 1   # d2: 190 s in the queue
    assert _total(metrics, "telmon_rule_verdicts_total", rule="R5", result="pass") == 4
    assert _total(metrics, "telmon_rule_verdicts_total", rule="R8", result="pending") == 5
    # Outbound calls count for the person who called out (6812 이지은, 6814 최유나 in 경영기획팀).
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R4", result="n/a", department=MGMT,
                  person="이지은") == 1
    for rule in ("R1", "R4", "R5", "R8"):
        assert _total(metrics, "telmon_rule_verdicts_total", rule=rule) == 24


def test_histograms_have_rule_bounds_and_d2_waits_past_three_minutes(replayed):
    metrics, collector = replayed
    assert ring_buckets(KOREA) == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 60, 120]
    assert ring_buckets(NORTH_AMERICA)[:3] == [6, 12, 18] and ring_buckets(NORTH_AMERICA)[-1] == 120
    assert 180 in wait_buckets(Thresholds()) and 150 in wait_buckets(Thresholds(max_wait_seconds=150))

    def bucket(name, le, **labels):
        return _value(metrics, f"{name}_bucket", le=le, **labels)
    queue = dict(department=XCHG, kind="queue")     # d1 30 s, d2 190 s, i05 4 s
    assert bucket("telmon_wait_seconds", "180.0", **queue) == 2
    assert bucket("telmon_wait_seconds", "300.0", **queue) == 3
    assert _value(metrics, "telmon_wait_seconds_count", **queue) == 3
    assert _total(metrics, "telmon_wait_seconds_count") == 22       # every call but the two outbound
    # b_inbound_4rings: 6832 answered after 11.0 s, i.e. in its 4th ring (9 < s <= 12).
    answered = dict(department=XCHG, answered="yes")
    assert bucket("telmon_ring_seconds", "12.0", **answered) - bucket("telmon_ring_seconds", "9.0", **answered) == 1
    rang = sum(1 for f in collector.calls.values() for o in f.record.offers
               if not o.to_trunk and o.ring_start is not None)
    assert _total(metrics, "telmon_ring_seconds_count") == rang
    # Answered by ring 2: the 14 calls that passed R1 and 4 transfer targets (e, f, i_concurrent10, k).
    assert _total(metrics, "telmon_ring_seconds_bucket", le="6.0", answered="yes") == 18


def test_person_labels_can_be_switched_off():
    metrics, pipeline, _ = _setup(person_labels=False)
    replay_files(pipeline, [TRACES / "b_inbound_4rings.ami"])
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R1", result="fail", department=XCHG) == 1
    assert all("person" not in s.labels for fam in metrics.registry.collect() for s in fam.samples)


def test_late_verdicts_count_under_the_calls_department_and_person():
    metrics, pipeline, collector = _setup()
    replay_files(pipeline, [TRACES / "c_inbound_abandon.ami", TRACES / "a_inbound_1ring.ami"])
    missed = next(f for f in collector.calls.values() if f.record.outcome == "abandoned")
    answered = next(f for f in collector.calls.values() if f.record.outcome == "answered")
    pipeline.settle(missed.record.linkedid, Verdict("R8", "pass", None, "called back"))
    pipeline.settle(answered.record.linkedid, Verdict("R3", "fail", None, "name not stated"))
    pipeline.settle("no-such-call", Verdict("R8", "fail", None, "restored from before a restart"))
    # The abandoned call is charged to 6833 (최유나), the phone that let it ring (charter.charged_extension).
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R8", result="pass", department=XCHG,
                  person="최유나") == 1
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R3", result="fail", department=XCHG,
                  person="정하늘") == 1
    assert _value(metrics, "telmon_rule_verdicts_total", rule="R8", result="fail", department="unknown",
                  person="unknown") == 1


def _live(metrics: Metrics, name: str) -> dict[str, float]:
    return {dept: _value(metrics, name, department=dept) for dept in metrics.departments
            if _value(metrics, name, department=dept)}


def test_live_gauges_in_the_middle_of_ten_concurrent_calls():
    """i_concurrent10 stopped at 1795575023.7; the truth file's phone clocks say who rings and waits then."""
    metrics, pipeline, _ = _setup()
    cut = 1795575023.7
    _feed(pipeline, "i_concurrent10", lambda i, ev: ev.ts is not None and ev.ts >= cut)
    truth = {c["id"]: c for c in load_truth("i_concurrent10")["calls"]}
    # Ringing at the cut: i02 6832, i03 6833, i05's queue ringall 6834-6836, i06 6842, i07 6843, i08 6844,
    # i09 6813. i10's PSTN callee rings too, but it is not an office phone.
    assert _live(metrics, "telmon_phones_ringing") == {XCHG: 5, GLOBAL: 3, MGMT: 1}
    # Waiting: the same callers (i05 in the queue); i10 called out, so its caller is not waiting.
    assert _live(metrics, "telmon_callers_waiting") == {XCHG: 3, GLOBAL: 3, MGMT: 1}
    assert sum(_live(metrics, "telmon_calls_in_progress").values()) == 9      # i04 (busy) has ended
    clock = pipeline.tracker.clock
    assert clock < cut
    assert _value(metrics, "telmon_longest_wait_seconds", department=XCHG) == pytest.approx(
        clock - truth["i02"]["t_invite"], abs=0.05)
    assert _value(metrics, "telmon_longest_wait_seconds", department=MGMT) == pytest.approx(
        clock - truth["i09"]["t_invite"], abs=0.05)
    assert _value(metrics, "telmon_phones_ringing", department="unknown") == 0   # every department present


def test_the_scrape_reads_the_tracker_between_two_events():
    """The live view is taken under the lock the tracker holds while it applies an event: no retry."""
    import threading
    metrics, pipeline, _ = _setup()
    events = _feed(pipeline, "i_concurrent10", lambda i, ev: i >= 60)
    assert metrics.live is not None
    done = threading.Event()
    with pipeline.tracker.guard:                 # an event being applied right now
        scrape = threading.Thread(target=lambda: (metrics.live.collect(), done.set()))
        scrape.start()
        assert not done.wait(0.3), "the scrape read the tracker in the middle of an event"
    assert done.wait(5)
    scrape.join(5)
    # And scrapes from another thread while the events flow: every one sees a whole state.
    failures: list[BaseException] = []
    stop = threading.Event()

    def scrape_often() -> None:
        while not stop.is_set():
            try:
                metrics.live.collect()
            except BaseException as exc:          # noqa: BLE001 (reported below)
                failures.append(exc)
                return
    worker = threading.Thread(target=scrape_often)
    worker.start()
    try:
        for ev in events[60:]:
            pipeline.feed_event(ev.msg)
    finally:
        stop.set()
        worker.join(10)
    assert not failures and sum(_live(metrics, "telmon_calls_in_progress").values()) == 0


def test_a_queue_caller_past_three_minutes_and_the_clock_between_events():
    now = [1000.0]
    metrics, pipeline, _ = _setup(wall=lambda: now[0])
    events = load_events([TRACES / "d2_queue_190s.ami"])
    ringing = next(i for i, e in enumerate(events) if e.msg.get("DialStatus") == "RINGING")
    _feed(pipeline, "d2_queue_190s", lambda i, ev: i > ringing)     # cut while 6836 rings, 188 s in
    # The wait runs from the caller's arrival (the Answer() before Queue() included), as R4 counts it.
    arrived = next(e.ts for e in events if e.msg.event == "Newchannel")
    assert _live(metrics, "telmon_callers_waiting") == {XCHG: 1}
    assert _live(metrics, "telmon_phones_ringing") == {XCHG: 1}           # 6836, rung after 188 s
    waited = pipeline.tracker.clock - arrived
    assert 180 < waited < 190
    assert _value(metrics, "telmon_longest_wait_seconds", department=XCHG) == pytest.approx(waited)
    now[0] += 30.0          # no event for 30 s: the caller has still been waiting
    assert _value(metrics, "telmon_longest_wait_seconds", department=XCHG) == pytest.approx(waited + 30)


def test_a_caller_on_hold_is_waiting():
    now = [1000.0]
    metrics, pipeline, _ = _setup(wall=lambda: now[0])
    _feed(pipeline, "g_hold", lambda i, ev: ev.msg.event == "Unhold")
    assert _live(metrics, "telmon_callers_waiting") == {XCHG: 1}
    assert _live(metrics, "telmon_phones_ringing") == {}
    now[0] += 15.0
    assert _value(metrics, "telmon_longest_wait_seconds", department=XCHG) == pytest.approx(15.0, abs=0.1)


def test_ami_link_and_speech_backlog():
    state = ListenerState(connected=True, reconnects=2, login_failures=1, last_event_wall=988.0)
    metrics, _, _ = _setup(wall=lambda: 1000.0, state=state, backlog=lambda: 7, fallbacks=lambda: 3)
    assert _value(metrics, "telmon_ami_connected") == 1
    assert _value(metrics, "telmon_ami_reconnects_total") == 2
    assert _value(metrics, "telmon_ami_login_failures_total") == 1
    assert _value(metrics, "telmon_ami_last_event_age_seconds") == 12
    assert _value(metrics, "telmon_speech_backlog") == 7
    assert _value(metrics, "telmon_speech_fallback_checks_total") == 3     # checks run without Whisper
    state.connected, state.last_event_wall = False, None
    assert _value(metrics, "telmon_ami_connected") == 0
    assert _value(metrics, "telmon_ami_last_event_age_seconds") == 0     # no message yet: since telmon started


def test_no_label_is_a_number_a_uniqueid_or_unbounded(replayed):
    metrics, collector = replayed
    _, pipeline, _ = _setup()
    private = set()
    for f in collector.calls.values():
        r = f.record
        private |= {r.linkedid, r.caller, r.dialed, r.remote_number or "", *r.uniqueids}
        private |= {o.channel for o in r.offers} | {o.extension for o in r.offers}
    private.discard("")
    allowed = {"direction", "outcome", "department", "person", "rule", "result", "kind", "answered", "le", "version"}
    names = {d.name for d in DIRECTORY.departments} | {p.name for p in DIRECTORY.people} | {"unknown"}
    seen = 0
    for fam in metrics.registry.collect():
        assert re.fullmatch(r"telmon_[a-z0-9_]+", fam.name)
        for sample in fam.samples:
            assert set(sample.labels) <= allowed, sample
            for key, value in sample.labels.items():
                seen += 1
                assert value not in private, sample
                if key in ("department", "person"):
                    assert value in names, sample
                elif key not in ("le", "version"):
                    assert not re.search(r"\d{3,}", value), sample
    assert seen > 1000


@pytest.mark.slow
def test_endpoint_serves_the_registry_on_a_free_port():
    metrics, pipeline, _ = _setup()
    replay_files(pipeline, [TRACES / "a_inbound_1ring.ami"])
    endpoint = start_metrics_server(metrics, "127.0.0.1", 0)
    try:
        assert endpoint.port > 0 and endpoint.url == f"http://127.0.0.1:{endpoint.port}/metrics"
        text = urllib.request.urlopen(endpoint.url, timeout=5).read().decode()
    finally:
        endpoint.close()
    assert f'telmon_calls_total{{department="{XCHG}",direction="inbound",outcome="answered"}} 1.0' in text
    assert "telmon_callers_waiting{" in text and "telmon_calls_total_created" not in text


@pytest.mark.slow
def test_endpoint_cache_never_serves_stale_figures():
    """The counters' text is cached between changes; every scrape must still equal a full render."""
    from prometheus_client import generate_latest
    metrics, pipeline, _ = _setup()
    endpoint = start_metrics_server(metrics, "127.0.0.1", 0)

    def scrape() -> str:
        return urllib.request.urlopen(endpoint.url, timeout=5).read().decode()
    try:
        seen = []
        # Part of b_inbound_4rings: a call in progress now (live gauges), no call finished yet.
        events = _feed(pipeline, "b_inbound_4rings", lambda i, ev: ev.msg.get("Event") == "DialEnd")
        for _ in range(2):      # the second scrape comes from the cache for the counters
            seen.append(scrape())
            assert seen[-1] == generate_latest(metrics.registry).decode()
        assert 'telmon_calls_in_progress{department="교류협력팀"} 1.0' in seen[-1]
        for ev in events:
            pipeline.feed_event(ev.msg)          # the rest (repeats are ignored as late events)
        seen.append(scrape())
        assert seen[-1] == generate_latest(metrics.registry).decode() and seen[-1] != seen[0]
        assert 'telmon_calls_in_progress{department="교류협력팀"} 0.0' in seen[-1]
        metrics.verdict_settled(next(iter(metrics._labels)), Verdict("R8", "pass", 60.0, "called back"))
        seen.append(scrape())
        assert seen[-1] == generate_latest(metrics.registry).decode() and seen[-1] != seen[-2]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(endpoint.url.replace("/metrics", "/other"), timeout=5)
        assert err.value.code == 404
    finally:
        endpoint.close()


@pytest.mark.slow
def test_keepalive_ping_keeps_a_quiet_link_fresh(tmp_path, monkeypatch):
    """After the last call the PBX is silent; the Ping answers still show the link is alive."""
    monkeypatch.setattr(listener_mod, "PING_SECONDS", 0.05)

    async def run() -> tuple[float, float, float]:
        sim = SimulatedPbx(load_events([TRACES / "a_inbound_1ring.ami"]), SimOptions(speed=0))
        port = await sim.start()
        ami = AmiSettings(host="127.0.0.1", port=port, username="telmon", secret="telmon", backoff_min=0.05)
        store = Store.open(f"sqlite:///{tmp_path / 'k.db'}")
        metrics = Metrics(DIRECTORY, KOREA, Thresholds(), registry=CollectorRegistry())
        monitor = LiveMonitor(dataclasses.replace(SETTINGS, ami=ami), DIRECTORY, store, metrics=metrics)
        task = asyncio.create_task(monitor.run())
        await asyncio.wait_for(sim.done.wait(), 10)
        while monitor.pipeline.tracker.live_calls():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        after_calls = monitor.listener.state.last_event_wall or 0.0
        await asyncio.sleep(0.4)
        last, age = monitor.listener.state.last_event_wall or 0.0, _value(metrics, "telmon_ami_last_event_age_seconds")
        calls = _total(metrics, "telmon_calls_total")
        monitor.stop.set()
        await task
        await sim.close()
        store.close()
        assert calls == 1 and _value(metrics, "telmon_ami_connected") == 0
        return after_calls, last, age
    after_calls, last, age = asyncio.run(run())
    assert last - after_calls > 0.2 and age < 0.2


def test_fast_family_text_is_byte_for_byte_what_prometheus_client_writes():
    from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, generate_latest
    from monitor.metrics.http import FamilyText
    disable_created_metrics()      # as Metrics does
    r = CollectorRegistry()
    c = Counter("t_odd", 'Help with \\ and\nnewline.', ["b", "a"], registry=r)
    c.labels('quote " back \\ nl \n', "한글").inc(3)
    c.labels("x", "y")
    h = Histogram("t_hist", "H.", ["d"], buckets=[1.5, 3.0, 1e7], registry=r)
    for v in (0.2, 2.0, 2.5, 9.0, 5e7):
        h.labels("교류협력팀").observe(v)
    g = Gauge("t_gauge", "G.", registry=r)
    g.set(2)
    for metric in (c, h, g):
        alone = CollectorRegistry()
        alone.register(metric)
        assert FamilyText(metric).render() == generate_latest(alone), metric
    assert FamilyText(c).fast and FamilyText(h).fast and not FamilyText(g).fast


def test_prometheus_client_still_has_what_family_text_reads():
    """FamilyText reads prometheus_client's private attributes (10x faster scrapes): fail by name if one is gone.

    setup.cfg pins prometheus-client below the next minor version; raising the pin needs this test to pass.
    """
    from prometheus_client import Counter, Histogram
    from monitor.metrics.http import FamilyText, missing_private_attributes
    r = CollectorRegistry()
    counter = Counter("t_c", "C.", ["a"], registry=r)
    counter.labels("x").inc()
    histogram = Histogram("t_h", "H.", ["a"], buckets=[1.0], registry=r)
    histogram.labels("x").observe(0.5)
    for metric in (counter, histogram):
        assert missing_private_attributes(metric) == [], f"prometheus_client changed {metric._type}'s internals"
    metrics = Metrics(DIRECTORY, KOREA, Thresholds(), True, CollectorRegistry())
    families = [FamilyText(m) for m in metrics.history]
    assert [f.fast for f in families] == [False, True, True, True, True]   # telmon_build (an Info) is rendered publicly

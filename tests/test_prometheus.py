"""Proof on a real Prometheus: every dashboard panel and every alert rule returns data from telmon's metrics.

A Prometheus server (Debian's package, installed when missing) runs on a free
loopback port with its own storage, scraping telmon every second and evaluating
telmon's alert rules. telmon runs as ``telmon run`` does (LiveMonitor, metrics
endpoint) against the simulated PBX replaying the real captures, with
``d2_queue_190s`` cut 188 s into its queue wait while 6836 rings: a caller
waiting past 3 minutes, right now. Then the PBX goes away (the AMI link drops).
Every PromQL expression of every panel of ``grafana/dashboards/`` and every rule
of ``prometheus/telmon.rules.yml`` is run through the HTTP API and must return a
non-empty result. The static checks of the Grafana files and ``promtool`` run too.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

import pytest
import yaml

from conftest import REPO, SCENARIOS, TRACES
from monitor.config import AmiSettings, load_settings
from monitor.directory import load_directory
from monitor.live.listener import ListenerState
from monitor.live.runner import LiveMonitor
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events
from monitor.metrics import Metrics, promrules, start_metrics_server
from monitor.sinks import Collector
from monitor.storage.store import Store

DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
RULES = REPO / "prometheus" / "telmon.rules.yml"
DATASOURCE_UID = "telmon-prometheus"
RECORDS = {name for name, _ in promrules.recording_rules()}   # R10, generated from core/charter
# Grafana's own variables, as a supervisor's dashboard would expand them.
BUILTIN = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
XCHG = "교류협력팀"


def _wait(check: Callable[[], Any], what: str, timeout: float = 30.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prometheus_binaries() -> tuple[str, str]:
    """``prometheus`` and ``promtool``, installing Debian's package when missing (CI: a fresh machine)."""
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        subprocess.run([str(REPO / "scripts" / "install-system-deps.sh"), "prometheus:prometheus",
                        "promtool:prometheus"], check=True)
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    assert prometheus and promtool, "Debian's prometheus package did not provide prometheus and promtool"
    return prometheus, promtool


# -- the dashboards' queries ------------------------------------------------------------------
def variables(dashboard: dict) -> dict[str, str]:
    """Each template variable as the test expands it: "All" (``.*``) or the custom variable's default."""
    out = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            out[var["name"]] = var.get("allValue") or ".*"
        else:
            out[var["name"]] = var["current"]["value"]
    return out


def expand(expr: str, values: dict[str, str]) -> str:
    """Replace Grafana's and the dashboard's variables in a PromQL expression."""
    for name, value in BUILTIN.items():
        expr = expr.replace(name, value)
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    assert "$" not in expr, f"unexpanded variable in {expr}"
    return expr


def panel_queries() -> list[tuple[str, dict, str]]:
    """(dashboard title, panel, expanded expression) for every target of every panel."""
    out = []
    for path in DASHBOARDS:
        dash = json.loads(path.read_text(encoding="utf-8"))
        values = variables(dash)
        for panel in dash["panels"]:
            for target in panel["targets"]:
                out.append((dash["title"], panel, expand(target["expr"], values)))
    return out


def rule_expressions() -> list[tuple[str, str]]:
    """(alert or record name, expression) for every rule."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [(r.get("alert") or r["record"], r["expr"]) for g in groups for r in g["rules"]]


# -- telmon and Prometheus, running -----------------------------------------------------------
class GrowingBacklog:
    """Stands in for the speech worker (its Vosk processes are not this test's subject): a queue that only grows."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    @property
    def backlog(self) -> int:
        """Five more greeting checks waiting every second."""
        return int(5 * (time.monotonic() - self.t0))

    def close(self) -> None:
        """Nothing to stop."""


@dataclasses.dataclass
class Stack:
    """The running telmon and Prometheus the tests query."""

    url: str
    started: float
    metrics: Metrics

    def api(self, path: str, **params: str) -> Any:
        """GET/POST an API path; returns ``data`` (asserting status success)."""
        body = urllib.parse.urlencode(params).encode() if params else None
        try:
            with urllib.request.urlopen(self.url + path, data=body, timeout=10) as resp:
                reply = json.load(resp)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{path} {params}: HTTP {exc.code}: {exc.read().decode()[:500]}") from None
        assert reply["status"] == "success", reply
        return reply["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query's vector (scalars come back as one sample)."""
        data = self.api("/api/v1/query", query=expr)
        return data["result"] if data["resultType"] in ("vector", "matrix") else [{"value": data["result"]}]

    def value(self, expr: str) -> float:
        """The single value of an expression that must return one series."""
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


def _events() -> list:
    """Every capture, with d2's queue caller cut 188 s in, while 6836 rings for them."""
    d2 = load_events([TRACES / "d2_queue_190s.ami"])
    ringing = next(i for i, e in enumerate(d2) if e.msg.get("DialStatus") == "RINGING")
    others = load_events([TRACES / f"{n}.ami" for n in SCENARIOS if n != "d2_queue_190s"])
    return sorted(others + d2[:ringing + 1], key=lambda e: e.ts or 0.0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    prometheus, _ = prometheus_binaries()
    tmp = tmp_path_factory.mktemp("prometheus")
    # R8's window shortened to 72 s so that missed calls of the replay settle (fail) within it.
    settings = load_settings(None, {"TELMON_CALLBACK_WINDOW_HOURS": "0.02"}, {})
    directory = load_directory(settings.directory_path)
    metrics = Metrics.from_settings(settings, directory)
    endpoint = start_metrics_server(metrics, "127.0.0.1", 0)

    web = f"127.0.0.1:{_free_port()}"
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "telmon", "static_configs": [{"targets": [f"127.0.0.1:{endpoint.port}"]}]}],
    }))
    log = (tmp / "prometheus.log").open("w")
    server = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                               f"--web.listen-address={web}", "--log.level=warn"], stdout=log, stderr=log)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="telmon-under-test", daemon=True)
    thread.start()

    def in_loop(coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    live: dict[str, Any] = {}
    try:
        st = Stack(f"http://{web}", time.time(), metrics)

        def ready() -> bool:
            if server.poll() is not None:
                raise AssertionError(f"prometheus exited: {(tmp / 'prometheus.log').read_text()[-2000:]}")
            try:
                return urllib.request.urlopen(st.url + "/-/ready", timeout=2).status == 200
            except OSError:
                return False
        _wait(ready, "Prometheus to start")
        # Calls may only end once Prometheus has seen the counters at zero: increase() cannot see
        # a series' first value, so counters scraped first at 1 would hide those calls.
        _wait(lambda: st.query("count(telmon_calls_total)"), "the first scrape of telmon")

        async def start() -> None:
            sim = SimulatedPbx(_events(), SimOptions(speed=0))
            port = await sim.start()
            ami = AmiSettings(host="127.0.0.1", port=port, username="telmon", secret="telmon",
                              backoff_min=0.05, backoff_max=0.2)
            store = Store.open(f"sqlite:///{tmp / 'telmon.db'}")
            monitor = LiveMonitor(dataclasses.replace(settings, ami=ami), directory, store, [Collector()],
                                  metrics=metrics)
            monitor.speech = GrowingBacklog()
            live.update(sim=sim, store=store, monitor=monitor, task=asyncio.create_task(monitor.run()))
        in_loop(start())

        async def replayed() -> bool:
            return live["sim"].done.is_set() and len(live["monitor"].pipeline.tracker.live_calls()) == 1
        _wait(lambda: in_loop(replayed()), "the replay to end with d2's caller still waiting")
        _wait(lambda: st.query("sum(telmon_calls_total) == 23"), "Prometheus to scrape the 23 finished calls")
        in_loop(live["sim"].close())             # the PBX goes away: the AMI link drops
        _wait(lambda: st.query("telmon_ami_connected == 0"), "Prometheus to see the AMI link down")
        _wait(lambda: st.query("telmon_speech_backlog > 10"), "the speech backlog to pass 10")
        yield st
    finally:
        if "task" in live:
            async def stop() -> None:
                live["monitor"].stop.set()
                await live["task"]
            in_loop(stop())
            live["store"].close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        endpoint.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.prometheus
def test_every_dashboard_panel_returns_data(stack, capsys):
    report = []
    for dashboard, panel, expr in panel_queries():
        result = stack.query(expr)
        assert result, f"{dashboard} / {panel['title']}: no data for\n{expr}"
        if panel["type"] == "timeseries":   # Grafana asks for a range: it must have points too
            data = stack.api("/api/v1/query_range", query=expr, start=str(stack.started), end=str(time.time()),
                             step="1")
            assert data["result"], f"{dashboard} / {panel['title']}: empty range for\n{expr}"
        report.append(f"{dashboard} | {panel['title']} | {len(result)}")
    with capsys.disabled():
        print("\ndashboard | panel | series\n" + "\n".join(report))
    assert len(report) == sum(len(p["targets"]) for d in DASHBOARDS
                              for p in json.loads(d.read_text(encoding="utf-8"))["panels"])


@pytest.mark.prometheus
def test_every_alert_expression_returns_data(stack):
    rules = rule_expressions()
    assert {name for name, _ in rules} == {"TelmonCallerWaitingOver3Minutes", "TelmonR1PassRateLow",
                                           "TelmonAmiDown", "TelmonSpeechBacklogGrowing"} | RECORDS
    for name, expr in rules:
        # A record reading another record has data once its group ran (every minute: promrules.INTERVAL).
        wait = 90.0 if re.search(r"\w:telmon_", expr) else 0.0
        assert _wait(lambda: stack.query(expr), f"data for {name}", timeout=wait), f"{name}: no data for\n{expr}"


@pytest.mark.prometheus
def test_prometheus_evaluates_the_rules_and_the_alerts_are_active(stack):
    groups = stack.api("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == 4 + len(RECORDS) and all(r["health"] in ("ok", "unknown") for r in rules), rules
    assert all(r["health"] == "ok" for r in rules if r["type"] == "alerting"), rules

    def active() -> dict:
        alerts = stack.api("/api/v1/alerts")["alerts"]
        by_name = {a["labels"]["alertname"]: a for a in alerts}
        return by_name if len(by_name) == 4 else {}
    alerts = _wait(active, "all four alerts to be pending or firing")
    assert alerts["TelmonCallerWaitingOver3Minutes"]["state"] == "firing"       # no "for": at once
    assert alerts["TelmonCallerWaitingOver3Minutes"]["labels"]["department"] == XCHG
    assert alerts["TelmonR1PassRateLow"]["labels"]["department"] == XCHG
    assert alerts["TelmonAmiDown"]["state"] in ("pending", "firing")           # for: 1m
    assert alerts["TelmonSpeechBacklogGrowing"]["state"] in ("pending", "firing")


@pytest.mark.prometheus
def test_prometheus_sees_what_telmon_counted(stack):
    assert stack.value("sum(telmon_calls_total)") == 23
    assert stack.value('sum(telmon_rule_verdicts_total{rule="R1", result="fail"})') == 4
    assert stack.value('sum(telmon_rule_verdicts_total{rule="R8", result="fail"})') >= 1   # the 72 s window
    assert stack.value("sum(telmon_phones_ringing)") == 1
    assert stack.value("sum(telmon_callers_waiting)") == 1
    assert stack.value(f'telmon_longest_wait_seconds{{department="{XCHG}"}}') > 180
    assert stack.value("telmon_ami_connected") == 0
    assert stack.value("telmon_speech_backlog") > 10
    # The R1 pass rate the alert and the dashboards compute: 7 of 11 in 교류협력팀 (d2 is still going).
    rate = stack.value(f'sum(increase(telmon_rule_verdicts_total{{rule="R1", result="pass", department="{XCHG}"}}[1h]))'
                       f' / sum(increase(telmon_rule_verdicts_total{{rule="R1", result=~"pass|fail", '
                       f'department="{XCHG}"}}[1h]))')
    assert rate == pytest.approx(7 / 11)


# -- static checks: promtool and the Grafana files --------------------------------------------
@pytest.mark.prometheus
def test_promtool_checks_config_and_rules_and_runs_the_rule_tests(tmp_path):
    _, promtool = prometheus_binaries()
    for args in (["check", "config", str(REPO / "prometheus" / "prometheus.example.yml")],
                 ["check", "rules", str(RULES)],
                 ["test", "rules", str(REPO / "prometheus" / "tests" / "telmon.rules.test.yml")]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 0, f"promtool {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        assert "SUCCESS" in proc.stdout + proc.stderr


def _exported_names() -> set[str]:
    settings = load_settings(None, {}, {})
    directory = load_directory(settings.directory_path)
    metrics = Metrics.from_settings(settings, directory)
    from monitor.pipeline import Pipeline
    metrics.watch(Pipeline.from_settings(settings, directory, [metrics]), ListenerState(), lambda: 0)
    return {s.name for fam in metrics.registry.collect() for s in fam.samples}


def test_grafana_files_are_stock_grafana_and_read_only_telmons_metrics():
    names = _exported_names()
    provisioned = yaml.safe_load((REPO / "grafana/provisioning/datasources/telmon.yaml").read_text())
    assert provisioned["datasources"][0]["uid"] == DATASOURCE_UID
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/telmon.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"
    assert len(DASHBOARDS) == 3
    uids = set()
    hangul = re.compile(r"[가-힣]")
    for path in DASHBOARDS:
        dash = json.loads(path.read_text(encoding="utf-8"))
        assert dash["schemaVersion"] == 39 and dash["uid"] not in uids
        uids.add(dash["uid"])
        var_names = [v["name"] for v in dash["templating"]["list"]]
        assert "department" in var_names
        assert "person" in var_names or path.stem != "telmon-compliance"
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids))
        for panel in dash["panels"]:
            where = f"{path.name} / {panel['title']}"
            # Korean titles, English descriptions, on every panel.
            assert hangul.search(panel["title"]) and panel["description"] and not hangul.search(panel["description"])
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, where
            assert set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["targets"], where
            for target in panel["targets"]:
                used = set(re.findall(r"\btelmon_[a-z0-9_]+", target["expr"]))
                assert used and used <= names, f"{where}: not exported by telmon: {used - names}"
                assert target["datasource"]["uid"] == DATASOURCE_UID
    for _, expr in rule_expressions():
        # (a recorded series, ``level:telmon_...:op``, is not telmon's: the rules file records it)
        assert set(re.findall(r"(?<![\w:])telmon_[a-z0-9_]+", expr)) <= names

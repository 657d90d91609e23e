"""One thread owns the pipeline: verdicts decided on the speech worker's threads are applied on the loop's."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

from conftest import TRACES
from monitor.config import AmiSettings, load_settings
from monitor.directory import load_directory
from monitor.live.handover import HandOver
from monitor.live.runner import LiveMonitor
from monitor.live.simulator import SimOptions, SimulatedPbx, load_events
from monitor.speech.job import GreetingJob
from monitor.speech.worker import SpeechWorker
from monitor.storage.store import Store

SETTINGS = load_settings(None, {}, {})
DIRECTORY = load_directory(SETTINGS.directory_path)


class ThreadRecorder:
    """A pipeline sink that notes which thread calls it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.verdicts: list[tuple[str, str, str, int]] = []

    def call_finished(self, finished) -> None:
        self.calls.append((finished.record.linkedid, threading.get_ident()))

    def verdict_settled(self, linkedid, verdict) -> None:
        self.verdicts.append((linkedid, verdict.rule, verdict.detail, threading.get_ident()))


def test_speech_verdicts_reach_the_sinks_on_the_event_loops_thread_only(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    # The answered call of the capture has a greeting job whose recording Asterisk never wrote:
    # the worker's dispatcher thread decides "unclear" at once, without a speech model.
    job = GreetingJob(linkedid="1795574606.0", uniqueid="1795574606.1", extension="6831",
                      answering_audio=str(spool / "1795574606.0-1795574606.1-answering.wav"))
    (spool / "1795574606.0-1795574606.1.json").write_text(job.to_json(), encoding="utf-8")
    store = Store.open(f"sqlite:///{tmp_path / 'telmon.db'}")
    recorder = ThreadRecorder()
    handed: list[int] = []

    async def main() -> int:
        sim = SimulatedPbx(load_events([TRACES / "a_inbound_1ring.ami"]), SimOptions(speed=0))
        port = await sim.start()
        ami = AmiSettings(host="127.0.0.1", port=port, username="telmon", secret="telmon", backoff_min=0.05)
        monitor = LiveMonitor(dataclasses.replace(SETTINGS, ami=ami), DIRECTORY, store, [recorder])

        def settle(linkedid, verdict) -> None:
            handed.append(threading.get_ident())
            monitor.settle_from_thread(linkedid, verdict)
        worker = SpeechWorker(str(spool), DIRECTORY, settle, processes=0, file_wait=0.05,
                              after_commit=monitor.after_stored_from_thread)
        monitor.pipeline.sinks.append(worker)
        monitor.speech = worker
        task = asyncio.create_task(monitor.run())
        await asyncio.wait_for(sim.done.wait(), 30)
        deadline = time.monotonic() + 15
        while not any(v[1] == "R3" for v in recorder.verdicts) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        monitor.stop.set()
        await task
        await sim.close()
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(main())
        (r3,) = [v for v in recorder.verdicts if v[1] == "R3"]
        assert r3[0] == "1795574606.0" and "recording unusable" in r3[2]
        assert handed and loop_thread not in handed                  # decided on the worker's thread ...
        assert recorder.calls and {t for *_, t in recorder.calls} == {loop_thread}
        assert {t for *_, t in recorder.verdicts} == {loop_thread}   # ... applied on the loop's
        (call,) = [c for c in store.load_calls() if c.record.linkedid == "1795574606.0"]
        assert call.verdicts["R3"].result == "unclear"                # stored before the claim went
        assert list(spool.iterdir()) == []
    finally:
        store.close()


def test_without_a_loop_results_wait_for_the_callers_thread():
    hand_over = HandOver()
    applied: list[tuple[int, int]] = []
    producer = threading.Thread(target=lambda: [hand_over.put(lambda n: applied.append((n, threading.get_ident())), n)
                                                for n in range(3)])
    producer.start()
    producer.join()
    assert applied == [] and hand_over.pending == 3              # nothing applied behind the caller's back
    assert hand_over.apply_pending() == 3
    assert applied == [(0, threading.get_ident()), (1, threading.get_ident()), (2, threading.get_ident())]


def test_with_a_loop_results_are_applied_by_the_loop_in_order():
    hand_over = HandOver()
    applied: list[tuple[str, int]] = []

    async def main() -> int:
        hand_over.put(applied.append, ("before the loop", threading.get_ident()))
        hand_over.attach(asyncio.get_running_loop())
        threads = [threading.Thread(target=hand_over.put, args=(applied.append, (f"from {n}", -1)))
                   for n in range(5)]
        for t in threads:
            t.start()
            t.join()
        while len(applied) < 6:
            await asyncio.sleep(0.01)
        return threading.get_ident()
    loop_thread = asyncio.run(main())
    assert [a[0] for a in applied] == ["before the loop"] + [f"from {n}" for n in range(5)]
    hand_over.detach()
    hand_over.put(applied.append, ("after", 0))
    assert hand_over.pending == 1 and loop_thread

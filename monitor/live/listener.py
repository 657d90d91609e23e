"""The live AMI listener: stay connected for months, feed the pipeline, never count a call wrong.

It connects and logs in, feeds every event to the :class:`~monitor.pipeline.Pipeline`,
and when the connection drops (network hiccup, Asterisk restart) it reconnects
with exponential backoff. After every reconnect it asks Asterisk which channels
still exist (``CoreShowChannels``) and lets the tracker settle the calls that
were live across the gap (:meth:`Tracker.reconcile`): a call that ended unseen
is stored as incomplete, a call still up is followed to its end and stored as
incomplete, so no verdict is ever built on missing events.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..ami.codec import Message
from ..config import AmiSettings
from ..core.clock import header_time
from ..pipeline import Pipeline
from .ami_client import AmiError, AmiSession, LoginFailed
from .recorder import StreamRecorder

log = logging.getLogger(__name__)

LIST_EVENTS = frozenset({"CoreShowChannel", "CoreShowChannelsComplete", "FullyBooted"})
# A quiet PBX sends no events for hours; a Ping answered proves the link is alive, so
# "no AMI message for minutes" (telmon_ami_last_event_age_seconds) means a dead link.
PING_SECONDS = 30.0
STOP_GRACE_SECONDS = 1.0


@dataclass
class ListenerState:
    """What the metrics and logs report about the AMI link."""

    connected: bool = False
    reconnects: int = 0
    login_failures: int = 0
    last_event_wall: Optional[float] = None     # wall clock of the last event received
    last_error: str = ""
    sessions: int = 0
    reconciled_incomplete: int = 0
    history: list[str] = field(default_factory=list)   # short log of connects/drops (bounded)

    def note(self, text: str) -> None:
        """Remember a state change (the last 50)."""
        self.history.append(text)
        del self.history[:-50]


class Listener:
    """Runs AMI sessions until stopped, reconnecting with backoff."""

    def __init__(self, ami: AmiSettings, pipeline: Pipeline,
                 wall: Callable[[], float] = time.time, recorder: Optional[StreamRecorder] = None) -> None:
        self.ami = ami
        self.recorder = recorder     # ``telmon run --record``: the stream saved as received
        self.pipeline = pipeline
        self.state = ListenerState()
        self._wall = wall
        self._across_gap: Optional[set[str]] = None
        self._pbx_time = ""     # the Timestamp of the PBX's latest message
        # Called after each (re)connect's reconcile with where the gap began (None: nothing to recover);
        # telmon run sets it to recover the gap's calls from Asterisk's CEL (monitor/recovery.py).
        self.recover: Optional[Callable[[float], None]] = None
        self.gap_start: Optional[float] = None
        self.connected_at: Optional[Callable[[float], None]] = None   # told the PBX's time at each connect
        self._gap_reason = ""

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, listen, reconnect, until ``stop`` is set."""
        delay = self.ami.backoff_min
        while not stop.is_set():
            try:
                await _unless_stopped(self._session(stop), stop)
                delay = self.ami.backoff_min          # a session that worked resets the backoff
            except LoginFailed as exc:
                self.state.login_failures += 1
                self.state.last_error = str(exc)
                log.error("%s; retrying in %.0f s", exc, delay)
            except AmiError as exc:
                self.state.last_error = str(exc)
                log.warning("%s; reconnecting in %.1f s", exc, delay)
            finally:
                if self.state.connected and stop.is_set():
                    self.state.connected = False
                    self.state.note("stopped")
                elif self.state.connected:
                    self._lost("connection closed")
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), delay * random.uniform(0.8, 1.2))
            except asyncio.TimeoutError:
                pass
            delay = min(self.ami.backoff_max, delay * 2)

    async def _session(self, stop: asyncio.Event) -> None:
        wanted = self.pipeline.tracker.wanted_events | LIST_EVENTS
        record = self.recorder.session() if self.recorder is not None else None
        session = await AmiSession.open(self.ami.host, self.ami.port, self.ami.username, self.ami.secret,
                                        wanted=wanted, wanted_when=self.pipeline.tracker.wanted_when,
                                        record=record)
        self.state.connected = True
        self.state.sessions += 1
        if self.state.sessions > 1:
            self.state.reconnects += 1
        self.state.note(f"connected to {self.ami.host}:{self.ami.port} ({session.banner})")
        log.info("AMI connected to %s:%d as %s", self.ami.host, self.ami.port, self.ami.username)
        stopper = asyncio.create_task(stop.wait())
        keepalive = asyncio.create_task(_keepalive(session))
        try:
            # Always ask which channels exist: after a reconnect to settle the calls across
            # the gap, on the first connect to adopt calls already in progress.
            reconcile_id = await session.send("CoreShowChannels")
            active: list[Message] = []
            async for msg in _until(session.messages(), stopper):
                self.state.last_event_wall = self._wall()
                if "Timestamp" in msg:
                    self._pbx_time = msg["Timestamp"]   # the PBX's clock (FullyBooted comes before the listing)
                if reconcile_id is not None and msg.get("ActionID") == reconcile_id:
                    if msg.get("Event") == "CoreShowChannel":
                        active.append(msg)
                        continue
                    if msg.get("Event") == "CoreShowChannelsComplete" or msg.get("Response") == "Error":
                        self._reconcile(active if msg.get("Response") != "Error" else None, msg)
                        reconcile_id = None
                    continue
                if msg.event:
                    self._feed(msg)
        finally:
            stopper.cancel()
            keepalive.cancel()
            session.close()

    def _feed(self, msg: Message) -> None:
        try:
            self.pipeline.feed_event(msg, self._wall())
        except Exception:  # one bad event (or call) must never stop the monitor
            log.exception("event %s at byte %d could not be processed", msg.event, msg.offset)

    def _lost(self, why: str) -> None:
        self.state.connected = False
        if self.pipeline.tracker.clock:
            self.gap_start = self.pipeline.tracker.clock
        self._across_gap = {k for k in self.pipeline.tracker.calls}
        self._gap_reason = f"AMI connection lost at {self.pipeline.tracker.clock:.3f}"
        self.state.note(f"disconnected: {why}; {len(self._across_gap)} calls in progress")
        log.warning("AMI disconnected (%s) with %d calls in progress", why, len(self._across_gap))

    def _reconcile(self, active: Optional[list[Message]], msg: Message) -> None:
        try:
            self._settle_gap(active, msg)
        finally:
            pbx_time = header_time(self._pbx_time)
            if self.connected_at is not None and pbx_time:
                self.connected_at(pbx_time)
            if self.recover is not None and self.gap_start is not None:
                since, self.gap_start = self.gap_start, None
                try:
                    self.recover(since)
                except Exception:   # a CEL file that cannot be read must not stop the monitor
                    log.exception("recovering the calls of the gap from CEL failed")

    def _settle_gap(self, active: Optional[list[Message]], msg: Message) -> None:
        across = self._across_gap or set()
        self._across_gap = None
        if active is None:
            # Not allowed to list channels (manager.conf write=reporting missing): we cannot
            # tell which calls ended, so each is followed on and stored as incomplete.
            log.warning("CoreShowChannels refused (%s): calls across the gap stay open until they end",
                        msg.get("Message", "error"))
            for key in across:
                call = self.pipeline.tracker.calls.get(key)
                if call is not None:
                    call.gap = f"events may be missing: {self._gap_reason}"
            return
        done = self.pipeline.reconcile(active, across, self._gap_reason, header_time(self._pbx_time) or self._wall())
        self.state.reconciled_incomplete += len(done)
        log.info("reconciled after reconnect: %d channels up, %d calls ended during the gap",
                 len(active), len(done))


async def _unless_stopped(coro, stop: asyncio.Event) -> None:
    """Await ``coro`` unless ``stop`` is set first (a connect or login that hangs must not delay SIGTERM)."""
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        # A session that is up notices ``stop`` itself and drains what already arrived; only
        # one stuck in connecting or logging in is cut short.
        await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
    if not task.done():
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, AmiError):
            pass
        return
    task.result()


async def _keepalive(session: AmiSession) -> None:
    """Ping Asterisk every PING_SECONDS; the answers arrive (and are ignored) with the events."""
    while True:
        await asyncio.sleep(PING_SECONDS)
        try:
            await session.send("Ping")
        except (ConnectionError, OSError):
            return   # the session loop notices the closed connection itself


async def _until(messages, stopper: asyncio.Task):
    """Iterate an async iterator until it ends or ``stopper`` completes."""
    iterator = messages.__aiter__()
    while True:
        nxt = asyncio.ensure_future(iterator.__anext__())
        done, _ = await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if nxt not in done:
            nxt.cancel()
            return
        try:
            yield nxt.result()
        except StopAsyncIteration:
            return

"""The call tracker: Asterisk AMI events in, finished call records out.

Theory of operation
===================

A *call* is everything that served one caller, from the caller's first channel to
the last hangup, across queues, Local channels, holds and transfers. The tracker
is fed parsed AMI events one at a time (``feed``); it keeps a table of live
channels by ``Uniqueid`` and a table of live calls, and returns each call as a
:class:`CallRecord` the moment its last channel hangs up. It does no I/O and never
reads a clock: the time of anything is the ``Timestamp:`` header of the event
that showed it (``timestampevents = yes`` in ``manager.conf``).

Grouping. A call starts with a ``Newchannel`` whose ``Linkedid`` names no live
call: that channel is the *origin* (the caller). Every later channel with the same
``Linkedid`` joins it. Grouping is by id, never by order, because events of
concurrent calls interleave within the same millisecond. ``Linkedid`` does not
follow an attended transfer: the consultation call has its own, and the
``AttendedTransfer`` event merges it into the caller's call (its id stays an alias).

Ringing. An *offer* is one device dialled for the caller: a ``DialBegin`` whose
``DestChannel`` is a phone or trunk (a Local channel is plumbing; the phone behind
it is dialled by its ``;2`` half, which is another ``DialBegin`` in the same call).
The device rings from its own ``Newstate 5 Ringing`` (the phone's 180) until it
answers (its ``Newstate 6 Up``) or stops (``DialEnd`` / its ``Hangup``). The
caller's own state says nothing: an inbound channel sits in state 4 "Ring" while
being set up, and a queue caller is ``Up`` (answered by ``Queue()``) long before a
person picks up. A person answered when an offer's device went Up.

Queue. ``QueueCallerJoin`` / ``QueueCallerLeave`` / ``QueueCallerAbandon`` bound
the queue wait; offers made while the caller is queued are queue offers.

Hold. ``Hold`` / ``Unhold`` on the holder's channel time a hold and name who held;
music on hold played to the caller outside a queue with no matching ``Hold`` (an
``Unhold`` without ``Hold`` is how PJSIP starts a REFER) is kept as a hold too.

Transfers. ``BlindTransfer`` opens a transfer; the same caller channel then runs
the dialplan again, and the next offer in the call is the target. For an attended
transfer the target was dialled on the consultation call, merged at
``AttendedTransfer``; its offer becomes the transfer's target.

Failure. Unknown events are ignored (counted). An event for a channel never seen,
an event with no ``Timestamp``, or one that arrives out of order is reported in
``anomalies`` (bounded) and counted; nothing raises. A call with no event for
``stale_after`` seconds of event time is flushed as ``incomplete`` by ``expire``.
"""
from __future__ import annotations

from collections import Counter, OrderedDict, deque
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from .calls import Chan, LiveCall, finish
from .dialing import DialHandlers
from .features import FeatureHandlers
from .lifecycle import ChannelHandlers
from .office import OfficeHandlers
from .clock import ClockGuard, duration_seconds, header_time
from .liveview import LiveView, live_view
from .record import CallRecord
from .rules import DeptLookup

Event = Mapping[str, str]


@dataclass(frozen=True)
class TrackerOptions:
    """Tracker settings: trunks (empty = auto) and when a silent call counts as lost."""

    trunks: frozenset[str] = frozenset()
    stale_after: float = 4 * 3600.0
    max_anomalies: int = 1000


@dataclass(frozen=True)
class Anomaly:
    """Something in the stream the tracker could not use."""

    kind: str        # no_timestamp | bad_timestamp | unknown_channel | out_of_order | bad_field | late_event
    event: str
    detail: str


class Tracker(DialHandlers, FeatureHandlers, OfficeHandlers, ChannelHandlers):
    """Pure AMI-event-to-call-record state machine (see the module docstring)."""

    options: TrackerOptions

    def __init__(self, options: TrackerOptions = TrackerOptions()) -> None:
        self.options = options
        self.channels: dict[str, Chan] = {}
        self.calls: dict[str, LiveCall] = {}          # linkedid (and aliases) -> call
        self.clock = 0.0                               # latest event time seen
        self.anomalies: deque[Anomaly] = deque(maxlen=options.max_anomalies)
        self.counts: Counter[str] = Counter()
        self._finished: OrderedDict[str, None] = OrderedDict()  # recently hung-up uniqueids
        self.rooms: dict[str, dict[str, Chan]] = {}   # ConfBridge room -> channels in it
        self._clock_guard = ClockGuard()
        # Held while an event (or an expiry, flush, reconcile) changes the tracker and while
        # live_view reads it. Nothing here is threaded (the default does nothing); an adapter
        # that reads the live view from another thread installs a lock (metrics/registry.py).
        self.guard: AbstractContextManager[object] = nullcontext()
        # The last events applied (their header pairs), to recognise a duplicate.
        self._recent: OrderedDict[tuple[tuple[str, str], ...], None] = OrderedDict()
        self._handlers: dict[str, Callable[[Event, float], Optional[LiveCall]]] = {
            "Newchannel": self._newchannel, "Newstate": self._newstate,
            "DialBegin": self._dialbegin, "DialState": self._dialstate, "DialEnd": self._dialend,
            "Hangup": self._hangup, "HangupRequest": self._hangup_request, "Rename": self._rename,
            "QueueCallerJoin": self._queue_join, "QueueCallerLeave": self._queue_leave,
            "QueueCallerAbandon": self._queue_abandon,
            "Hold": self._hold, "Unhold": self._unhold,
            "MusicOnHoldStart": self._moh_start, "MusicOnHoldStop": self._moh_stop,
            "BlindTransfer": self._blind_transfer, "AttendedTransfer": self._attended_transfer,
            "Pickup": self._pickup, "Newexten": self._newexten, "MessageWaiting": self._message_waiting,
            "ParkedCall": self._parked, "UnParkedCall": self._unparked,
            "ParkedCallTimeOut": self._park_gone, "ParkedCallGiveUp": self._park_gone,
            "ConfbridgeJoin": self._conf_join, "ConfbridgeLeave": self._conf_leave,
        }

    # Names of the events the tracker reads: the codec may skip everything else unparsed.
    @property
    def wanted_events(self) -> frozenset[str]:
        """Event names this tracker handles (plus Shutdown, which flushes every call)."""
        return frozenset(self._handlers) | {"Shutdown"}

    # Of these, only frames holding these bytes matter: of all the dialplan steps
    # (Newexten, a large share of an unfiltered stream) only VoiceMail is read.
    wanted_when: Mapping[str, bytes] = {"Newexten": b"Application: VoiceMail"}

    def feed(self, event: Event, wall: Optional[float] = None) -> list[CallRecord]:
        """Apply one event; return the calls it finished (usually none).

        A time far from the stream's clock is held until later events confirm it, or
        rejected as ``bad_timestamp`` (core/clock.py); ``wall`` is a trusted clock that
        may vouch for it at once (the live listener's). An event seen twice, byte for
        byte (a duplicated frame, a replayed file fed again), is applied once.
        """
        with self.guard:
            return self._feed(event, wall)

    def _feed(self, event: Event, wall: Optional[float]) -> list[CallRecord]:
        name = event.get("Event")
        if name == "Shutdown":
            return self._flush_all("Asterisk shut down")
        handler = self._handlers.get(name or "")
        if handler is None:
            self.counts["ignored"] += 1
            return []
        raw_ts = event.get("Timestamp")
        try:
            ts = float(raw_ts) if raw_ts is not None else None
        except ValueError:
            ts = None
        if ts is None:
            self._anomaly("no_timestamp", name or "", "enable timestampevents=yes in manager.conf")
            return []
        ready, rejected = self._clock_guard.offer(event, ts, self.clock, wall)
        for bad, _, why in rejected:
            self._anomaly("bad_timestamp", bad.get("Event", ""), why)
        done: list[CallRecord] = []
        for ev, t in ready:
            done.extend(self._apply(ev, t))
        return done

    def _apply(self, event: Event, ts: float) -> list[CallRecord]:
        name = event.get("Event") or ""
        key = tuple(event.items())
        if key in self._recent:
            self.counts["duplicate"] += 1
            return []
        self._recent[key] = None
        if len(self._recent) > 4096:
            self._recent.popitem(last=False)
        if ts < self.clock - self._clock_guard.max_skew:
            self.clock = ts        # a confirmed jump back: the stream's clock was wrong, not this event
        elif ts < self.clock - 1.0:
            self._anomaly("out_of_order", name, f"{ts:.6f} is {self.clock - ts:.3f} s behind")
        elif ts > self.clock:
            self.clock = ts
        self.counts["handled"] += 1
        try:
            call = self._handlers[name](event, ts)
        except (KeyError, ValueError) as exc:
            self._anomaly("bad_field", name, f"{type(exc).__name__}: {exc}")
            return []
        if call is None:
            return []
        call.last_ts = max(call.last_ts, ts)
        if not call.live:
            return [self._finish(call, call.last_ts)]
        return []

    def expire(self, now: Optional[float] = None) -> list[CallRecord]:
        """Flush calls silent for ``stale_after`` seconds (of event time) as incomplete."""
        with self.guard:
            return self._expire(self.clock if now is None else now)

    def _expire(self, now: float) -> list[CallRecord]:
        stale = {id(c): c for c in self.calls.values() if now - c.last_ts > self.options.stale_after}
        return [self._finish(c, c.last_ts, "no events for %.0f s" % (now - c.last_ts)) for c in stale.values()]

    def flush_all(self, reason: str) -> list[CallRecord]:
        """Flush every live call as incomplete (end of a recording, shutdown, lost connection)."""
        with self.guard:
            return self._flush_all(reason)

    def _flush_all(self, reason: str) -> list[CallRecord]:
        live = {id(c): c for c in self.calls.values()}
        return [self._finish(c, c.last_ts, reason) for c in live.values()]

    def reconcile(self, active: list[Event], across_gap: set[str], reason: str,
                  now: Optional[float] = None) -> list[CallRecord]:
        """Settle calls that were live when the AMI connection dropped, after reconnecting.

        ``active`` is what Asterisk reports now (``CoreShowChannel`` events);
        ``across_gap`` the linkedids that were live when the connection dropped.
        A call with none of its channels left ended during the gap: it is flushed
        as incomplete now. A call still up is tracked on, but marked so that it is
        stored as incomplete (its gap may hide a hold, a transfer or an answer).
        Channels Asterisk still has but the tracker never saw are adopted so their
        later events are not lost; their calls are incomplete too, and start when the
        channel did: its ``Duration`` before the listing's time (its ``Timestamp``, else
        ``now``: the PBX's latest Timestamp or the caller's wall clock, else the stream's clock).
        """
        with self.guard:
            return self._reconcile(active, across_gap, reason, now)

    def _reconcile(self, active: list[Event], across_gap: set[str], reason: str,
                   now: Optional[float]) -> list[CallRecord]:
        now_up = {e.get("Uniqueid", ""): e for e in active}
        done: list[CallRecord] = []
        for call in {id(c): c for k, c in self.calls.items() if k in across_gap}.values():
            for uid in list(call.live):
                if uid not in now_up:
                    call.live.discard(uid)
                    self.channels[uid].hung_up = True
            if not call.live:
                done.append(self._finish(call, call.last_ts, f"ended while telmon was disconnected ({reason})"))
            else:
                call.gap = f"events may be missing: {reason}"
        # Oldest first, the caller's own channel (its Uniqueid is the Linkedid) before others of its age.
        for uid, e in sorted(now_up.items(), key=lambda kv: (-duration_seconds(kv[1].get("Duration")),
                                                             kv[0] != kv[1].get("Linkedid"))):
            if uid and uid not in self.channels:
                listed = header_time(e.get("Timestamp")) or now or self.clock
                if not listed:
                    continue   # no time to date it by: its later events are anomalies, never a 1970 call
                start = listed - duration_seconds(e.get("Duration"))
                adopted_call = self._newchannel(dict(e, Event="Newchannel", Timestamp=f"{start:.6f}"), start)
                if adopted_call is not None:
                    adopted_call.partial = True
                    adopted_call.last_ts = max(adopted_call.last_ts, listed)   # seen alive now
                    self.counts["adopted"] += 1
        return done

    def live_calls(self) -> list[LiveCall]:
        """The calls in progress (each once)."""
        return list({id(c): c for c in self.calls.values()}.values())

    def live_view(self, now: float, dept_of: DeptLookup) -> LiveView:
        """The calls in progress at ``now`` by department (core/liveview.py), read between two events."""
        with self.guard:
            return live_view(self.live_calls(), now, dept_of)

    # -- bookkeeping ----------------------------------------------------------------
    def _anomaly(self, kind: str, event: str, detail: str) -> None:
        self.counts[kind] += 1
        self.anomalies.append(Anomaly(kind, event, detail))

    def _chan(self, event: Event, key: str = "Uniqueid") -> Optional[Chan]:
        uid = event.get(key)
        chan = self.channels.get(uid or "")
        if chan is None:
            kind = "late_event" if uid in self._finished else "unknown_channel"
            self._anomaly(kind, event.get("Event", ""), f"{key}={uid} ({event.get('Channel', '?')})")
        return chan

    def _finish(self, call: LiveCall, end: float, incomplete: Optional[str] = None) -> CallRecord:
        for key in [k for k, c in self.calls.items() if c is call]:
            del self.calls[key]
        for uid in call.channels:
            self.channels.pop(uid, None)
            self._finished[uid] = None
        while len(self._finished) > 10000:
            self._finished.popitem(last=False)
        self.counts["incomplete" if incomplete else "finished"] += 1
        return finish(call, end, incomplete)

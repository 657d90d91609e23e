"""Calls in progress, and how one becomes a finished :class:`CallRecord`.

The tracker (``tracker.py``) moves events into these objects; this module holds
the state and the judgement of what the state means once the call is over:
direction, outcome, who answered, and the caller's wait stretches.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .channels import ChannelName, number_from_dialstring
from .record import (INBOUND, INTERNAL, OUTBOUND, LEG_DIRECT, LEG_QUEUE, LEG_TRANSFER,
                     CallRecord, Hold, Offer, Transfer, WaitStretch)


@dataclass(eq=False)
class Chan:
    """One Asterisk channel, as far as the events told us."""

    uniqueid: str
    name: str
    parsed: ChannelName
    call: "LiveCall"
    created: float
    state: int
    caller_id: str
    exten: str
    trunk: bool
    extension: str
    hung_up: bool = False
    far_end_hangup: bool = False
    cause: Optional[int] = None
    offer: Optional[Offer] = None


@dataclass(eq=False)
class LiveCall:
    """A call being assembled: every channel that served one caller."""

    linkedid: str
    origin: Chan
    start: float
    last_ts: float
    channels: dict[str, Chan] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    offers: list[Offer] = field(default_factory=list)
    queue: Optional[str] = None
    queue_joined_at: Optional[float] = None
    queue_left_at: Optional[float] = None
    queue_abandoned: bool = False
    holds: list[Hold] = field(default_factory=list)
    open_holds: dict[str, Hold] = field(default_factory=dict)     # holder uniqueid -> hold
    moh: list[tuple[float, Optional[float]]] = field(default_factory=list)  # caller MOH outside queues
    transfers: list[Transfer] = field(default_factory=list)
    first_dialstring: Optional[str] = None
    partial: bool = False   # first seen mid-call: its start is not the real start
    gap: Optional[str] = None  # events may be missing (AMI reconnect): why, for the record
    origin_hangup: Optional[float] = None
    pbx_answered_at: Optional[float] = None   # the caller's channel went Up with no person (IVR, voicemail)
    voicemail_at: Optional[float] = None      # the caller reached voicemail (VoiceMail() on its channel)
    voicemail_box: str = ""
    conference: Optional[str] = None          # the ConfBridge room the caller joined
    conference_at: Optional[float] = None

    @property
    def in_queue(self) -> bool:
        """True while the caller sits in a queue."""
        return self.queue_joined_at is not None and self.queue_left_at is None

    def pending_transfer(self, ts: float) -> Optional[Transfer]:
        """The blind transfer (or park) still looking for its target at ``ts``, if any."""
        if self.transfers:
            t = self.transfers[-1]
            if t.kind in ("blind", "park") and t.at <= ts + 1e-6 and not t.answered:
                return t
        return None

    def leg_for_new_offer(self, ts: float) -> tuple[str, Optional[Transfer]]:
        """Which leg a phone dialled now belongs to: an unanswered blind transfer (or a park
        ringing its parker again) wins."""
        t = self.pending_transfer(ts)
        if t is not None:
            return LEG_TRANSFER, t
        if self.in_queue:
            return LEG_QUEUE, None
        return LEG_DIRECT, None

    def close_holds(self, ts: float, holder: Optional[str] = None) -> None:
        """End open holds at ``ts``: all of them, or those of the channel ``holder`` that left.

        Music on hold is the caller's own: it ends with the caller's ``MusicOnHoldStop``
        or the caller leaving, never because another channel hung up (the parker, a
        consultation leg).
        """
        for uid in [u for u in self.open_holds if holder is None or u == holder]:
            self.open_holds.pop(uid).end = ts
        if holder is None or holder == self.origin.uniqueid:
            self.moh = [(s, ts if e is None else e) for s, e in self.moh]


def _direction(call: LiveCall) -> str:
    if call.origin.trunk:
        return INBOUND
    if any(o.to_trunk for o in call.offers if o.leg == LEG_DIRECT):
        return OUTBOUND
    return INTERNAL


def _outcome(call: LiveCall, answered: Optional[Offer]) -> str:
    if answered is not None:
        return "answered"
    if call.voicemail_at is not None:
        return "voicemail"       # nobody answered; the caller reached a mailbox (still a missed caller)
    if call.conference is not None:
        return "conference"      # dialled a meeting room: nobody was offered the call
    if call.queue_joined_at is not None:
        if call.queue_abandoned or call.queue_left_at is None:
            return "abandoned"
    statuses = [o.status for o in call.offers if o.leg != LEG_TRANSFER]
    causes = [o.cause for o in call.offers if o.leg != LEG_TRANSFER]
    if "CANCEL" in statuses:
        return "abandoned"       # the caller hung up while a phone rang
    if "BUSY" in statuses or call.origin.cause == 17:
        return "busy"
    if 21 in causes:
        return "rejected"        # 603 Decline: cause 21, DialStatus NOANSWER
    if "NOANSWER" in statuses or call.queue_joined_at is not None:
        return "no_answer"
    if not call.offers and call.origin.far_end_hangup:
        return "abandoned"       # the caller hung up (announcement, IVR) before any phone rang
    if not call.offers and call.origin.state == 6:
        return "no_answer"       # answered by the PBX (IVR, voicemail), never by a person
    return "failed"


def first_wait_start(call: LiveCall, joined: Optional[float]) -> float:
    """Where the caller's first wait for a person starts: at arrival, menu seconds included.

    An IVR in front of a queue or a desk phone is waiting for a person too; only a
    queue joined after someone already talked to the caller (a transfer into the
    queue) starts its own stretch.
    """
    if joined is None:
        return call.start
    talked = [o.answered_at for o in call.offers if o.answered_at is not None and o.answered_at < joined]
    return joined if talked else call.start


def _pbx_took_over(call: LiveCall, rung_until: float) -> Optional[float]:
    """When the PBX itself answered a caller nobody answered, after the phones stopped ringing
    (voicemail, an announcement); None if it did not. ``MessageWaiting`` only tells a
    message was saved, so the caller's channel going Up is the earlier and better time."""
    took = [t for t in (call.pbx_answered_at, call.voicemail_at) if t is not None and t >= rung_until - 1e-3]
    return min(took, default=None)


def _waits(call: LiveCall, answered: Optional[Offer], end: float) -> list[WaitStretch]:
    waits: list[WaitStretch] = []
    if call.queue_joined_at is not None:
        if answered is not None and answered.leg == LEG_QUEUE and answered.answered_at is not None:
            stop = answered.answered_at
        else:
            stop = call.queue_left_at if call.queue_left_at is not None else end
        waits.append(WaitStretch("queue", first_wait_start(call, call.queue_joined_at), stop))
    elif any(o.leg == LEG_DIRECT for o in call.offers):
        direct = [o for o in call.offers if o.leg == LEG_DIRECT]
        if answered is not None and answered.answered_at is not None:
            stop = answered.answered_at
        else:
            ends = [o.ring_end or o.dial_start for o in direct]
            stop = max(ends + ([call.origin_hangup] if call.origin_hangup else []))
            took_over = _pbx_took_over(call, max(ends))
            if took_over is not None:
                stop = min(stop, took_over)   # voicemail ended the ringing, not the caller's hangup
        waits.append(WaitStretch("ringing", call.start, min(stop, end)))
    elif answered is None and call.voicemail_at is None and call.conference is None \
            and call.pbx_answered_at is not None:
        # Answered by an IVR and left there: the menu was all the caller got.
        waits.append(WaitStretch("ivr", call.start, call.origin_hangup or end))
    for h in call.holds:
        waits.append(WaitStretch("hold", h.start, h.end if h.end is not None else end))
    for t in call.transfers:
        if t.kind == "attended":
            continue  # an attended transfer's wait is the consultation hold, counted above
        target = t.target
        if target is not None and target.answered_at is not None:
            stop = target.answered_at
        elif t.kind == "voicemail" and call.voicemail_at is not None:
            stop = call.voicemail_at
        elif target is not None and target.ring_end is not None and t.kind != "park":
            stop = target.ring_end
        else:
            stop = call.origin_hangup or end
        waits.append(WaitStretch("park" if t.kind == "park" else "transfer", t.at, max(t.at, stop)))
    return waits


def _not_holds(call: LiveCall, end: float) -> list[tuple[float, float]]:
    """Stretches where music on hold is something else: parked, or in a conference room."""
    spans = [(t.at, (t.target.answered_at if t.target and t.target.answered_at else None)
              or call.origin_hangup or end) for t in call.transfers if t.kind == "park"]
    if call.conference_at is not None:
        spans.append((call.conference_at, end))
    return spans


def finish(call: LiveCall, end: float, incomplete: Optional[str] = None) -> CallRecord:
    """Turn a call whose channels have all hung up (or that went stale) into a record.

    A call telmon did not see start, or one that spanned a lost AMI connection, is
    stored as ``incomplete`` with the reason: its events are not all known, so
    judging it could count it wrong.
    """
    if incomplete is None and call.partial:
        incomplete = "telmon did not see the call start (it began while telmon was not connected)"
    if incomplete is None and call.gap:
        incomplete = call.gap
    call.close_holds(end)
    # Music on hold that no Hold event explains (e.g. Hold events filtered out) still
    # made the caller wait: keep it as a hold by the party who answered.
    elsewhere = _not_holds(call, end)
    for start, stop in call.moh:
        if any(a - 0.5 <= start <= b + 0.5 for a, b in elsewhere):
            continue
        if not any(h.start - 0.5 <= start <= (h.end or end) + 0.5 for h in call.holds):
            call.holds.append(Hold(by="", start=start, end=stop))
    call.holds.sort(key=lambda h: h.start)
    direct_or_queue = [o for o in call.offers if o.leg != LEG_TRANSFER and o.answered_at is not None]
    answered = min(direct_or_queue, key=lambda o: o.answered_at or 0.0, default=None)
    for h in call.holds:
        if not h.by and answered is not None:
            h.by = answered.extension
    direction = _direction(call)
    origin = call.origin
    dialed = origin.exten if origin.exten and origin.exten != "s" else ""
    if not dialed and call.first_dialstring:
        dialed = number_from_dialstring(call.first_dialstring) or call.first_dialstring
    remote = None
    if direction == INBOUND:
        remote = origin.caller_id
    elif direction == OUTBOUND:
        remote = next((o.extension for o in call.offers if o.to_trunk), None)
    return CallRecord(
        linkedid=call.linkedid,
        direction=direction,
        caller=origin.caller_id if direction == INBOUND else origin.extension,
        dialed=dialed,
        outcome="incomplete" if incomplete else _outcome(call, answered),
        start=call.start,
        end=end,
        answered_by=answered.extension if answered else None,
        answered_at=answered.answered_at if answered else None,
        remote_number=remote,
        offers=list(call.offers),
        queue=call.queue,
        queue_joined_at=call.queue_joined_at,
        queue_left_at=call.queue_left_at,
        holds=list(call.holds),
        transfers=list(call.transfers),
        waits=_waits(call, answered, end),
        hangup_cause=origin.cause,
        incomplete_reason=incomplete,
        uniqueids=sorted(call.channels),
    )

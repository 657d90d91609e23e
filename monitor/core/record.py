"""Finished call records: what the tracker hands out and the rules judge.

Plain dataclasses, no behaviour beyond derived durations. Times are epoch
seconds taken from the AMI ``Timestamp:`` header of the events that set them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Optional


class Direction(StrEnum):
    """Which way a call went."""

    INBOUND = "inbound"      # the caller came in on a trunk
    OUTBOUND = "outbound"    # a phone called out through a trunk
    INTERNAL = "internal"    # phone to phone (or to a queue) inside the PBX


class Outcome(StrEnum):
    """How a call ended, as the record, the database, metrics and reports name it.

    ``incomplete`` is a call whose events stopped before all of its channels hung up
    (lost events, monitor restart): it is stored, never judged. ``voicemail``: nobody
    answered and the caller reached a mailbox (a missed caller all the same);
    ``conference``: the caller dialled a meeting room, no phone was offered the call.
    """

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    VOICEMAIL = "voicemail"
    CONFERENCE = "conference"


# The values as plain strings: records, rows, JSON and labels carry these (the enums define them).
INBOUND, OUTBOUND, INTERNAL = Direction.INBOUND.value, Direction.OUTBOUND.value, Direction.INTERNAL.value
DIRECTIONS: tuple[str, ...] = tuple(d.value for d in Direction)
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)

# Legs an offer can belong to.
LEG_DIRECT = "direct"      # the caller's own Dial()
LEG_QUEUE = "queue"        # a queue member rung for the caller
LEG_TRANSFER = "transfer"  # the target of a blind or attended transfer


@dataclass
class Offer:
    """One phone (or trunk) alerted for this caller: a Dial() attempt to one device."""

    extension: str
    channel: str
    uniqueid: str
    leg: str
    dial_start: float
    ring_start: Optional[float] = None
    ring_end: Optional[float] = None
    answered_at: Optional[float] = None
    status: str = ""            # DialEnd DialStatus (ANSWER, CANCEL, BUSY, NOANSWER, ...)
    cause: Optional[int] = None  # Hangup cause of the callee channel
    to_trunk: bool = False

    @property
    def answered(self) -> bool:
        """True when a person (or the far end of a trunk) picked up this offer."""
        return self.answered_at is not None

    @property
    def ring_seconds(self) -> float:
        """Seconds the device was alerting (0.0 when it never rang)."""
        if self.ring_start is None or self.ring_end is None:
            return 0.0
        return max(0.0, self.ring_end - self.ring_start)


@dataclass
class Hold:
    """The caller held (music on hold) by a party of the call."""

    by: str
    start: float
    end: Optional[float] = None

    @property
    def seconds(self) -> float:
        """Length of the hold; 0.0 while it is still open."""
        return 0.0 if self.end is None else max(0.0, self.end - self.start)


@dataclass
class Transfer:
    """The caller handed on: blind or attended transfer, park, sent into a conference room or a mailbox.

    ``to`` is what the transferring phone dialled (the REFER target: ``700`` for a
    park, ``*6832`` for a mailbox, the room), as for a blind transfer; for a park
    made without a transfer (a DTMF feature), the parking space.

    ``target`` is the offer that took the caller: the phone rung, the colleague who
    retrieved the park (status ``UNPARK``) or the first person met in the room
    (``CONFERENCE``). A transfer to voicemail has none and loses nobody.
    """

    kind: str                    # "blind" | "attended" | "park" | "conference" | "voicemail"
    by: str                      # extension of the transferring party
    to: str                      # extension (or number) of the target
    at: float
    target: Optional[Offer] = None  # the target's offer, when it was dialled

    @property
    def answered(self) -> bool:
        """True when the transfer target picked up."""
        return self.target is not None and self.target.answered


@dataclass
class WaitStretch:
    """A stretch in which the caller was not talking to a person."""

    kind: str   # "ringing" | "queue" | "hold" | "transfer" | "park" | "ivr"
    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Length of the stretch."""
        return max(0.0, self.end - self.start)


@dataclass
class CallRecord:
    """One finished call, assembled from all the channels that served one caller."""

    linkedid: str
    direction: str
    caller: str
    dialed: str
    outcome: str
    start: float
    end: float
    answered_by: Optional[str] = None
    answered_at: Optional[float] = None
    remote_number: Optional[str] = None   # the outside party's number (inbound caller / outbound callee)
    offers: list[Offer] = field(default_factory=list)
    queue: Optional[str] = None
    queue_joined_at: Optional[float] = None
    queue_left_at: Optional[float] = None
    holds: list[Hold] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    waits: list[WaitStretch] = field(default_factory=list)
    hangup_cause: Optional[int] = None
    incomplete_reason: Optional[str] = None
    uniqueids: list[str] = field(default_factory=list)
    # Where the record came from: "ami" (followed live or replayed) or "cel" (recovered from
    # Asterisk's own event log for a time telmon was not running; see core/celcalls.py).
    source: str = "ami"
    # What was changed or is not known, in words: values fitted to the database's limits
    # (core/limits.py), what a CEL-recovered call cannot tell.
    flags: list[str] = field(default_factory=list)

    @property
    def answered_offer(self) -> Optional[Offer]:
        """The offer through which a person first answered the caller, if any."""
        for offer in self.offers:
            if offer.answered and offer.leg != LEG_TRANSFER:
                return offer
        return None

    @property
    def queue_wait_seconds(self) -> Optional[float]:
        """From joining the queue to a person answering (or to leaving it unanswered)."""
        if self.queue_joined_at is None:
            return None
        offer = self.answered_offer
        if offer is not None and offer.leg == LEG_QUEUE and offer.answered_at is not None:
            return max(0.0, offer.answered_at - self.queue_joined_at)
        end = self.queue_left_at if self.queue_left_at is not None else self.end
        return max(0.0, end - self.queue_joined_at)

    @property
    def hold_seconds(self) -> float:
        """Total time the caller spent on hold."""
        return sum(h.seconds for h in self.holds)

    @property
    def longest_wait(self) -> Optional[WaitStretch]:
        """The single longest wait stretch, if any."""
        return max(self.waits, key=lambda w: w.seconds, default=None)

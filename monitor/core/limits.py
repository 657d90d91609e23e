"""What a stored call may hold: the one definition of the schema's limits, and fitting a record to them.

The database refuses a caller ID of 65 characters (PostgreSQL), a hangup cause
beyond a 32-bit integer, a NaN where a time is required (SQLite NOT NULL). One
refused row used to stop all storage; now every finished call is fitted here,
before any sink sees it: over-long text is clipped, out-of-range numbers and
non-finite optional times are nulled, and each change is named in the record's
``flags`` so nothing is altered silently. ``monitor/storage/models.py`` builds
its columns from these same numbers.

A record whose required times are not finite (start, end) cannot be fitted:
:func:`fit_record` reports it, and the store dead-letters it with the reason.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

from .record import CallRecord, Hold, Offer, WaitStretch
from ..errors import TelmonError

# Text column lengths (characters).
ID = 64            # linkedid, uniqueid
NUMBER = 64        # caller, dialed, extensions, remote number, party names
NAME = 64          # queue, department
CHANNEL = 128      # channel names
KIND = 16          # direction, outcome, leg, transfer and wait kinds
STATUS = 32        # DialStatus
RULE = 8
RESULT = 16
SOURCE = 16

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1   # INTEGER on PostgreSQL (int4)


class Unfit(TelmonError, ValueError):
    """A record that cannot be stored even after fitting (a required time is not a number)."""


def clip(value: Optional[str], limit: int, what: str, flags: list[str]) -> Optional[str]:
    """``value`` cut to ``limit`` characters (noted in ``flags``); None stays None."""
    if value is None or len(value) <= limit:
        return value
    flags.append(f"{what} clipped from {len(value)} to {limit} characters")
    return value[:limit]


def text(value: Optional[str], limit: int, what: str, flags: list[str]) -> str:
    """A required text: clipped like :func:`clip`; a missing one becomes "" (noted)."""
    if value is None:
        flags.append(f"{what} missing")
        return ""
    return clip(value, limit, what, flags) or ""


def int_or_none(value: Optional[int], what: str, flags: list[str]) -> Optional[int]:
    """``value`` when it fits a 32-bit integer, else None (noted)."""
    if value is None or INT_MIN <= value <= INT_MAX:
        return value
    flags.append(f"{what} {value} out of range: dropped")
    return None


def time_or_none(value: Optional[float], what: str, flags: list[str]) -> Optional[float]:
    """``value`` when it is a finite number, else None (noted)."""
    if value is None or math.isfinite(value):
        return value
    flags.append(f"{what} {value} is not a time: dropped")
    return None


def _required_time(value: float, what: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Unfit(f"{what} is {value!r}, not a time")
    return value


def _offer(o: Offer, n: int, flags: list[str]) -> Offer:
    where = f"offer {n + 1}"
    return dataclasses.replace(
        o, extension=text(o.extension, NUMBER, f"{where} extension", flags),
        channel=text(o.channel, CHANNEL, f"{where} channel", flags),
        uniqueid=text(o.uniqueid, ID, f"{where} uniqueid", flags),
        leg=text(o.leg, KIND, f"{where} leg", flags),
        dial_start=_required_time(o.dial_start, f"{where} dial start"),
        ring_start=time_or_none(o.ring_start, f"{where} ring start", flags),
        ring_end=time_or_none(o.ring_end, f"{where} ring end", flags),
        answered_at=time_or_none(o.answered_at, f"{where} answer time", flags),
        status=text(o.status, STATUS, f"{where} status", flags),
        cause=int_or_none(o.cause, f"{where} cause", flags))


def _text_ok(value: Optional[str], limit: int) -> bool:
    return value is not None and len(value) <= limit


def _time_ok(value: Optional[float]) -> bool:
    return value is None or (isinstance(value, (int, float)) and math.isfinite(value))


def _fits(r: CallRecord) -> bool:
    """True when nothing needs fitting: the common case, checked without building anything (~3 µs)."""
    if not (_text_ok(r.linkedid, ID) and _text_ok(r.direction, KIND) and _text_ok(r.caller, NUMBER)
            and _text_ok(r.dialed, NUMBER) and _text_ok(r.outcome, KIND)
            and (r.answered_by is None or len(r.answered_by) <= NUMBER)
            and (r.remote_number is None or len(r.remote_number) <= NUMBER)
            and (r.queue is None or len(r.queue) <= NAME)
            and (r.hangup_cause is None or INT_MIN <= r.hangup_cause <= INT_MAX)
            and math.isfinite(r.start) and math.isfinite(r.end) and _time_ok(r.answered_at)
            and _time_ok(r.queue_joined_at) and _time_ok(r.queue_left_at)
            and all(len(u) <= ID for u in r.uniqueids)):
        return False
    for o in r.offers:
        if not (_text_ok(o.extension, NUMBER) and _text_ok(o.channel, CHANNEL) and _text_ok(o.uniqueid, ID)
                and _text_ok(o.leg, KIND) and _text_ok(o.status, STATUS) and math.isfinite(o.dial_start)
                and _time_ok(o.ring_start) and _time_ok(o.ring_end) and _time_ok(o.answered_at)
                and (o.cause is None or INT_MIN <= o.cause <= INT_MAX)):
            return False
    return (all(_text_ok(t.kind, KIND) and _text_ok(t.by, NUMBER) and _text_ok(t.to, NUMBER) and math.isfinite(t.at)
                for t in r.transfers)
            and all(_text_ok(h.by, NUMBER) and math.isfinite(h.start) and _time_ok(h.end) for h in r.holds)
            and all(_text_ok(w.kind, KIND) and math.isfinite(w.start) and math.isfinite(w.end) for w in r.waits))


def fit_record(record: CallRecord) -> CallRecord:
    """The record as the database can hold it, with every change named in ``flags``.

    Raises :class:`Unfit` when the call's start, end or another required time is
    not a finite number. Returns ``record`` itself when nothing needed changing.
    """
    try:
        if _fits(record):
            return record
    except TypeError:
        pass    # a value of the wrong type: the careful path below names it
    flags: list[str] = []
    _required_time(record.start, "call start")
    _required_time(record.end, "call end")
    offers = [_offer(o, n, flags) for n, o in enumerate(record.offers)]
    by_id = {id(o): new for o, new in zip(record.offers, offers)}
    transfers = [dataclasses.replace(
        t, kind=text(t.kind, KIND, "transfer kind", flags), by=text(t.by, NUMBER, "transfer by", flags),
        to=text(t.to, NUMBER, "transfer target", flags), at=_required_time(t.at, "transfer time"),
        target=by_id.get(id(t.target)) if t.target is not None else None) for t in record.transfers]
    holds = [Hold(text(h.by, NUMBER, "hold by", flags), _required_time(h.start, "hold start"),
                  time_or_none(h.end, "hold end", flags)) for h in record.holds]
    waits = [WaitStretch(text(w.kind, KIND, "wait kind", flags), _required_time(w.start, "wait start"),
                         _required_time(w.end, "wait end")) for w in record.waits]
    fitted = dataclasses.replace(
        record, linkedid=text(record.linkedid, ID, "linkedid", flags),
        direction=text(record.direction, KIND, "direction", flags),
        caller=text(record.caller, NUMBER, "caller", flags),
        dialed=text(record.dialed, NUMBER, "dialed", flags),
        outcome=text(record.outcome, KIND, "outcome", flags),
        answered_by=clip(record.answered_by, NUMBER, "answered by", flags),
        answered_at=time_or_none(record.answered_at, "answer time", flags),
        remote_number=clip(record.remote_number, NUMBER, "remote number", flags),
        queue=clip(record.queue, NAME, "queue", flags),
        queue_joined_at=time_or_none(record.queue_joined_at, "queue join", flags),
        queue_left_at=time_or_none(record.queue_left_at, "queue leave", flags),
        hangup_cause=int_or_none(record.hangup_cause, "hangup cause", flags),
        offers=offers, transfers=transfers, holds=holds, waits=waits,
        uniqueids=[u[:ID] for u in record.uniqueids])
    if any(len(u) > ID for u in record.uniqueids):
        flags.append("uniqueids clipped")
    if not flags:
        return record
    fitted.flags = list(record.flags) + flags
    return fitted

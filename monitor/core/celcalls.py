"""Calls rebuilt from Asterisk's Channel Event Log (CEL): what happened while telmon was not running.

Asterisk writes CEL on its own (``cel_custom`` CSV, or a CEL table as FreePBX
keeps it), so calls that began and ended while ``telmon run`` was down are
still there. CEL knows each channel's start, answer, transfers, hangup cause and
dial status, and the end of the whole call (``LINKEDID_END``). It does not know
when a phone started ringing, holds, or queue joins and leaves: a recovered
call is stored with ``source = "cel"`` and a flag saying so, and R1, R4 and R5
are not judged on it (rules.judge_call); R8 is, since a missed caller is just as
missed. Pure: rows in (dicts with the cel_custom field names), records out.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from .channels import is_trunk, number_from_dialstring, parse_channel, phone_extension
from .record import INBOUND, INTERNAL, LEG_DIRECT, LEG_TRANSFER, OUTBOUND, CallRecord, Offer, Transfer

CelRow = Mapping[str, str]   # eventtype, eventtime (epoch seconds as text), cid_num, exten, channame, ...

UNKNOWN_FROM_CEL = ("recovered from Asterisk's CEL (telmon was not running): ringing, holds and queue "
                    "waits are not known, so R1, R4 and R5 are not judged")


@dataclass
class _Chan:
    uniqueid: str
    name: str
    start: float
    cid: str
    exten: str
    answered: Optional[float] = None
    hangup: Optional[float] = None
    cause: Optional[int] = None
    dialstatus: str = ""
    voicemail: bool = False
    dialstring: str = ""
    consult: bool = False   # a channel of an attended transfer's consultation call


def _extra(row: CelRow) -> dict[str, Any]:
    try:
        value = json.loads(row.get("extra") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def ended_calls(rows: Iterable[CelRow]) -> list[str]:
    """The linkedids whose ``LINKEDID_END`` is among ``rows`` (the calls that are over)."""
    return list(dict.fromkeys(r.get("linkedid", "") for r in rows if r.get("eventtype") == "LINKEDID_END"))


def calls_from_cel(rows: Iterable[CelRow], trunks: frozenset[str] = frozenset()) -> list[CallRecord]:
    """A record for every call whose CEL rows include its end, in order of start."""
    by_call: dict[str, list[CelRow]] = defaultdict(list)
    for row in rows:
        by_call[row.get("linkedid", "")].append(row)
    _merge_attended(by_call)
    records = [call_from_rows(linkedid, sorted(group, key=_time), trunks)
               for linkedid, group in by_call.items()
               if linkedid and any(r.get("eventtype") == "LINKEDID_END" for r in group)]
    return sorted((r for r in records if r is not None), key=lambda r: (r.start, r.linkedid))


def _merge_attended(by_call: dict[str, list[CelRow]]) -> None:
    """Fold each attended transfer's consultation call (its own linkedid) into the caller's call, as the
    tracker does at ``AttendedTransfer``; the consultation's rows keep their linkedid for _record to tell."""
    linked_of = {r.get("uniqueid", ""): lid for lid, group in by_call.items() for r in group
                 if r.get("eventtype") == "CHAN_START"}
    for linkedid in list(by_call):
        for row in list(by_call.get(linkedid, ())):
            if row.get("eventtype") != "ATTENDEDTRANSFER":
                continue
            extra = _extra(row)
            for key in ("channel2_uniqueid", "transfer_target_channel_uniqueid"):
                other = linked_of.get(str(extra.get(key) or ""))
                if other and other != linkedid and other in by_call:
                    by_call[linkedid].extend(by_call.pop(other))
                    for uid, lid in list(linked_of.items()):
                        if lid == other:
                            linked_of[uid] = linkedid


def _time(row: CelRow) -> float:
    try:
        return float(row.get("eventtime", ""))
    except ValueError:
        return float("nan")


def call_from_rows(linkedid: str, rows: list[CelRow], trunks: frozenset[str] = frozenset()
                   ) -> Optional[CallRecord]:
    """The record of one call from its CEL rows (time order); None when no channel start is known."""
    chans: dict[str, _Chan] = {}
    transfers: list[tuple[str, float, str, str]] = []   # (kind, at, by channel, to)
    end: Optional[float] = None
    for row in rows:
        kind, at, uid = row.get("eventtype", ""), _time(row), row.get("uniqueid", "")
        if at != at:
            continue
        chan = chans.get(uid) if uid else next((c for c in chans.values() if c.name == row.get("channame")), None)
        if chan is not None and not chan.dialstring and row.get("appname", "").lower() == "dial":
            chan.dialstring = row.get("appdata", "")
        if kind == "CHAN_START" and chan is None and uid:
            chans[uid] = _Chan(uid, row.get("channame", ""), at, row.get("cid_num", ""), row.get("exten", ""),
                               consult=row.get("linkedid", linkedid) != linkedid)
        elif chan is None:
            pass
        elif kind == "ANSWER" and chan.answered is None:
            chan.answered = at
        elif kind == "APP_START" and row.get("appname", "").lower() == "voicemail":
            chan.voicemail = True
        elif kind == "HANGUP":
            extra = _extra(row)
            chan.hangup = at
            cause = extra.get("hangupcause")
            chan.cause = cause if isinstance(cause, int) else None
            chan.dialstatus = str(extra.get("dialstatus") or "")
        elif kind in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            extra = _extra(row)
            target = str(extra.get("transfer_target_channel_name") or "")
            to = str(extra.get("extension") or (phone_extension(parse_channel(target), None) if target else ""))
            transfers.append(("blind" if kind == "BLINDTRANSFER" else "attended", at, chan.name, to))
        if kind == "LINKEDID_END":
            end = at
    if not chans:
        return None
    origin = chans.get(linkedid) or min(chans.values(), key=lambda c: c.start)
    return _record(linkedid, origin, chans, transfers, end, trunks)


def _record(linkedid: str, origin: _Chan, chans: dict[str, _Chan], transfers: list[tuple[str, float, str, str]],
            end: Optional[float], trunks: frozenset[str]) -> CallRecord:
    parsed = {uid: parse_channel(c.name) for uid, c in chans.items()}
    offers = []
    outside = number_from_dialstring(origin.dialstring) if origin.dialstring else None
    for uid, c in sorted(chans.items(), key=lambda kv: kv[1].start):
        if c is origin or parsed[uid].is_local or (c.consult and c.uniqueid == _consult_origin(chans, c)):
            continue
        trunk = is_trunk(parsed[uid], trunks)
        stop = c.answered if c.answered is not None else c.hangup
        extension = outside or c.exten or c.cid if trunk else phone_extension(parsed[uid], c.cid)
        offers.append(Offer(extension, c.name, uid, LEG_TRANSFER if c.consult else LEG_DIRECT, c.start,
                            ring_start=None, ring_end=stop, answered_at=c.answered,
                            status="ANSWER" if c.answered is not None else "", cause=c.cause, to_trunk=trunk))
    origin_trunk = is_trunk(parsed[origin.uniqueid], trunks)
    direction = INBOUND if origin_trunk else OUTBOUND if any(o.to_trunk for o in offers) else INTERNAL
    answered = min((o for o in offers if o.answered_at is not None and o.leg != LEG_TRANSFER),
                   key=lambda o: o.answered_at or 0.0, default=None)
    dialed = origin.exten if origin.exten not in ("", "s") else ""
    caller = origin.cid if direction == INBOUND else phone_extension(parsed[origin.uniqueid], origin.cid)
    finish = end if end is not None else max((c.hangup or c.start) for c in chans.values())
    records_transfers = []
    for kind, at, by_name, to in transfers:
        target = next((o for o in offers if (o.dial_start >= at - 1e-3 or o.leg == LEG_TRANSFER)
                       and (o.extension == to or not to)), None)
        records_transfers.append(Transfer(kind, phone_extension(parse_channel(by_name), None), to, at, target))
    return CallRecord(
        linkedid=linkedid, direction=direction, caller=caller, dialed=dialed,
        outcome=_outcome(origin, offers, answered is not None), start=origin.start, end=finish,
        answered_by=answered.extension if answered else None, answered_at=answered.answered_at if answered else None,
        remote_number=origin.cid if direction == INBOUND else next((o.extension for o in offers if o.to_trunk), None),
        offers=offers, transfers=records_transfers, hangup_cause=origin.cause,
        uniqueids=sorted(chans), source="cel", flags=[UNKNOWN_FROM_CEL])


def _consult_origin(chans: dict[str, _Chan], chan: _Chan) -> str:
    """The first channel of the consultation call ``chan`` belongs to (the transferer's own phone)."""
    consult = [c for c in chans.values() if c.consult]
    return min(consult, key=lambda c: c.start).uniqueid if consult else ""


def _outcome(origin: _Chan, offers: list[Offer], answered: bool) -> str:
    if answered:
        return "answered"
    if origin.voicemail:
        return "voicemail"
    status = origin.dialstatus.upper()
    if status == "BUSY" or origin.cause == 17:
        return "busy"
    if status == "CANCEL":
        return "abandoned"
    if any(o.cause == 21 for o in offers):
        return "rejected"        # 603 Decline: cause 21 (DialStatus NOANSWER)
    if status == "NOANSWER" or (not offers and origin.answered is not None):
        return "no_answer"
    if not offers:
        return "abandoned"
    return "failed"

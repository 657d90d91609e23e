"""Scenarios where the caller is handed on: park, conferences, transfers, call waiting."""
from __future__ import annotations

import asyncio
from typing import Any

from .lab import Lab
from .steps import answered, invite, queue_members, scenario, talk_then_caller_hangs_up
from .truth import call, first, hangup_time, met, offer, wait


# ---------------------------------------------------------------- park
async def _answer_and_park(lab: Lab, number: str) -> tuple[Any, Any, Any, float]:
    """A carrier call answered by 6831 (2 s), who parks it on 701 after 2 s of talk."""
    p31 = await lab.ua("6831")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    caller = await lab.inbound("6831", number)
    assert await caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    await p31.refer(leg, target_user="700")
    refer_at = first(leg, "tx_REFER")
    assert refer_at is not None
    return caller, p31, leg, refer_at


async def _park_retrieved(lab: Lab, number: str, retriever: str, after: float) -> list[dict[str, Any]]:
    """6831 parks the caller; ``retriever`` dials the space ``after`` s later and talks."""
    caller, p31, leg, parked = await _answer_and_park(lab, number)
    await asyncio.sleep(lab.t(after))
    retrieve = await (await lab.ua(retriever)).call("701")
    assert await retrieve.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(retrieve)
    return [call("park", caller=number, dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, retrieve), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg), met(retriever, got)],
                 transfers=[{"kind": "park", "by": "6831", "to": "700", "answered_by": retriever,
                             "target_ring_seconds": 0.0}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, got)])]


@scenario("l_park_colleague", "01050010006 -> 6831 answers, parks on 701; 6832 retrieves it 8 s later; talk")
async def park_colleague(lab: Lab) -> list[dict[str, Any]]:
    return await _park_retrieved(lab, "01050010006", "6832", 8.0)


@scenario("l_park_self", "01050010007 -> 6831 answers, parks on 701 and takes it back itself 5 s later")
async def park_self(lab: Lab) -> list[dict[str, Any]]:
    return await _park_retrieved(lab, "01050010007", "6831", 5.0)


@scenario("l_park_timeout", "01050010008 -> 6831 answers, parks; nobody retrieves; after 20 s it rings 6831 "
                       "again, who answers")
async def park_timeout(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010008")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    back = await lab.incoming(p31, count=2, timeout=40)
    await lab.until(lambda: first(back, "tx_200") is not None, 15, "6831 answering the parked call")
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(back)
    target = offer("6831", back)
    target["caller_answered_at"] = got
    return [call("park", caller="01050010008", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, back), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg), target],
                 transfers=[{"kind": "park", "by": "6831", "to": "700", "answered_by": "6831",
                             "target_ring_seconds": target["ring_seconds"]}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, got)])]


@scenario("l_park_abandon", "01050010009 -> 6831 answers, parks; the caller hangs up after 6 s on park")
async def park_abandon(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010009")
    await talk_then_caller_hangs_up(lab, caller, 6.0)
    gone = first(caller, "tx_BYE")
    assert gone is not None
    return [call("park", caller="01050010009", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg)],
                 transfers=[{"kind": "park", "by": "6831", "to": "700", "answered_by": None,
                             "target_ring_seconds": None}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, gone)])]


# ---------------------------------------------------------------- conferences
@scenario("l_conf_adhoc", "01050010019 -> 6831 answers, sends the caller into room 8801 and joins; 6841 joins; talk")
async def conf_adhoc(lab: Lab) -> list[dict[str, Any]]:
    p31, p41 = await lab.ua("6831"), await lab.ua("6841")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    caller = await lab.inbound("6831", "01050010019")
    assert await caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    await p31.refer(leg, target_user="8801")
    moved = first(leg, "tx_REFER")
    await asyncio.sleep(lab.t(1.0))
    host = await p31.call("8801")
    assert await host.answered
    await asyncio.sleep(lab.t(2.0))
    guest = await p41.call("8801")
    assert await guest.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    await p31.bye(host)
    await p41.bye(guest)
    await asyncio.sleep(0.5)
    joined = answered(host)
    assert moved is not None
    return [
        call("caller", caller="01050010019", dialed="6831", direction="inbound", outcome="answered",
             start=invite(caller), end=hangup_time(caller), answered_by="6831", answered_at=answered(leg),
             offers=[offer("6831", leg), met("6831", joined)],
             transfers=[{"kind": "conference", "by": "6831", "to": "8801", "answered_by": "6831",
                         "target_ring_seconds": 0.0}],
             waits=[wait("ringing", invite(caller), answered(leg)), wait("transfer", moved, joined)],
             note="the end is the caller's own hangup: the room lives on with the staff"),
        call("host", caller="6831", dialed="8801", direction="internal", outcome="conference",
             start=invite(host), end=hangup_time(host), offers=[]),
        call("guest", caller="6841", dialed="8801", direction="internal", outcome="conference",
             start=invite(guest), end=hangup_time(guest), offers=[]),
    ]


@scenario("l_conf_room", "meeting room 8802: 6811 dials in, then 6812, then the outside caller 01050010020; all leave")
async def conf_room(lab: Lab) -> list[dict[str, Any]]:
    p11, p12 = await lab.ua("6811"), await lab.ua("6812")
    a = await p11.call("8802")
    assert await a.answered
    await asyncio.sleep(lab.t(2.0))
    b = await p12.call("8802")
    assert await b.answered
    await asyncio.sleep(lab.t(2.0))
    caller = await lab.inbound("8802", "01050010020")
    assert await caller.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    await p12.bye(b)
    await asyncio.sleep(lab.t(1.0))
    await p11.bye(a)
    await asyncio.sleep(0.5)
    return [call(cid, caller=who, dialed="8802", direction=direction, outcome="conference",
                 start=invite(dlg), end=hangup_time(dlg), offers=[])
            for cid, who, direction, dlg in (("6811", "6811", "internal", a), ("6812", "6812", "internal", b),
                                             ("caller", "01050010020", "inbound", caller))]


# ---------------------------------------------------------------- transfers
@scenario("l_atxfer_queue", "01050010021 -> 6831 answers, holds, consults queue main (6834 answers), "
                       "transfers (REFER/Replaces)")
async def atxfer_queue(lab: Lab) -> list[dict[str, Any]]:
    p31 = await lab.ua("6831")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    phones = await queue_members(lab, "6834", lab.ring(2.5))
    caller = await lab.inbound("6831", "01050010021")
    assert await caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    await p31.hold(leg)
    held = first(leg, "tx_reINVITE")
    consult = await p31.call("6800")
    agent = await lab.incoming(phones["6834"])
    await lab.until(lambda: first(agent, "tx_200") is not None, 15, "6834 answering")
    await asyncio.sleep(lab.t(2.0))
    await p31.refer(leg, replaces_dlg=consult)
    referred = first(leg, "tx_REFER")
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    assert held is not None and referred is not None
    offers = [offer("6831", leg)] + [dict(offer(ext, lab.uas(ua)), caller_answered_at=answered(agent))
                                     for ext, ua in phones.items()]
    return [call("atxfer", caller="01050010021", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, agent), answered_by="6831", answered_at=answered(leg),
                 offers=offers, holds=[{"by": "6831", "start": held, "seconds": round(referred - held, 3)}],
                 transfers=[{"kind": "attended", "by": "6831", "to": "6834", "answered_by": "6834",
                             "target_ring_seconds": offers[1]["ring_seconds"]}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("hold", held, referred)])]


@scenario("l_xfer_voicemail", "01050010022 -> 6831 answers and transfers the caller to 6832's voicemail "
                       "(*6832); a message")
async def xfer_voicemail(lab: Lab) -> list[dict[str, Any]]:
    p31 = await lab.ua("6831")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    caller = await lab.inbound("6831", "01050010022")
    assert await caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    await p31.refer(leg, target_user="*6832")
    moved = first(leg, "tx_REFER")
    assert moved is not None
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    return [call("xfer", caller="01050010022", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller), answered_by="6831", answered_at=answered(leg),
                 offers=[offer("6831", leg)],
                 transfers=[{"kind": "voicemail", "by": "6831", "to": "*6832", "answered_by": None,
                             "target_ring_seconds": None}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("transfer", moved, moved)])]


@scenario("l_xfer_abandon", "01050010023 -> 6831 answers, blind-transfers to 6841, which rings; the caller "
                       "hangs up after 4.5 s")
async def xfer_abandon(lab: Lab) -> list[dict[str, Any]]:
    p31, p41 = await lab.ua("6831"), await lab.ua("6841")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    p41.incoming_policy = lab.sp.ring_forever()
    caller = await lab.inbound("6831", "01050010023")
    assert await caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    await p31.refer(leg, target_user="6841")
    moved = first(leg, "tx_REFER")
    target = await lab.incoming(p41)
    await asyncio.sleep(lab.ring(4.5))
    await (await lab.ua("pstn")).bye(caller)
    await asyncio.sleep(0.6)
    gone = first(caller, "tx_BYE")
    assert moved is not None and gone is not None
    return [call("xfer", caller="01050010023", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, target), answered_by="6831", answered_at=answered(leg),
                 offers=[offer("6831", leg), dict(offer("6841", target), caller_answered_at=None)],
                 transfers=[{"kind": "blind", "by": "6831", "to": "6841", "answered_by": None,
                             "target_ring_seconds": offer("6841", target)["ring_seconds"]}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("transfer", moved, gone)])]


# ---------------------------------------------------------------- call waiting
@scenario("l_call_waiting", "01050010024 talks with 6831; 01050010025 calls 6831 meanwhile: it rings 4.5 s, "
                       "then gives up")
async def call_waiting(lab: Lab) -> list[dict[str, Any]]:
    p31 = await lab.ua("6831")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0)), lab.sp.ring_forever()]
    first_caller = await lab.inbound("6831", "01050010024")
    assert await first_caller.answered
    leg = lab.uas(p31)
    await asyncio.sleep(lab.t(2.0))
    second = await lab.inbound("6831", "01050010025")
    waiting = await lab.incoming(p31, count=2)
    await asyncio.sleep(lab.ring(4.5))
    trunk = await lab.ua("pstn")
    await trunk.cancel(second)
    await asyncio.sleep(lab.t(2.0))
    await trunk.bye(first_caller)
    await asyncio.sleep(0.6)
    gave_up = first(second, "tx_CANCEL")
    assert gave_up is not None
    return [
        call("first", caller="01050010024", dialed="6831", direction="inbound", outcome="answered",
             start=invite(first_caller), end=hangup_time(first_caller), answered_by="6831",
             answered_at=answered(leg), offers=[offer("6831", leg)],
             waits=[wait("ringing", invite(first_caller), answered(leg))]),
        call("second", caller="01050010025", dialed="6831", direction="inbound", outcome="abandoned",
             start=invite(second), end=hangup_time(second), offers=[offer("6831", waiting)],
             waits=[wait("ringing", invite(second), gave_up)]),
    ]

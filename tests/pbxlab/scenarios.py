"""Every office feature telmon must follow, driven on the real PBX with scripted SIP phones.

Each scenario places real calls on the lab PBX and returns its ground truth: the
calls as the phones' own clocks saw them (``truth.py``). ``Lab.ring``/``Lab.t``
give the nominal timings for the committed captures and fresh ones for the live
tests, so the tracker is checked on Asterisk's behaviour, not on one recording.
Caller numbers are distinct per call so a record is found by caller and dialled number.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from .lab import Lab
from .truth import call, first, hangup_time, met, offer, picked_offer, wait

Scenario = Callable[[Lab], Awaitable[list[dict[str, Any]]]]
SCENARIOS: dict[str, tuple[str, Scenario]] = {}


def scenario(name: str, description: str) -> Callable[[Scenario], Scenario]:
    """Register a scenario under its capture name."""
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = (description, fn)
        return fn
    return register


def invite(dlg: Any) -> float:
    """When a calling phone sent its INVITE."""
    t = first(dlg, "tx_INVITE")
    assert t is not None
    return t


def answered(dlg: Any) -> float:
    """When a called phone answered (sent 200) or a calling phone heard the answer (got 200)."""
    t = first(dlg, "tx_200", "rx_200")
    assert t is not None, "the call was never answered"
    return t


async def _talk_then_caller_hangs_up(lab: Lab, caller: Any, seconds: float) -> None:
    await asyncio.sleep(lab.t(seconds))
    await (await lab.ua("pstn")).bye(caller)
    await asyncio.sleep(0.6)


# ---------------------------------------------------------------- pickup
@scenario("l_pickup_group", "01050010001 -> 6831 rings ~4 s; 6832 (same pickup group) dials *8; talk; caller hangs up")
async def pickup_group(lab: Lab) -> list[dict[str, Any]]:
    p31, p32 = await lab.ua("6831"), await lab.ua("6832")
    p31.incoming_policy = lab.sp.ring_forever()
    caller = await lab.inbound("6831", "01050010001")
    rung = await lab.incoming(p31)
    await asyncio.sleep(lab.ring(4.0))
    pick = await p32.call("*8")
    await pick.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    at = answered(pick)
    return [call("pickup", caller="01050010001", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, pick), answered_by="6832", answered_at=at,
                 offers=[offer("6831", rung), picked_offer("6832", rung, at)],
                 waits=[wait("ringing", invite(caller), at)])]


@scenario("l_pickup_directed", "01050010002 -> 6833 rings ~7 s (3rd ring); 6834 dials **6833; talk; caller hangs up")
async def pickup_directed(lab: Lab) -> list[dict[str, Any]]:
    p33, p34 = await lab.ua("6833"), await lab.ua("6834")
    p33.incoming_policy = lab.sp.ring_forever()
    caller = await lab.inbound("6833", "01050010002")
    rung = await lab.incoming(p33)
    await asyncio.sleep(lab.ring(7.0))
    pick = await p34.call("**6833")
    await pick.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    at = answered(pick)
    return [call("pickup", caller="01050010002", dialed="6833", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, pick), answered_by="6834", answered_at=at,
                 offers=[offer("6833", rung), picked_offer("6834", rung, at)],
                 waits=[wait("ringing", invite(caller), at)])]


# ---------------------------------------------------------------- voicemail
async def _to_voicemail(lab: Lab, ext: str, number: str, policy: Any, message: float,
                        ring_limit: str = "") -> list[dict[str, Any]]:
    phone = await lab.ua(ext)
    phone.incoming_policy = policy
    lab.db("VM", ext, "1")
    if ring_limit:
        lab.db("RING", ext, ring_limit)
    caller = await lab.inbound(ext, number)
    rung = await lab.incoming(phone)
    assert await caller.answered, "voicemail did not answer"
    await _talk_then_caller_hangs_up(lab, caller, message)
    vm_at = first(caller, "rx_200")
    assert vm_at is not None
    return [call("vm", caller=number, dialed=ext, direction="inbound", outcome="voicemail",
                 start=invite(caller), end=hangup_time(caller), offers=[offer(ext, rung)],
                 waits=[wait("ringing", invite(caller), vm_at)])]


@scenario("l_vm_noanswer", "01050010003 -> 6851 rings 10 s unanswered -> voicemail; the caller leaves a 4 s message")
async def vm_noanswer(lab: Lab) -> list[dict[str, Any]]:
    seconds = lab.ring(10.0)
    return await _to_voicemail(lab, "6851", "01050010003", lab.sp.ring_forever(), 4.0, f"{seconds:.1f}")


@scenario("l_vm_dnd", "01050010004 -> 6852 on do-not-disturb (486 at once) -> voicemail; a 3 s message")
async def vm_dnd(lab: Lab) -> list[dict[str, Any]]:
    return await _to_voicemail(lab, "6852", "01050010004", lab.sp.reject_after(0, 486, ring=False), 3.0)


@scenario("l_vm_hangup", "01050010005 -> 6853 rings 4 s -> voicemail; the caller hangs up during the greeting")
async def vm_hangup(lab: Lab) -> list[dict[str, Any]]:
    seconds = lab.ring(4.0)
    return await _to_voicemail(lab, "6853", "01050010005", lab.sp.ring_forever(), 0.3, f"{seconds:.1f}")


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


@scenario("l_park_colleague", "01050010006 -> 6831 answers, parks on 701; 6832 retrieves it 8 s later; talk")
async def park_colleague(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010006")
    await asyncio.sleep(lab.t(8.0))
    p32 = await lab.ua("6832")
    retrieve = await p32.call("701")
    assert await retrieve.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(retrieve)
    return [call("park", caller="01050010006", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, retrieve), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg), met("6832", got)],
                 transfers=[{"kind": "park", "by": "6831", "to": "701", "answered_by": "6832",
                             "target_ring_seconds": 0.0}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, got)])]


@scenario("l_park_self", "01050010007 -> 6831 answers, parks on 701 and takes it back itself 5 s later")
async def park_self(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010007")
    await asyncio.sleep(lab.t(5.0))
    retrieve = await p31.call("701")
    assert await retrieve.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(retrieve)
    return [call("park", caller="01050010007", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, retrieve), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg), met("6831", got)],
                 transfers=[{"kind": "park", "by": "6831", "to": "701", "answered_by": "6831",
                             "target_ring_seconds": 0.0}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, got)])]


@scenario("l_park_timeout", "01050010008 -> 6831 answers, parks; nobody retrieves; after 20 s it rings 6831 again, who answers")
async def park_timeout(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010008")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    back = await lab.incoming(p31, count=2, timeout=40)
    await lab.until(lambda: first(back, "tx_200") is not None, 15, "6831 answering the parked call")
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(back)
    target = offer("6831", back)
    target["caller_answered_at"] = got
    return [call("park", caller="01050010008", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, back), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg), target],
                 transfers=[{"kind": "park", "by": "6831", "to": "701", "answered_by": "6831",
                             "target_ring_seconds": target["ring_seconds"]}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, got)])]


@scenario("l_park_abandon", "01050010009 -> 6831 answers, parks; the caller hangs up after 6 s on park")
async def park_abandon(lab: Lab) -> list[dict[str, Any]]:
    caller, p31, leg, parked = await _answer_and_park(lab, "01050010009")
    await _talk_then_caller_hangs_up(lab, caller, 6.0)
    gone = first(caller, "tx_BYE")
    assert gone is not None
    return [call("park", caller="01050010009", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller), answered_by="6831",
                 answered_at=answered(leg), offers=[offer("6831", leg)],
                 transfers=[{"kind": "park", "by": "6831", "to": "701", "answered_by": None,
                             "target_ring_seconds": None}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("park", parked, gone)])]


# ---------------------------------------------------------------- IVR
async def _queue_members(lab: Lab, answering: str, ring: float) -> dict[str, Any]:
    """Queue main's members: ``answering`` picks up after ``ring`` s, the others ring until cancelled."""
    phones = {ext: await lab.ua(ext) for ext in ("6834", "6835", "6836")}
    for ext, ua in phones.items():
        ua.incoming_queue = [lab.sp.answer_after(ring) if ext == answering else lab.sp.ring_forever()]
    return phones


@scenario("l_ivr_queue", "01050010010 -> IVR 6870, presses 1 after ~2.5 s -> queue main; 6835 answers at 3.5 s")
async def ivr_queue(lab: Lab) -> list[dict[str, Any]]:
    phones = await _queue_members(lab, "6835", lab.ring(3.5))
    caller = await lab.inbound("6870", "01050010010")
    assert await caller.answered
    await asyncio.sleep(lab.t(2.5))
    trunk = await lab.ua("pstn")
    await trunk.info_dtmf(caller, "1")
    pressed = first(caller, "tx_INFO")
    assert pressed is not None
    agent = await lab.incoming(phones["6835"])
    await lab.until(lambda: first(agent, "tx_200") is not None, 15, "6835 answering")
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(agent)
    offers = [offer(ext, lab.uas(ua)) for ext, ua in phones.items()]
    return [call("ivr", caller="01050010010", dialed="6870", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, agent), answered_by="6835", answered_at=got,
                 offers=offers, queue={"name": "main", "joined_at": pressed, "wait_seconds": round(got - pressed, 3)},
                 waits=[wait("queue", invite(caller), got)])]


@scenario("l_ivr_timeout", "01050010011 -> IVR 6870, presses nothing -> queue main after the menu times out; 6836 answers")
async def ivr_timeout(lab: Lab) -> list[dict[str, Any]]:
    phones = await _queue_members(lab, "6836", lab.ring(2.0))
    caller = await lab.inbound("6870", "01050010011")
    assert await caller.answered
    agent = await lab.incoming(phones["6836"], timeout=20)
    await lab.until(lambda: first(agent, "tx_200") is not None, 15, "6836 answering")
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(agent)
    offers = [offer(ext, lab.uas(ua)) for ext, ua in phones.items()]
    return [call("ivr", caller="01050010011", dialed="6870", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, agent), answered_by="6836", answered_at=got,
                 offers=offers, queue={"name": "main", "joined_at": None, "wait_seconds": None},
                 waits=[wait("queue", invite(caller), got)])]


@scenario("l_ivr_desk", "01050010012 -> IVR 6871, presses 2 -> 6833 rings 3.5 s and answers")
async def ivr_desk(lab: Lab) -> list[dict[str, Any]]:
    p33 = await lab.ua("6833")
    p33.incoming_policy = lab.sp.answer_after(lab.ring(3.5))
    caller = await lab.inbound("6871", "01050010012")
    assert await caller.answered
    await asyncio.sleep(lab.t(2.0))
    await (await lab.ua("pstn")).info_dtmf(caller, "2")
    desk = await lab.incoming(p33)
    await lab.until(lambda: first(desk, "tx_200") is not None, 15, "6833 answering")
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(desk)
    return [call("ivr", caller="01050010012", dialed="6871", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6833", answered_at=got,
                 offers=[offer("6833", desk)], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_ivr_abandon", "01050010013 -> IVR 6870; the caller hangs up in the menu after 2.5 s")
async def ivr_abandon(lab: Lab) -> list[dict[str, Any]]:
    caller = await lab.inbound("6870", "01050010013")
    assert await caller.answered
    await _talk_then_caller_hangs_up(lab, caller, 2.5)
    gone = first(caller, "tx_BYE")
    assert gone is not None
    return [call("ivr", caller="01050010013", dialed="6870", direction="inbound", outcome="abandoned",
                 start=invite(caller), end=hangup_time(caller), offers=[],
                 waits=[wait("ivr", invite(caller), gone)])]


# ---------------------------------------------------------------- call forwarding
@scenario("l_cf_unconditional", "01050010014 -> 6812 forwarded always (CFU) to 6813, which rings 2.5 s and answers")
async def cf_unconditional(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFU", "6812", "6813")
    p13 = await lab.ua("6813")
    p13.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6812", "01050010014")
    assert await caller.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    desk = lab.uas(p13)
    got = answered(desk)
    return [call("cf", caller="01050010014", dialed="6812", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6813", answered_at=got,
                 offers=[offer("6813", desk)], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_busy", "01050010015 -> 6814 busy (486 at once), forwarded on busy (CFB) to 6815, which answers at 2.5 s")
async def cf_busy(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFB", "6814", "6815")
    p14, p15 = await lab.ua("6814"), await lab.ua("6815")
    p14.incoming_policy = lab.sp.reject_after(0, 486, ring=False)
    p15.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6814", "01050010015")
    assert await caller.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    desk = lab.uas(p15)
    got = answered(desk)
    return [call("cf", caller="01050010015", dialed="6814", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6815", answered_at=got,
                 offers=[offer("6814", lab.uas(p14)), offer("6815", desk)],
                 waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_noanswer", "01050010016 -> 6842 rings 7 s (3rd ring), forwarded on no answer (CFNA) to 6843, answers at 2.5 s")
async def cf_noanswer(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFNA", "6842", "6843")
    lab.db("RING", "6842", f"{lab.ring(7.0):.1f}")
    p42, p43 = await lab.ua("6842"), await lab.ua("6843")
    p42.incoming_policy = lab.sp.ring_forever()
    p43.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6842", "01050010016")
    assert await caller.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    desk = lab.uas(p43)
    got = answered(desk)
    return [call("cf", caller="01050010016", dialed="6842", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6843", answered_at=got,
                 offers=[offer("6842", lab.uas(p42)), offer("6843", desk)],
                 waits=[wait("ringing", invite(caller), got)])]


async def _forward_outside(lab: Lab, family: str, ext: str, number: str, mobile: str,
                           desk_policy: Any) -> list[dict[str, Any]]:
    lab.db(family, ext, "9" + mobile)
    lab.db("RING", ext, f"{lab.ring(5.0):.1f}")
    desk_ua, trunk = await lab.ua(ext), await lab.ua("pstn")
    desk_ua.incoming_policy = desk_policy
    trunk.incoming_policy = lab.sp.answer_after(lab.ring(3.5))
    caller = await lab.inbound(ext, number)
    assert await caller.answered
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    mobile_leg = lab.uas(trunk)
    got = answered(mobile_leg)
    outside = offer(mobile, mobile_leg)
    outside["outside"] = True
    desk = [offer(ext, lab.uas(desk_ua))] if desk_ua.all_dialogs else []
    return [call("cf", caller=number, dialed=ext, direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, mobile_leg), answered_by=mobile, answered_at=got,
                 offers=desk + [outside], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_noanswer_mobile", "01050010017 -> 6841 rings 5 s, forwarded on no answer to the mobile 01099998888 (trunk)")
async def cf_noanswer_mobile(lab: Lab) -> list[dict[str, Any]]:
    return await _forward_outside(lab, "CFNA", "6841", "01050010017", "01099998888", lab.sp.ring_forever())


@scenario("l_cf_always_mobile", "01050010018 -> 6844 forwarded always to the mobile 01077776666 (trunk)")
async def cf_always_mobile(lab: Lab) -> list[dict[str, Any]]:
    return await _forward_outside(lab, "CFU", "6844", "01050010018", "01077776666", lab.sp.ring_forever())


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
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
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
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    await p12.bye(b)
    await asyncio.sleep(lab.t(1.0))
    await p11.bye(a)
    await asyncio.sleep(0.5)
    return [call(cid, caller=who, dialed="8802", direction=direction, outcome="conference",
                 start=invite(dlg), end=hangup_time(dlg), offers=[])
            for cid, who, direction, dlg in (("6811", "6811", "internal", a), ("6812", "6812", "internal", b),
                                             ("caller", "01050010020", "inbound", caller))]


# ---------------------------------------------------------------- transfers
@scenario("l_atxfer_queue", "01050010021 -> 6831 answers, holds, consults queue main (6834 answers), transfers (REFER/Replaces)")
async def atxfer_queue(lab: Lab) -> list[dict[str, Any]]:
    p31 = await lab.ua("6831")
    p31.incoming_queue = [lab.sp.answer_after(lab.ring(2.0))]
    phones = await _queue_members(lab, "6834", lab.ring(2.5))
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
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    assert held is not None and referred is not None
    offers = [offer("6831", leg)] + [dict(offer(ext, lab.uas(ua)), caller_answered_at=answered(agent))
                                     for ext, ua in phones.items()]
    return [call("atxfer", caller="01050010021", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, agent), answered_by="6831", answered_at=answered(leg),
                 offers=offers, holds=[{"by": "6831", "start": held, "seconds": round(referred - held, 3)}],
                 transfers=[{"kind": "attended", "by": "6831", "to": "6834", "answered_by": "6834",
                             "target_ring_seconds": offers[1]["ring_seconds"]}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("hold", held, referred)])]


@scenario("l_xfer_voicemail", "01050010022 -> 6831 answers and transfers the caller to 6832's voicemail (*6832); a message")
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
    await _talk_then_caller_hangs_up(lab, caller, 3.0)
    return [call("xfer", caller="01050010022", dialed="6831", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller), answered_by="6831", answered_at=answered(leg),
                 offers=[offer("6831", leg)],
                 transfers=[{"kind": "voicemail", "by": "6831", "to": "6832", "answered_by": None,
                             "target_ring_seconds": None}],
                 waits=[wait("ringing", invite(caller), answered(leg)), wait("transfer", moved, moved)])]


@scenario("l_xfer_abandon", "01050010023 -> 6831 answers, blind-transfers to 6841, which rings; the caller hangs up after 4.5 s")
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
@scenario("l_call_waiting", "01050010024 talks with 6831; 01050010025 calls 6831 meanwhile: it rings 4.5 s, then gives up")
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

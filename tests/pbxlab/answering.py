"""Scenarios where the call is answered (or not) in an office way: pickup, voicemail, IVR, forwarding."""
from __future__ import annotations

import asyncio
from typing import Any

from .lab import Lab
from .steps import answered, invite, queue_members, scenario, talk_then_caller_hangs_up
from .truth import call, first, hangup_time, offer, picked_offer, wait


# ---------------------------------------------------------------- pickup
async def _picked_up(lab: Lab, number: str, rung_ext: str, picker_ext: str, code: str,
                     ring: float) -> list[dict[str, Any]]:
    """A carrier call ringing ``rung_ext`` that ``picker_ext`` takes by dialling ``code`` after ``ring`` s."""
    rung_ua, picker = await lab.ua(rung_ext), await lab.ua(picker_ext)
    rung_ua.incoming_policy = lab.sp.ring_forever()
    caller = await lab.inbound(rung_ext, number)
    rung = await lab.incoming(rung_ua)
    await asyncio.sleep(lab.ring(ring))
    pick = await picker.call(code)
    await pick.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    at = answered(pick)
    return [call("pickup", caller=number, dialed=rung_ext, direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, pick), answered_by=picker_ext, answered_at=at,
                 offers=[offer(rung_ext, rung), picked_offer(picker_ext, rung, at)],
                 waits=[wait("ringing", invite(caller), at)])]


@scenario("l_pickup_group", "01050010001 -> 6831 rings ~4 s; 6832 (same pickup group) dials *8; talk; caller hangs up")
async def pickup_group(lab: Lab) -> list[dict[str, Any]]:
    return await _picked_up(lab, "01050010001", "6831", "6832", "*8", 4.0)


@scenario("l_pickup_directed", "01050010002 -> 6833 rings ~7 s (3rd ring); 6834 dials **6833; talk; caller hangs up")
async def pickup_directed(lab: Lab) -> list[dict[str, Any]]:
    return await _picked_up(lab, "01050010002", "6833", "6834", "**6833", 7.0)


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
    await talk_then_caller_hangs_up(lab, caller, message)
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


# ---------------------------------------------------------------- IVR
@scenario("l_ivr_queue", "01050010010 -> IVR 6870, presses 1 after ~2.5 s -> queue main; 6835 answers at 3.5 s")
async def ivr_queue(lab: Lab) -> list[dict[str, Any]]:
    phones = await queue_members(lab, "6835", lab.ring(3.5))
    caller = await lab.inbound("6870", "01050010010")
    assert await caller.answered
    await asyncio.sleep(lab.t(2.5))
    trunk = await lab.ua("pstn")
    await trunk.info_dtmf(caller, "1")
    pressed = first(caller, "tx_INFO")
    assert pressed is not None
    agent = await lab.incoming(phones["6835"])
    await lab.until(lambda: first(agent, "tx_200") is not None, 15, "6835 answering")
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(agent)
    offers = [offer(ext, lab.uas(ua)) for ext, ua in phones.items()]
    return [call("ivr", caller="01050010010", dialed="6870", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, agent), answered_by="6835", answered_at=got,
                 offers=offers, queue={"name": "main", "joined_at": pressed, "wait_seconds": round(got - pressed, 3)},
                 waits=[wait("queue", invite(caller), got)])]


@scenario("l_ivr_timeout", "01050010011 -> IVR 6870, presses nothing -> queue main after the menu times "
                       "out; 6836 answers")
async def ivr_timeout(lab: Lab) -> list[dict[str, Any]]:
    phones = await queue_members(lab, "6836", lab.ring(2.0))
    caller = await lab.inbound("6870", "01050010011")
    assert await caller.answered
    agent = await lab.incoming(phones["6836"], timeout=20)
    await lab.until(lambda: first(agent, "tx_200") is not None, 15, "6836 answering")
    await talk_then_caller_hangs_up(lab, caller, 3.0)
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
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    got = answered(desk)
    return [call("ivr", caller="01050010012", dialed="6871", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6833", answered_at=got,
                 offers=[offer("6833", desk)], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_ivr_abandon", "01050010013 -> IVR 6870; the caller hangs up in the menu after 2.5 s")
async def ivr_abandon(lab: Lab) -> list[dict[str, Any]]:
    caller = await lab.inbound("6870", "01050010013")
    assert await caller.answered
    await talk_then_caller_hangs_up(lab, caller, 2.5)
    gone = first(caller, "tx_BYE")
    assert gone is not None
    return [call("ivr", caller="01050010013", dialed="6870", direction="inbound", outcome="abandoned",
                 start=invite(caller), end=hangup_time(caller), offers=[],
                 waits=[wait("ivr", invite(caller), gone)])]


@scenario("l_ivr_queue_abandon", "01050010026 -> IVR 6870, presses 1 -> queue main; every member rings; the caller "
                       "gives up after ~4.5 s of ringing")
async def ivr_queue_abandon(lab: Lab) -> list[dict[str, Any]]:
    phones = await queue_members(lab, "", 0.0)
    caller = await lab.inbound("6870", "01050010026")
    assert await caller.answered
    await asyncio.sleep(lab.t(2.0))
    await (await lab.ua("pstn")).info_dtmf(caller, "1")
    pressed = first(caller, "tx_INFO")
    await lab.incoming(phones["6836"])
    await asyncio.sleep(lab.ring(4.5))
    await talk_then_caller_hangs_up(lab, caller, 0.0)
    gone = first(caller, "tx_BYE")
    assert pressed is not None and gone is not None
    return [call("ivr", caller="01050010026", dialed="6870", direction="inbound", outcome="abandoned",
                 start=invite(caller), end=hangup_time(caller),
                 offers=[offer(e, lab.uas(u)) for e, u in phones.items()],
                 queue={"name": "main", "joined_at": pressed, "wait_seconds": round(gone - pressed, 3)},
                 waits=[wait("queue", invite(caller), gone)])]


# ---------------------------------------------------------------- call forwarding
@scenario("l_cf_unconditional", "01050010014 -> 6812 forwarded always (CFU) to 6813, which rings 2.5 s and answers")
async def cf_unconditional(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFU", "6812", "6813")
    p13 = await lab.ua("6813")
    p13.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6812", "01050010014")
    assert await caller.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    desk = lab.uas(p13)
    got = answered(desk)
    return [call("cf", caller="01050010014", dialed="6812", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6813", answered_at=got,
                 offers=[offer("6813", desk)], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_busy", "01050010015 -> 6814 busy (486 at once), forwarded on busy (CFB) to 6815, which "
                       "answers at 2.5 s")
async def cf_busy(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFB", "6814", "6815")
    p14, p15 = await lab.ua("6814"), await lab.ua("6815")
    p14.incoming_policy = lab.sp.reject_after(0, 486, ring=False)
    p15.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6814", "01050010015")
    assert await caller.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    desk = lab.uas(p15)
    got = answered(desk)
    return [call("cf", caller="01050010015", dialed="6814", direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, desk), answered_by="6815", answered_at=got,
                 offers=[offer("6814", lab.uas(p14)), offer("6815", desk)],
                 waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_noanswer", "01050010016 -> 6842 rings 7 s (3rd ring), forwarded on no answer (CFNA) to "
                       "6843, answers at 2.5 s")
async def cf_noanswer(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFNA", "6842", "6843")
    lab.db("RING", "6842", f"{lab.ring(7.0):.1f}")
    p42, p43 = await lab.ua("6842"), await lab.ua("6843")
    p42.incoming_policy = lab.sp.ring_forever()
    p43.incoming_policy = lab.sp.answer_after(lab.ring(2.5))
    caller = await lab.inbound("6842", "01050010016")
    assert await caller.answered
    await talk_then_caller_hangs_up(lab, caller, 3.0)
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
    await talk_then_caller_hangs_up(lab, caller, 3.0)
    mobile_leg = lab.uas(trunk)
    got = answered(mobile_leg)
    outside = offer(mobile, mobile_leg)
    outside["outside"] = True
    desk = [offer(ext, lab.uas(desk_ua))] if desk_ua.all_dialogs else []
    return [call("cf", caller=number, dialed=ext, direction="inbound", outcome="answered",
                 start=invite(caller), end=hangup_time(caller, mobile_leg), answered_by=mobile, answered_at=got,
                 offers=desk + [outside], waits=[wait("ringing", invite(caller), got)])]


@scenario("l_cf_noanswer_mobile", "01050010017 -> 6841 rings 5 s, forwarded on no answer to the mobile 01099998888 "
                       "(trunk)")
async def cf_noanswer_mobile(lab: Lab) -> list[dict[str, Any]]:
    return await _forward_outside(lab, "CFNA", "6841", "01050010017", "01099998888", lab.sp.ring_forever())


@scenario("l_cf_always_mobile", "01050010018 -> 6844 forwarded always to the mobile 01077776666 (trunk)")
async def cf_always_mobile(lab: Lab) -> list[dict[str, Any]]:
    return await _forward_outside(lab, "CFU", "6844", "01050010018", "01077776666", lab.sp.ring_forever())


@scenario("l_cf_abandon", "01050010027 -> 6845 rings ~4.5 s, forwarded on no answer to 6815, which rings; the caller "
                       "hangs up after ~3.5 s more")
async def cf_abandon(lab: Lab) -> list[dict[str, Any]]:
    lab.db("CFNA", "6845", "6815")
    lab.db("RING", "6845", f"{lab.ring(4.5):.1f}")
    p45, p15 = await lab.ua("6845"), await lab.ua("6815")
    p45.incoming_policy = p15.incoming_policy = lab.sp.ring_forever()
    caller = await lab.inbound("6845", "01050010027")
    target = await lab.incoming(p15, timeout=20)
    await asyncio.sleep(lab.ring(3.5))
    await (await lab.ua("pstn")).cancel(caller)
    await asyncio.sleep(0.6)
    gone = first(caller, "tx_CANCEL")
    assert gone is not None
    return [call("cf", caller="01050010027", dialed="6845", direction="inbound", outcome="abandoned",
                 start=invite(caller), end=hangup_time(caller, target),
                 offers=[offer("6845", lab.uas(p45)), offer("6815", target)],
                 waits=[wait("ringing", invite(caller), gone)])]

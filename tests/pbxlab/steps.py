"""The registry of lab scenarios and the steps they share (see ``scenarios.py``)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from .lab import Lab
from .truth import first

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


async def talk_then_caller_hangs_up(lab: Lab, caller: Any, seconds: float) -> None:
    await asyncio.sleep(lab.t(seconds))
    await (await lab.ua("pstn")).bye(caller)
    await asyncio.sleep(0.6)


async def queue_members(lab: Lab, answering: str, ring: float) -> dict[str, Any]:
    """Queue main's members: ``answering`` picks up after ``ring`` s, the others ring until cancelled."""
    phones = {ext: await lab.ua(ext) for ext in ("6834", "6835", "6836")}
    for ext, ua in phones.items():
        ua.incoming_queue = [lab.sp.answer_after(ring) if ext == answering else lab.sp.ring_forever()]
    return phones



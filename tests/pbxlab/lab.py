"""The lab bench a scenario runs on: the PBX, the AMI recording, the carrier and desk phones.

Phones are the kit's scripted SIP user agents (``sipphone.py``, imported from the
kit at run time: it is the kit's code, not ours). Extension N listens on UDP
5000 + N - 6700; the carrier trunk ``pstn`` on 5090.
"""
from __future__ import annotations

import asyncio
import io
import math
import random
import struct
import sys
import wave
from typing import Any, Optional

from .ami import AmiRecorder
from .kit import Pbx


def menu_prompt(seconds: float = 3.0) -> bytes:
    """An IVR menu prompt: ``seconds`` of a soft two-tone chime, 8 kHz 16-bit mono WAV."""
    rate = 8000
    frames = bytearray()
    for i in range(int(rate * seconds)):
        t = i / rate
        amp = 0.2 if (t % 1.0) < 0.6 else 0.0
        value = amp * (math.sin(2 * math.pi * 523 * t) + math.sin(2 * math.pi * 659 * t)) / 2
        frames += struct.pack("<h", int(value * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


SOUNDS = {"telmon-menu.wav": menu_prompt()}


class Lab:
    """One scenario's bench; ``vary`` draws new timings (live tests) instead of the nominal ones."""

    def __init__(self, pbx: Pbx, ami: AmiRecorder, vary: bool = False, seed: Optional[int] = None) -> None:
        sys.path.insert(0, str(pbx.kit))
        import sipphone  # noqa: E402  (the kit's phone, found only at run time)
        self.sp: Any = sipphone
        self.pbx = pbx
        self.ami = ami
        self.vary = vary
        self.rng = random.Random(seed)
        self._uas: dict[str, Any] = {}

    async def ua(self, ext: str) -> Any:
        """The desk phone of ``ext`` (``pstn`` = the carrier), started on first use."""
        if ext not in self._uas:
            port = 5090 if ext == "pstn" else 5000 + int(ext) - 6700
            self._uas[ext] = await self.sp.UA(ext, port).start()
        return self._uas[ext]

    def t(self, nominal: float) -> float:
        """A duration: the nominal one, or drawn around it (0.8-1.3x) when varying."""
        return nominal * self.rng.uniform(0.8, 1.3) if self.vary else nominal

    def ring(self, nominal: float) -> float:
        """A ringing time that keeps its ring count: never within 0.6 s of a ring boundary (3 s steps)."""
        value = self.t(nominal)
        rings_at = math.floor(nominal / 3.0)
        low, high = rings_at * 3.0 + 0.6, rings_at * 3.0 + 2.4
        return min(max(value, low), high)

    async def inbound(self, dialed: str, caller: str) -> Any:
        """A carrier call from ``caller`` to the DID ``dialed``: the caller's Dialog."""
        trunk = await self.ua("pstn")
        return await trunk.call(dialed, extra_headers=["X-Lab-Trunk: pstn"], caller_num=caller, caller_name="Customer")

    def uas(self, ua: Any, index: int = -1) -> Any:
        """An incoming Dialog of a phone (the latest by default)."""
        dialogs = [d for d in ua.all_dialogs if d.role == "uas"]
        return dialogs[index]

    async def until(self, cond: Any, timeout: float = 30.0, what: str = "condition") -> None:
        """Wait until ``cond()`` is true (polling every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def incoming(self, ua: Any, count: int = 1, timeout: float = 30.0) -> Any:
        """Wait until ``ua`` has received ``count`` calls; the latest."""
        await self.until(lambda: len([d for d in ua.all_dialogs if d.role == "uas"]) >= count, timeout,
                         f"call {count} to {ua.user}")
        return self.uas(ua)

    def db(self, family: str, key: str, value: str) -> None:
        """Set a per-extension feature in AstDB (forwarding, ring time, voicemail)."""
        self.pbx.cli(f"database put {family} {key} {value}")

    def db_clear(self) -> None:
        """Forget every per-extension feature (each scenario starts from a plain office)."""
        for family in ("CFU", "CFB", "CFNA", "RING", "VM"):
            self.pbx.cli(f"database deltree {family}")

    async def close(self) -> None:
        """Stop every phone (their sockets) after the scenario."""
        for ua in self._uas.values():
            for dlg in ua.all_dialogs:
                if dlg.rtp is not None:
                    dlg.rtp.close()
            transport = getattr(ua, "transport", None)
            if transport is not None:
                transport.close()
        self._uas.clear()
        await asyncio.sleep(0.1)

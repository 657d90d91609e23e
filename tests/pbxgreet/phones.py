"""The kit's SIP phone playing real speech, in u-law and (a small subclass) in G.722.

``sipphone`` comes from the kit folder (it is not part of telmon). The speech is read
from ``../shared/speech/real`` at test time and never copied anywhere. G.722, as the
kit's README describes: offer payload type 9 first in the SDP, and send 160 bytes of
G.722 (20 ms at 64 kbit/s) per packet, encoded with the PyPI package ``g722``.
"""
from __future__ import annotations

import array
import asyncio
import importlib
import sys
import time
import wave
from pathlib import Path
from types import ModuleType
from typing import Any


def load_sipphone(kit: Path) -> ModuleType:
    """The kit's sipphone module."""
    if str(kit) not in sys.path:
        sys.path.insert(0, str(kit))
    return importlib.import_module("sipphone")


def ulaw_of(sp: ModuleType, wav: Path) -> bytes:
    """An 8 kHz corpus file as the u-law a phone sends."""
    return sp.wav_to_ulaw(str(wav))


def g722_of(wav: Path) -> bytes:
    """A 16 kHz corpus file as G.722 (64 kbit/s): 160 bytes per 20 ms."""
    import G722
    with wave.open(str(wav), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
            raise ValueError(f"{wav}: need 16 kHz mono 16-bit")
        pcm = array.array("h", w.readframes(w.getnframes()))
    pcm.extend([0] * (-len(pcm) % 320))
    return bytes(G722.G722(16000, 64000).encode(pcm))


def g722_phone_class(sp: ModuleType) -> Any:
    """A sipphone.UA that offers and sends G.722 (payload type 9)."""

    class G722Stream(sp.RtpStream):  # type: ignore[name-defined,misc]
        async def send_pcmu(self, payload: bytes, loop_forever: bool = False) -> None:
            # Same pacing as the kit's u-law sender; payload type 9, G.722 silence (0xfa) as filler.
            pos, n, marker, start = 0, 0, True, time.monotonic()
            while True:
                if pos >= len(payload):
                    if not loop_forever:
                        return
                    pos = 0
                chunk = payload[pos:pos + 160].ljust(160, b"\xfa")
                pos += 160
                if self.remote and self.transport:
                    hdr = bytes([0x80, (0x80 if marker else 0) | 9]) + self.seq.to_bytes(2, "big") + \
                        self.ts.to_bytes(4, "big") + self.ssrc.to_bytes(4, "big")
                    self.transport.sendto(hdr + chunk, self.remote)
                    marker = False
                self.seq = (self.seq + 1) & 0xFFFF
                self.ts = (self.ts + 160) & 0xFFFFFFFF       # G.722's RTP clock is 8000 Hz
                n += 1
                delay = start + n * 0.02 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

        def start_audio(self, payload: bytes = b"") -> None:
            if self.send_task:
                self.send_task.cancel()

            async def run() -> None:
                if payload:
                    await self.send_pcmu(payload)
                await self.send_pcmu(b"\xfa" * 160, loop_forever=True)
            self.send_task = asyncio.get_running_loop().create_task(run())

    class G722Phone(sp.UA):  # type: ignore[name-defined,misc]
        def sdp(self, dlg: Any, direction: str = "sendrecv") -> str:
            dlg.sdp_version += 1
            sid = abs(hash(dlg.call_id)) % 10**9
            return ("v=0\r\n"
                    f"o=- {sid} {dlg.sdp_version} IN IP4 {sp.LOCAL_IP}\r\n"
                    "s=LabPhone\r\n"
                    f"c=IN IP4 {sp.LOCAL_IP}\r\n"
                    "t=0 0\r\n"
                    f"m=audio {dlg.rtp.port} RTP/AVP 9 101\r\n"
                    "a=rtpmap:9 G722/8000\r\n"
                    "a=rtpmap:101 telephone-event/8000\r\n"
                    "a=fmtp:101 0-16\r\n"
                    "a=ptime:20\r\n"
                    f"a={direction}\r\n")

        async def new_rtp(self) -> Any:
            loop = asyncio.get_running_loop()
            rtp = G722Stream()
            await loop.create_datagram_endpoint(lambda: rtp, local_addr=(sp.LOCAL_IP, 0))
            rtp.port = rtp.transport.get_extra_info("sockname")[1]
            return rtp

    return G722Phone

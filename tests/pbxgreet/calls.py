"""The office under test: the directory of stand-ins, the running PBX and telmon, phones that speak."""
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from pbxgreet.phones import g722_phone_class, ulaw_of
from pbxgreet.telmon_proc import Telmon
from pbxlab.kit import Pbx

CUSTOMER = "01012345678"
# extension -> the utterance its phone plays (a true greeting for its stand-in department and name).
VOICE = {"6831": "t0244", "6852": "t0256", "6835": "t0372", "6842": "t0216", "6833": "t0284",
         "6841": "t0432", "6811": "t0212", "6832": "t0228"}
RINGING = ("6834", "6836", "6843", "6851", "6853")      # members that ring but never answer


def write_directory(path: Path, trials: dict) -> Path:
    """One department per answering extension: the utterance's stand-in department and name."""
    lines = ["departments:"]
    for ext, trial in VOICE.items():
        lines += [f'  - name: "{trials[trial]["exp_dept"]}"', f'    extensions: ["{ext}"]']
    lines.append("people:")
    for ext, trial in VOICE.items():
        t = trials[trial]
        lines.append(f'  - {{extension: "{ext}", name: "{t["exp_name"]}", department: "{t["exp_dept"]}"}}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Office:
    """The running PBX, telmon, the kit's sipphone module, the corpus and its trials."""

    pbx: Pbx
    telmon: Telmon
    sp: Any
    real: Path
    trials: dict

    def known(self) -> set[str]:
        return {c["linkedid"] for c in self.telmon.calls()}

    def voice(self, ext: str) -> bytes:
        return ulaw_of(self.sp, self.real / "nb8k" / f"{self.trials[VOICE[ext]]['id']}.wav")

    def spool_files(self) -> list[str]:
        return sorted(p.name for p in self.telmon.spool.iterdir())

    def wait_spool_empty(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.spool_files() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.spool_files() == [], "recordings or jobs left in the spool"


@asynccontextmanager
async def phones(office: Office, answering: dict[str, Any], g722: tuple[str, ...] = ()) -> AsyncIterator[dict]:
    """The trunk, the answering phones (ring 1 s, then play their voice) and the members that only ring."""
    sp = office.sp
    uas = {"pstn": await sp.UA("pstn", 5090).start()}
    for ext, policy in answering.items():
        cls = g722_phone_class(sp) if ext in g722 else sp.UA
        uas[ext] = await cls(ext, 5000 + int(ext) - 6700).start()
        uas[ext].incoming_policy = policy
    for ext in RINGING:
        if ext not in uas:
            uas[ext] = await sp.UA(ext, 5000 + int(ext) - 6700).start()
            uas[ext].incoming_policy = sp.ring_forever()
    try:
        yield uas
    finally:
        await asyncio.sleep(0.3)
        for ua in uas.values():
            for dlg in ua.all_dialogs:
                if dlg.rtp:
                    dlg.rtp.close()
            ua.transport.close()
        await asyncio.sleep(0.1)       # the sockets close on the next loop iterations


def speak(office: Office, ext: str) -> Any:
    """Ring 1 s, answer, play the extension's utterance."""
    return office.sp.answer_after(1.0, audio=office.voice(ext))


async def inbound(office: Office, target: str, answering: dict[str, Any], talk: float = 7.0,
                  g722: tuple[str, ...] = ()) -> None:
    """A customer calls ``target`` through the trunk, talks, hangs up."""
    async with phones(office, answering, g722) as uas:
        dlg = await uas["pstn"].call(target, extra_headers=["X-Lab-Trunk: pstn"], caller_num=CUSTOMER)
        assert await asyncio.wait_for(dlg.answered, 15), f"call to {target} not answered"
        await asyncio.sleep(talk)
        await uas["pstn"].bye(dlg)



"""Real CEL from the lab PBX: calls placed with cel_custom on, the CSV as Asterisk writes it, and the truth.

``python -m tests.pbxlab.cel_capture OUT`` (inside its own network namespace, see
tests/pbxlab/kit.py) writes ``OUT/office.csv`` (cel_custom's Master.csv) and
``OUT/office.truth.json`` (each call as the phones saw it). The committed copy in
tests/data/cel/ is what tests/test_cel.py reads; tests/test_cel_pbx.py runs the
same calls live.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from .kit import LAB_CONF, Pbx, kit_dir
from .lab import Lab

CEL_CONF = Path(__file__).resolve().parent / "celconf"


def overlay(into: Path) -> Path:
    """The lab's configuration plus cel_custom (modules.conf, cel.conf, cel_custom.conf)."""
    into.mkdir(parents=True, exist_ok=True)
    for folder in (LAB_CONF, CEL_CONF):
        for path in folder.glob("*.conf"):
            shutil.copy(path, into / path.name)
    return into


async def place_calls(lab: Lab) -> list[dict[str, Any]]:
    """Five calls of different ends; their truth (caller, dialed, outcome, answered_by)."""
    sp = lab.sp
    trunk = await lab.ua("pstn")
    truth = []
    # 1. answered after ~2 s, 2 s of talk.
    p31 = await lab.ua("6831")
    p31.incoming_policy = sp.answer_after(2.0)
    d = await lab.inbound("6831", "01011110001")
    await d.answered
    await asyncio.sleep(2)
    await trunk.bye(d)
    truth.append({"caller": "01011110001", "dialed": "6831", "outcome": "answered", "answered_by": "6831"})
    await asyncio.sleep(0.5)
    # 2. the caller gives up while 6832 rings.
    p32 = await lab.ua("6832")
    p32.incoming_policy = sp.ring_forever()
    d = await lab.inbound("6832", "01011110002")
    await asyncio.sleep(4)
    await trunk.cancel(d)
    truth.append({"caller": "01011110002", "dialed": "6832", "outcome": "abandoned", "answered_by": None})
    await asyncio.sleep(0.5)
    # 3. busy.
    p33 = await lab.ua("6833")
    p33.incoming_policy = sp.reject_after(0, 486, ring=False)
    d = await lab.inbound("6833", "01011110003")
    await d.final
    await asyncio.sleep(1.5)
    truth.append({"caller": "01011110003", "dialed": "6833", "outcome": "busy", "answered_by": None})
    # 4. answered by 6831, then blind-transferred to 6841, who answers.
    p41 = await lab.ua("6841")
    p41.incoming_policy = sp.answer_after(2.0)
    p31.incoming_policy = sp.answer_after(1.0)
    d = await lab.inbound("6831", "01011110004")
    await d.answered
    await asyncio.sleep(1.0)
    await p31.refer(lab.uas(p31), target_user="6841")
    await asyncio.sleep(4.0)
    await trunk.bye(d)
    truth.append({"caller": "01011110004", "dialed": "6831", "outcome": "answered", "answered_by": "6831",
                  "transfers": 1})
    await asyncio.sleep(0.5)
    # 5. 6832 calls the abandoned caller back (outbound through the trunk).
    trunk.incoming_policy = sp.answer_after(1.0)
    d = await p32.call("901011110002")
    await d.answered
    await asyncio.sleep(1.0)
    await p32.bye(d)
    truth.append({"caller": "6832", "dialed": "901011110002", "outcome": "answered", "answered_by": None,
                  "direction": "outbound"})
    await asyncio.sleep(1.0)
    return truth


def capture(out: Path) -> None:
    """Start the kit with CEL on, place the calls, copy the CSV and write the truth."""
    kit = kit_dir()
    if kit is None:
        raise SystemExit("Asterisk kit not found")
    pbx = Pbx(kit, overlay=overlay(out / "conf"))
    pbx.start()
    try:
        lab = Lab(pbx, None)
        truth = asyncio.run(_run(lab))
        csv = pbx.root / "var" / "log" / "asterisk" / "cel-custom" / "Master.csv"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(csv, out / "office.csv")
        (out / "office.truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    finally:
        pbx.stop()
        shutil.rmtree(out / "conf", ignore_errors=True)


async def _run(lab: Lab) -> list[dict[str, Any]]:
    try:
        return await place_calls(lab)
    finally:
        await lab.close()


if __name__ == "__main__":
    capture(Path(sys.argv[1]))

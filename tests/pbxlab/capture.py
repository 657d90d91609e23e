"""Run lab scenarios on the real PBX and keep what telmon would have received.

    python tests/pbxlab/capture.py [NAME ...]      # all scenarios when none is named

writes ``tests/data/pbx/NAME.ami`` (raw AMI bytes on the ``monitor`` account) and
``NAME.truth.json`` (the phones' clocks, ``truth.py``). Run it where two PBX runs
cannot meet: one kit per network namespace (``unshare -n`` as root, ``ip link set lo up``).
The live tests call :func:`run_scenario` with fresh timings instead.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "pbxlab"

from .ami import AmiRecorder  # noqa: E402
from .kit import Pbx, REPO, kit_dir  # noqa: E402
from .lab import SOUNDS, Lab  # noqa: E402
from .scenarios import SCENARIOS  # noqa: E402

OUT = REPO / "tests" / "data" / "pbx"


async def wait_idle(pbx: Pbx, timeout: float = 20.0) -> None:
    """Wait until the PBX has no channel left (a scenario's last hangup has settled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(pbx.cli, "core show channels count")
        if out.strip().startswith("0 active channels"):
            return
        await asyncio.sleep(0.3)
    raise TimeoutError("the PBX still has channels 20 s after the scenario: " + out.strip())


async def run_scenario(pbx: Pbx, name: str, vary: bool = False, seed: Optional[int] = None,
                       also: Optional[AmiRecorder] = None) -> tuple[bytes, dict[str, Any]]:
    """One scenario on a running PBX: (raw AMI bytes, truth document).

    ``also`` is a second AMI session recording the same calls (e.g. on telmon's
    filtered account): started and closed here, its bytes left in ``also.raw``.
    """
    description, fn = SCENARIOS[name]
    await wait_idle(pbx)
    ami = await AmiRecorder().start()
    if also is not None:
        await also.start()
    lab = Lab(pbx, ami, vary=vary, seed=seed)
    await asyncio.to_thread(lab.db_clear)
    started = time.time()
    try:
        calls = await fn(lab)
        await wait_idle(pbx)
        await asyncio.sleep(0.3)
    finally:
        await lab.close()
        raw = await ami.close()
        if also is not None:
            await also.close()
    truth = {"scenario": name, "description": description, "schema": "telmon-pbx-lab/1",
             "clock": "time.time() of the scripted SIP phones (same host as the AMI Timestamp)",
             "capture_started": started, "varied_timings": vary, "seed": seed, "calls": calls}
    return raw, truth


def start_pbx() -> Pbx:
    """The kit with the lab configuration and prompts."""
    kit = kit_dir()
    if kit is None:
        raise SystemExit("Asterisk kit not found: set TELMON_PBX_KIT to the folder with pbx.sh")
    return Pbx(kit).start(SOUNDS)


async def main(names: list[str]) -> None:
    """Capture the named scenarios (all by default) into ``tests/data/pbx``."""
    OUT.mkdir(parents=True, exist_ok=True)
    pbx = start_pbx()
    try:
        for name in names or list(SCENARIOS):
            raw, truth = await run_scenario(pbx, name)
            (OUT / f"{name}.ami").write_bytes(raw)
            (OUT / f"{name}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
            print(f"{name}: {len(raw)} bytes, {len(truth['calls'])} call(s)", flush=True)
    finally:
        pbx.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

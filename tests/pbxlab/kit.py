"""Start and stop the real Asterisk 22 kit (``../shared/asterisk``) for tests and captures.

The kit lies outside the repository (a user's clone has none): it is found through
``TELMON_PBX_KIT`` (the folder holding ``pbx.sh``) or beside the clone in
``../shared/asterisk``. Tests that need it skip with :func:`skip_reason` unless
``TELMON_REQUIRE_PBX=1``, which turns a missing kit into a failure (CI).

The configuration is the kit's generic ``sample-conf`` with the lab's own files
(``tests/pbxlab/conf``) laid over it: the office features telmon must follow
(pickup, voicemail, park, IVR, forwarding, conferences).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LAB_CONF = HERE / "conf"


def kit_dir() -> Optional[Path]:
    """The kit folder (with ``pbx.sh``), or None when it is not on this machine."""
    env = os.environ.get("TELMON_PBX_KIT")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "asterisk"]
    for path in candidates:
        if (path / "pbx.sh").is_file():
            return path.resolve()
    return None


def skip_reason() -> Optional[str]:
    """Why PBX tests cannot run here (None when they can)."""
    if kit_dir() is None:
        return ("Asterisk kit not found: set TELMON_PBX_KIT to the folder with pbx.sh "
                "(../shared/asterisk beside the clone is used when present)")
    return None


def required() -> bool:
    """True when a missing kit must fail the run instead of skipping (CI sets TELMON_REQUIRE_PBX=1)."""
    return os.environ.get("TELMON_REQUIRE_PBX", "") not in ("", "0")


def telmon_account(secret: str) -> str:
    """asterisk_conf/manager.conf's ``[telmon]`` section as an administrator pastes it, with ``secret`` set."""
    text = (REPO / "asterisk_conf" / "manager.conf").read_text()
    section = text[text.index("[telmon]"):]
    return re.sub(r"^secret\s*=.*$", f"secret = {secret}", section, count=1, flags=re.M)


class PbxError(RuntimeError):
    """pbx.sh could not start or drive Asterisk; the message carries its stderr."""


class Pbx:
    """One running Asterisk of the kit, configured from sample-conf plus ``overlay`` files."""

    def __init__(self, kit: Path, overlay: Path = LAB_CONF, rundir: Optional[Path] = None,
                 append: Optional[dict[str, str]] = None) -> None:
        self.kit = kit
        self.overlay = overlay
        self.append = append or {}   # file name -> text added at its end (e.g. an AMI account)
        # The CLI socket path must stay under 108 characters: keep the run folder short.
        self.rundir = rundir or Path(tempfile.mkdtemp(prefix="tpbx"))
        self.confdir = self.rundir / "conf"
        self.pid: Optional[int] = None

    @property
    def root(self) -> Path:
        """The unpacked Asterisk tree (``var/``, ``sbin/``...)."""
        return self.rundir / "asterisk"

    def _script(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(["bash", str(self.kit / "pbx.sh"), *args], capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise PbxError(f"pbx.sh {args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def write_conf(self) -> None:
        """sample-conf, then every file of the overlay (a file there replaces the kit's)."""
        if self.confdir.exists():
            shutil.rmtree(self.confdir)
        shutil.copytree(self.kit / "sample-conf", self.confdir)
        for path in sorted(self.overlay.iterdir()) if self.overlay.is_dir() else []:
            if path.is_file() and path.suffix == ".conf":
                shutil.copy(path, self.confdir / path.name)
        for name, text in self.append.items():
            with open(self.confdir / name, "a", encoding="utf-8") as out:
                out.write("\n" + text)

    def add_sounds(self, sounds: dict[str, bytes]) -> None:
        """Install prompt files (name -> WAV bytes) in the sounds folder Asterisk reads."""
        folder = self.root / "var" / "lib" / "asterisk" / "sounds" / "en"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in sounds.items():
            (folder / name).write_bytes(data)

    def start(self, sounds: Optional[dict[str, bytes]] = None) -> "Pbx":
        """Write the configuration, start Asterisk (unpacked once) and wait until it is fully booted.

        Prompts are files Asterisk opens when it plays them, so installing them
        after the start is enough.
        """
        self.write_conf()
        out = self._script("start", str(self.confdir), str(self.rundir))
        self.pid = int(out.strip().splitlines()[-1])
        if sounds:
            self.add_sounds(sounds)
        return self

    def cli(self, command: str) -> str:
        """One Asterisk CLI command; its output."""
        return self._script("cli", str(self.rundir), command, timeout=30)

    def stop(self) -> None:
        """Stop Asterisk (gracefully, then by force) and remove the run folder."""
        try:
            self._script("stop", str(self.rundir), timeout=60)
        finally:
            shutil.rmtree(self.rundir, ignore_errors=True)

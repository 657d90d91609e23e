"""The installation files: systemd units, sysusers and tmpfiles, checked by systemd's own tools.

``systemd-analyze verify`` must find nothing to say about either unit; the
exposure score of ``systemd-analyze security`` stays at or below 2.0 ("OK" on
systemd's scale; the closing note of issue 18 reports and justifies it);
sysusers and tmpfiles are applied to a scratch root, and the folders must have
the modes the README promises (no access for other local users).
"""
from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("telmon.service", "telmon-web.service")
TELMON = Path(sys.executable).with_name("telmon")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze not installed (Debian package systemd)")


def _unit(tmp_path: Path, name: str) -> Path:
    """The unit as installed, with ExecStart pointing at this environment's telmon (verify runs it)."""
    text = (DEPLOY / "systemd" / name).read_text().replace("/opt/telmon/venv/bin/telmon", str(TELMON))
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", UNITS)
def test_unit_verifies(tmp_path, name):
    proc = subprocess.run(["systemd-analyze", "verify", str(_unit(tmp_path, name))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


@pytest.mark.parametrize("name", UNITS)
def test_unit_exposure(tmp_path, name):
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(_unit(tmp_path, name))],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout)
    assert m, proc.stdout + proc.stderr
    assert float(m.group(1)) <= 2.0, proc.stdout


def test_unit_keeps_secrets_off_the_command_line():
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
        assert "secret" not in exec_start.lower()
        assert "EnvironmentFile=/etc/telmon/secrets.env" in text


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers / systemd-tmpfiles not installed")
def test_users_and_folders(tmp_path):
    root = tmp_path / "root"
    for kind in ("sysusers.d", "tmpfiles.d"):
        (root / "etc" / kind).mkdir(parents=True)
        shutil.copy(DEPLOY / kind / "telmon.conf", root / "etc" / kind / "telmon.conf")
    subprocess.run(["systemd-sysusers", f"--root={root}"], check=True, capture_output=True, timeout=60)
    subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}"], check=True, capture_output=True, timeout=60)
    users = {f[0]: f for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = {f[0]: f for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    assert users["telmon"][6] == "/usr/sbin/nologin" and users["telmon"][5] == "/var/lib/telmon"
    assert "asterisk" in groups["telmon"][3].split(",")          # Asterisk may write the spool
    expected = {"etc/telmon": (0o750, "root", "telmon"), "var/lib/telmon": (0o700, "telmon", "telmon"),
                "var/spool/asterisk/telmon": (0o2770, "asterisk", "telmon")}
    uid = {name: int(f[2]) for name, f in users.items()} | {"root": 0}
    gid = {name: int(f[2]) for name, f in groups.items()}
    for folder, (mode, owner, group) in expected.items():
        st = (root / folder).stat()
        assert stat.S_IMODE(st.st_mode) == mode, folder
        assert (st.st_uid, st.st_gid) == (uid[owner], gid[group]), folder

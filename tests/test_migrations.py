"""Migrations cannot be left half done: kill -9 during the first migration, then the next start works."""
from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

import pytest

from monitor.storage.store import StorageError, Store

CHILD = """
import sys
from monitor.storage.store import Store
print("go", flush=True)
Store.open(sys.argv[1])
print("done", flush=True)
"""


def _migration_seconds(tmp_path) -> float:
    """How long a whole first migration takes here, now (the machine may be busy)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, f"sqlite:///{tmp_path / 'calibrate.db'}"],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "go"
    started = time.monotonic()
    assert child.stdout.readline().strip() == "done"
    child.wait()
    return time.monotonic() - started


@pytest.mark.slow
def test_kill9_during_the_first_migration_20_times_the_next_start_works(tmp_path):
    rng = random.Random(4)
    landed = 0
    window = _migration_seconds(tmp_path)
    for trial in range(20):
        path = tmp_path / f"t{trial}.db"
        child = subprocess.Popen([sys.executable, "-c", CHILD, f"sqlite:///{path}"], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, window))    # somewhere inside the migration
        child.kill()
        out = child.communicate()[0]
        if "done" not in out and path.exists():
            landed += 1
        store = Store.open(f"sqlite:///{path}")          # never "table calls already exists"
        assert store.count_calls() == 0
        store.close()
        tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"calls", "offers", "verdicts", "dead_letters", "alembic_version"} <= tables
    assert landed >= 5, f"only {landed} of 20 kills hit the migration (it takes {window:.2f} s here)"


def _half_created(path) -> None:
    store = Store.open(f"sqlite:///{path}")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE alembic_version")     # what a killed migration of an older telmon left


def test_a_half_created_database_is_repaired_when_empty_and_explained_when_not(tmp_path, caplog):
    empty = tmp_path / "empty.db"
    _half_created(empty)
    store = Store.open(f"sqlite:///{empty}")
    assert store.count_calls() == 0
    assert "left half-created" in caplog.text
    full = tmp_path / "full.db"
    _half_created(full)
    with sqlite3.connect(full) as db:
        db.execute("INSERT INTO calls (linkedid, direction, caller, dialed, outcome, started_at, ended_at, "
                   "uniqueids) VALUES ('1.1', 'inbound', '', '', 'answered', 1.0, 2.0, '[]')")
    with pytest.raises(StorageError, match="no schema version .* move it aside or restore a backup"):
        Store.open(f"sqlite:///{full}")

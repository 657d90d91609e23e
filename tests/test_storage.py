"""Storage on both backends for real: SQLite in a temp dir, PostgreSQL at 127.0.0.1:5432."""
from __future__ import annotations

import json
import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import SCENARIOS, TRACES, replay_bytes
from monitor.core.cadence import KOREA
from monitor.core.export import call_json
from monitor.core.rules import Thresholds, Verdict, judge_call
from monitor.storage.models import Base
from monitor.storage.store import StorageError, Store

PG_URL = os.environ.get("TELMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'calls.db'}")
        yield s
        s.close()
        return
    if os.environ.get("TELMON_SKIP_PG") == "1":
        pytest.skip("TELMON_SKIP_PG=1: PostgreSQL tests switched off by the user")
    schema = f"telmon_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)   # no skip when unreachable: CI always has PostgreSQL
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    s = Store.open(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield s
    s.close()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _calls():
    out = []
    for name in SCENARIOS:
        for rec in replay_bytes((TRACES / f"{name}.ami").read_bytes()).records:
            out.append((rec, judge_call(rec, KOREA, Thresholds()) | {"R8": Verdict("R8", "n/a", None, "x")},
                        "교류협력팀"))
    return out


def _json(rec, verdicts, dept):
    return json.dumps(call_json(rec, verdicts, KOREA, dept), sort_keys=True, ensure_ascii=False)


def test_every_capture_round_trips_exactly(store):
    calls = _calls()
    assert store.save_calls(calls) == len(calls) == 24
    loaded = list(store.load_calls())
    assert sorted(_json(c.record, c.verdicts, c.department) for c in loaded) == sorted(_json(*c) for c in calls)
    # Microsecond timestamps survive (double precision).
    by_id = {c.record.linkedid: c.record for c in loaded}
    for rec, _, _ in calls:
        assert by_id[rec.linkedid].start == rec.start
        assert [o.ring_start for o in by_id[rec.linkedid].offers] == [o.ring_start for o in rec.offers]


def test_saving_twice_keeps_one_copy_with_the_new_verdicts(store):
    rec, verdicts, dept = _calls()[0]
    assert store.save_call(rec, verdicts, dept) is True
    changed = dict(verdicts, R1=Verdict("R1", "fail", 4, "changed"))
    assert store.save_call(rec, changed, dept) is False
    assert store.count_calls() == 1
    (got,) = list(store.load_calls())
    assert got.verdicts["R1"].result == "fail" and got.verdicts["R1"].value == 4
    assert len(got.record.offers) == len(rec.offers)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from offers")).scalar() == len(rec.offers)
        assert conn.execute(sa.text("select count(*) from verdicts")).scalar() == len(verdicts)


def test_set_verdict_and_pending_callbacks(store):
    calls = _calls()
    missed = next(c for c in calls if c[0].outcome == "abandoned")
    verdicts = dict(missed[1], R8=Verdict("R8", "pending", None, "awaiting callback"))
    store.save_calls([(missed[0], verdicts, "교류협력팀")] + [c for c in calls if c is not missed][:3])
    (pending,) = store.pending_callbacks()
    assert (pending.linkedid, pending.number, pending.department) == (missed[0].linkedid, missed[0].caller, "교류협력팀")
    assert pending.missed_at == missed[0].end
    assert store.set_verdict(missed[0].linkedid, Verdict("R8", "pass", 3600.5, "called back"))
    assert store.pending_callbacks() == []
    got = next(c for c in store.load_calls() if c.record.linkedid == missed[0].linkedid)
    assert got.verdicts["R8"] == Verdict("R8", "pass", 3600.5, "called back")
    assert store.set_verdict("no-such-call", Verdict("R8", "pass")) is False


def test_load_calls_filters_by_time_and_department(store):
    calls = _calls()
    starts = sorted(c[0].start for c in calls)
    calls[0] = (calls[0][0], calls[0][1], "경영기획팀")
    store.save_calls(calls)
    middle = starts[12]
    assert [c.record.start for c in store.load_calls(since=middle)] == starts[12:]
    assert [c.record.start for c in store.load_calls(until=middle)] == starts[:12]
    assert [c.record.linkedid for c in store.load_calls(department="경영기획팀")] == [calls[0][0].linkedid]


def test_migration_matches_the_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    store.migrate()   # running migrations again is a no-op


def test_unreachable_database_is_a_clear_error_without_the_password():
    with pytest.raises(StorageError) as info:
        Store.open("postgresql+psycopg://telmon:s3cret-pw@127.0.0.1:1/telmon")
    text = str(info.value)
    assert "s3cret-pw" not in text and "***" in text and "127.0.0.1:1" in text
    with pytest.raises(StorageError, match="not a database URL"):
        Store.open("this is not a url")
    with pytest.raises(StorageError):
        Store.open("nosuchdialect://x/y")

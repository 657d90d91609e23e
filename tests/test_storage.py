"""Storage on both backends for real: SQLite in a temp dir, PostgreSQL at 127.0.0.1:5432."""
from __future__ import annotations

import json
import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import REPO, SCENARIOS, TRACES, replay_bytes
from monitor.core.cadence import KOREA, Cadence
from monitor.core.export import call_json
from monitor.core.record import CallRecord, Hold, Offer, Transfer, WaitStretch
from monitor.core.rules import Thresholds, Verdict, judge_call
from monitor.storage.models import Base
from monitor.storage.store import StorageError, Store

PG_URL = os.environ.get("TELMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = 1795574606.123457   # microsecond epoch times: single precision would lose them

# Hand-built records, independent of the tracker: one of each shape the storage must keep.
_queue_offers = [Offer("101", "PJSIP/101-00000001", "1795574608.2", "queue", T0 + 2.000001, T0 + 2.1, T0 + 7.000002,
                       None, "CANCEL", 26),
                 Offer("102", "PJSIP/102-00000002", "1795574608.3", "queue", T0 + 2.000001, T0 + 2.1, T0 + 7.0,
                       T0 + 7.0, "ANSWER", 16)]
ANSWERED = CallRecord(
    "1795574606.1", "inbound", "01012345678", "0212345678", "answered", T0, T0 + 300.5, answered_by="102",
    answered_at=T0 + 7.0, remote_number="01012345678", offers=_queue_offers, queue="support",
    queue_joined_at=T0 + 2.0, queue_left_at=T0 + 7.0,
    holds=[Hold("102", T0 + 60.25, T0 + 90.75), Hold("102", T0 + 120.0, T0 + 121.5)],
    waits=[WaitStretch("queue", T0 + 2.0, T0 + 7.0), WaitStretch("hold", T0 + 60.25, T0 + 90.75),
           WaitStretch("hold", T0 + 120.0, T0 + 121.5)],
    hangup_cause=16, uniqueids=["1795574606.1", "1795574608.2", "1795574608.3"])
_first = Offer("201", "PJSIP/201-0000000a", "1795575000.11", "direct", T0 + 400, T0 + 400.1, T0 + 404.2, T0 + 404.2,
               "ANSWER", 16)
_target = Offer("205", "PJSIP/205-0000000c", "1795575000.13", "transfer", T0 + 431, T0 + 431.2, T0 + 436.0,
                T0 + 436.0, "ANSWER", 16)
_outside = Offer("0311112222", "PJSIP/trunk-0000000d", "1795575000.14", "transfer", T0 + 500, T0 + 500.5, T0 + 530,
                 None, "NOANSWER", 19, to_trunk=True)
TRANSFERRED = CallRecord(
    "1795575000.10", "inbound", "0319998888", "0212345678", "answered", T0 + 399.9, T0 + 560, answered_by="201",
    answered_at=T0 + 404.2, remote_number="0319998888", offers=[_first, _target, _outside],
    transfers=[Transfer("blind", "201", "205", T0 + 430.5, _target),
               Transfer("attended", "205", "0311112222", T0 + 499.0, _outside),
               Transfer("blind", "205", "299", T0 + 540.0, None)],
    waits=[WaitStretch("ringing", T0 + 400.1, T0 + 404.2), WaitStretch("transfer", T0 + 430.5, T0 + 436.0)],
    hangup_cause=16, uniqueids=["1795575000.10", "1795575000.11", "1795575000.13", "1795575000.14"])
ABANDONED = CallRecord(
    "1795576000.20", "inbound", "01055556666", "0212345678", "abandoned", T0 + 1000, T0 + 1009.999999,
    remote_number="01055556666",
    offers=[Offer("103", "PJSIP/103-00000020", "1795576000.21", "direct", T0 + 1000.1, T0 + 1000.2, T0 + 1010,
                  None, "CANCEL", 16)],
    waits=[WaitStretch("ringing", T0 + 1000.2, T0 + 1009.999999)], hangup_cause=16,
    uniqueids=["1795576000.20", "1795576000.21"])
INCOMPLETE = CallRecord(
    "1795577000.30", "internal", "104", "105", "incomplete", T0 + 2000, T0 + 2050,
    offers=[Offer("105", "PJSIP/105-00000031", "1795577000.31", "direct", T0 + 2000.5, T0 + 2000.6)],
    holds=[Hold("105", T0 + 2040.0)], incomplete_reason="monitor restarted: events lost",
    uniqueids=["1795577000.30"])
HAND = {
    ANSWERED.linkedid: (ANSWERED, {"R1": Verdict("R1", "pass", 2, "answered at ring 2 by 102"),
                                   "R4": Verdict("R4", "pass", 30.500001, "longest wait: hold"),
                                   "R5": Verdict("R5", "n/a", None, "no transfer"),
                                   "R8": Verdict("R8", "n/a", None, "not a missed inbound call"),
                                   "R3": Verdict("R3", "unclear", "인사말: 네, 고객지원팀입니다", "speech")},
                        "고객지원팀"),
    TRANSFERRED.linkedid: (TRANSFERRED, {"R1": Verdict("R1", "pass", 2), "R4": Verdict("R4", "pass", 5.5),
                                         "R5": Verdict("R5", "fail", 3, "bounced 3 times"),
                                         "R8": Verdict("R8", "n/a")}, None),
    ABANDONED.linkedid: (ABANDONED, {"R1": Verdict("R1", "fail", 4, "rang 4 times"),
                                     "R4": Verdict("R4", "pass", 9.799999),
                                     "R5": Verdict("R5", "n/a"),
                                     "R8": Verdict("R8", "pending", None, "awaiting callback")}, "교류협력팀"),
    INCOMPLETE.linkedid: (INCOMPLETE, judge_call(INCOMPLETE, KOREA, Thresholds())
                          | {"R8": Verdict("R8", "n/a", None, "incomplete call")}, "교류협력팀"),
}


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
    try:
        s = Store.open(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        yield s
        s.close()
    finally:
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


def _json(rec, verdicts, dept, cadence: Cadence = KOREA):
    return json.dumps(call_json(rec, verdicts, cadence, dept), sort_keys=True, ensure_ascii=False)


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {table}")).scalar()


def test_hand_built_calls_round_trip_exactly(store):
    for linkedid in reversed(list(HAND)):   # saved out of order, read back by start time
        assert store.save_call(*HAND[linkedid]) is True
    loaded = list(store.load_calls())
    assert [c.record.linkedid for c in loaded] == list(HAND)
    for got in loaded:
        rec, verdicts, dept = HAND[got.record.linkedid]
        assert got.record == rec            # every field, not only what call_json shows
        assert got.verdicts == verdicts and got.department == dept
        for cadence in (KOREA, Cadence(2.0, 4.0)):
            assert _json(got.record, got.verdicts, dept, cadence) == _json(rec, verdicts, dept, cadence)
        for want, value in ((v.value, got.verdicts[k].value) for k, v in verdicts.items()):
            assert type(value) is type(want)   # 2 stays int, 5.5 float, text text, None None
    moved = next(c.record for c in loaded if c.record.linkedid == TRANSFERRED.linkedid)
    # A transfer's target is the call's own offer object again, not a copy.
    assert moved.transfers[0].target is moved.offers[1] and moved.transfers[1].target is moved.offers[2]
    assert moved.transfers[2].target is None and moved.transfers[0].answered
    assert store.count_calls() == 4 and _count(store, "holds") == 3 and _count(store, "offers") == 7


def test_resaving_replaces_children_and_verdicts(store):
    rec, verdicts, dept = HAND[ANSWERED.linkedid]
    store.save_calls(list(HAND.values()))
    shorter = CallRecord(**{**rec.__dict__, "holds": rec.holds[:1], "offers": rec.offers[1:], "end": rec.end + 1})
    settled = dict(verdicts, R4=Verdict("R4", "fail", 181.0, "held too long"))
    del settled["R3"]
    assert store.save_call(shorter, settled, "경영기획팀") is False
    assert store.count_calls() == 4
    got = next(c for c in store.load_calls() if c.record.linkedid == rec.linkedid)
    assert (got.record, got.verdicts, got.department) == (shorter, settled, "경영기획팀")
    assert _count(store, "holds") == 1 + 1 and _count(store, "offers") == 1 + 3 + 1 + 1
    assert _count(store, "verdicts") == 4 + 4 + 4 + 4
    # A batch naming a call twice stores it once (the last copy wins) and counts only new calls.
    assert store.save_calls([(rec, verdicts, dept), (rec, verdicts, "마지막팀")]) == 0
    assert [c.department for c in store.load_calls(department="마지막팀")] == ["마지막팀"]


def test_a_refused_call_never_blocks_the_others(store):
    # A NOT NULL violation fails the batch's transaction; the calls are then written one by one,
    # the refused one fitted to the schema (the missing value flagged), nothing blocked.
    store.save_calls(list(HAND.values()))
    rec, verdicts, dept = HAND[ABANDONED.linkedid]
    broken = CallRecord(**{**INCOMPLETE.__dict__, "linkedid": "new.1", "direction": None})   # NOT NULL
    assert store.save_calls([(rec, {"R1": Verdict("R1", "pass")}, None), (broken, {}, None)]) == 1
    got = {c.record.linkedid: c for c in store.load_calls()}
    assert got[rec.linkedid].verdicts == {"R1": Verdict("R1", "pass")}
    assert got["new.1"].record.direction == "" and got["new.1"].record.flags == ["direction missing"]
    assert store.count_calls() == 5


def test_pending_callbacks_and_settling_them(store):
    store.save_calls(list(HAND.values()))
    (pending,) = store.pending_callbacks()
    assert (pending.linkedid, pending.number, pending.department, pending.missed_at) == (
        ABANDONED.linkedid, ABANDONED.caller, "교류협력팀", ABANDONED.end)
    assert store.pending_callbacks(now=ABANDONED.end) == [pending]
    assert store.pending_callbacks(now=ABANDONED.end - 0.000001) == []
    assert store.set_verdict(ABANDONED.linkedid, Verdict("R8", "pass", 7200, "called back by 103 after 2.0 h"))
    assert store.pending_callbacks() == []
    # set_verdict can also add a rule the call had no verdict for yet.
    assert store.set_verdict(TRANSFERRED.linkedid, Verdict("R3", "pass", "네, 영업팀 김민수입니다", "greeting"))
    got = {c.record.linkedid: c.verdicts for c in store.load_calls()}
    assert got[ABANDONED.linkedid]["R8"] == Verdict("R8", "pass", 7200, "called back by 103 after 2.0 h")
    assert type(got[ABANDONED.linkedid]["R8"].value) is int
    assert got[TRANSFERRED.linkedid] == dict(HAND[TRANSFERRED.linkedid][1],
                                             R3=Verdict("R3", "pass", "네, 영업팀 김민수입니다", "greeting"))
    assert _count(store, "verdicts") == 5 + 4 + 4 + 4 + 1


def test_load_calls_window_and_department_on_hand_built_calls(store):
    store.save_calls(list(HAND.values()))
    ids = lambda **kw: [c.record.linkedid for c in store.load_calls(**kw)]   # noqa: E731
    assert ids(since=TRANSFERRED.start) == [TRANSFERRED.linkedid, ABANDONED.linkedid, INCOMPLETE.linkedid]
    assert ids(since=TRANSFERRED.start + 0.000001) == [ABANDONED.linkedid, INCOMPLETE.linkedid]
    assert ids(until=ABANDONED.start) == [ANSWERED.linkedid, TRANSFERRED.linkedid]
    assert ids(since=T0 + 1, until=T0 + 2000, department="교류협력팀") == [ABANDONED.linkedid]
    assert ids(department="없는팀") == []


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
    assert (pending.linkedid, pending.number, pending.department) == \
        (missed[0].linkedid, missed[0].caller, "교류협력팀")
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


def test_sqlite_directory_is_created_and_a_bad_file_is_a_storage_error(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'a' / 'b' / 'telmon.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file, just text " * 50)
    with pytest.raises(StorageError, match="junk.db"):
        Store.open(f"sqlite:///{junk}")
    with pytest.raises(StorageError, match="directory"):
        Store.open(f"sqlite:///{junk / 'below_a_file' / 'x.db'}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_opening_a_fresh_database_at_once_all_succeed(tmp_path, backend):
    """`telmon run` creating the schema while `telmon calls` opens the same new database."""
    import subprocess
    import sys
    if backend == "sqlite":
        url, options, cleanup = f"sqlite:///{tmp_path / 'fresh.db'}", "", None
    else:
        schema = f"telmon_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url, options = PG_URL, f"-csearch_path={schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    code = ("import sys, time; from monitor.storage.store import Store; "
            "start = float(sys.argv[3]); time.sleep(max(0.0, start - time.time())); "
            "kw = {'connect_args': {'options': sys.argv[2]}} if sys.argv[2] else {}; "
            "Store.open(sys.argv[1], **kw).close(); print('ok')")
    start = f"{__import__('time').time() + 3.0}"    # every process past its imports, then all at once
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code, url, options, start], cwd=str(REPO),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(5)]
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 and out.strip() == "ok" for p, (out, _) in zip(procs, results)), results
        kw = {"connect_args": {"options": options}} if options else {}
        s = Store.open(url, **kw)
        assert s.count_calls() == 0
        s.close()
    finally:
        if cleanup is not None:
            cleanup()

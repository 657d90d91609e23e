"""The Store: saves finished calls with their verdicts, idempotently, and reads them back.

``Store.open(url)`` creates or migrates the schema (``schema.py``) on SQLite or
PostgreSQL. Saving a call whose ``linkedid`` is already stored replaces it whole
(children, report facts) in one transaction, unless the stored copy knows more
(core/keep.py), so replaying a stream twice (or a restart re-sending a call)
stores each call once. Every call row has its ``call_facts`` row (facts.py),
written and deleted with it, and ``set_verdict`` keeps the facts' verdict columns.
Reading streams rows (``yield_per``) so a month of calls never sits in memory at once.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, cast

from sqlalchemy import Table, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from ..core.callback import MissedCall
from ..core.keep import keep_r8, knowledge_of, replaces
from ..core.limits import Unfit, fit_record
from ..core.record import CallRecord
from ..core.rules import PENDING, Verdict
from .convert import _CHILDREN, _insert_values, record_from_row
from .facts import FACTS, facts_values, insert_facts, verdict_values
from .failures import StorageUnavailable, is_transient, reason
from .merge import stored_knowledge
from .models import CallRow, DeadLetterRow, VerdictRow
from .recordings import track as track_recording
from .schema import MIGRATIONS, HalfMigrated, migrate, sqlite_pragmas
from .spill import call_to_json
from ..errors import TelmonError

__all__ = ["MIGRATIONS", "StorageError", "Store", "StoredCall", "StorageUnavailable"]

log = logging.getLogger(__name__)
_NO_R8 = Verdict("R8", "n/a")


class StorageError(TelmonError, RuntimeError):
    """The database cannot be used; the message names it (password masked)."""


@dataclass
class StoredCall:
    """A call read back from the database."""

    record: CallRecord
    verdicts: dict[str, Verdict]
    department: Optional[str]


class Store:
    """Calls and verdicts in a SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dead_letters = 0    # calls dead-lettered by this process (a metric)

    @staticmethod
    def display_url(url: str) -> str:
        """The URL as it may be shown: any password replaced by ***."""
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable database URL>"

    @classmethod
    def open(cls, url: str, **engine_kwargs: Any) -> "Store":
        """Connect, create or migrate the schema to the newest revision, and return the store."""
        shown = cls.display_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StorageError(f"not a database URL: {shown}") from None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            except OSError as exc:
                raise StorageError(f"cannot create the directory of database {shown}: {exc.strerror or exc}") from None
            _private(Path(parsed.database).expanduser())
        try:
            engine = create_engine(url, **engine_kwargs)
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise StorageError(f"cannot use database {shown}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", sqlite_pragmas)
        store = cls(engine)
        try:
            store.migrate()
        except HalfMigrated as exc:
            engine.dispose()
            raise StorageError(f"cannot open database {shown}: {exc}") from None
        except DBAPIError as exc:
            # Not only OperationalError (unreachable server, unknown database): a SQLite
            # file that is not a database raises DatabaseError, a role without CREATE
            # rights ProgrammingError. All of them mean "this URL cannot be used".
            engine.dispose()
            raise StorageError(f"cannot open database {shown}: {_reason(exc, parsed.password)}") from None
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``schema.migrate``: all or nothing, safe when
        several processes start at once; no Alembic import when the database is already there)."""
        migrate(self.engine)

    def save_call(self, record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]) -> bool:
        """Store one call (replacing an earlier copy that knows no more); True when it was not stored before."""
        return self.save_calls([(record, verdicts, department)]) == 1

    def save_calls(self, batch: Iterable[tuple[CallRecord, Mapping[str, Verdict], Optional[str]]]) -> int:
        """Store many calls in one transaction; returns how many were new.

        A call already stored is replaced only by a record that knows at least as
        much (core/keep.py), and a settled R8 verdict is kept. When the database is
        unavailable this raises :class:`StorageUnavailable` and nothing is written;
        when it refuses a call, the others are written one by one and the refused
        one is fitted or dead-lettered (see monitor/storage/failures.py).
        """
        calls = list(batch)
        if not calls:
            return 0
        try:
            return self._save(calls)
        except Exception as exc:
            if is_transient(exc):
                raise StorageUnavailable(reason(exc)) from None
            if len(calls) > 1:
                return sum(self.save_calls([call]) for call in calls)
            return self._refused(calls[0], exc)

    def _save(self, batch: list[tuple[CallRecord, Mapping[str, Verdict], Optional[str]]]) -> int:
        """Rows are written with Core multi-row inserts (one statement per table per batch)
        rather than ORM unit-of-work flushes: a backfill writes millions of calls, and
        the ORM path cost ~1.5 ms per call (docs/BENCHMARKS.md)."""
        # Fitted here too (a no-op for what the pipeline fitted): SQLite would take any length or size,
        # and the same call must be stored alike on both backends. The last copy of a linkedid wins.
        latest = {}
        for r, v, d in batch:
            try:
                r = fit_record(r)
            except Unfit:
                pass    # refused below, then dead-lettered with the reason
            latest[r.linkedid] = (r, v, d)
        calls = cast(Table, CallRow.__table__)
        with self.engine.begin() as conn:
            existing = stored_knowledge(conn, list(latest))
            rows = {}
            for linkedid, (record, verdicts, department) in latest.items():
                old = existing.get(linkedid)
                if old is not None and not replaces(knowledge_of(record), old.knowledge):
                    continue   # the stored record knows more: keep it
                if old is not None and old.r8 is not None and keep_r8(verdicts.get("R8", _NO_R8).result, old.r8.result):
                    verdicts = dict(verdicts, R8=old.r8)
                # The facts come from what is stored (the fitted record, the kept R8), so they match the row.
                rows[linkedid] = (*_insert_values(record, verdicts, department),
                                  facts_values(record, verdicts, department))
            replaced = [existing[k].call_id for k in rows if k in existing]
            if replaced:
                # Children go with their call (ON DELETE CASCADE); delete them explicitly
                # too, because SQLite only cascades with foreign_keys=ON.
                for table in [cast(Table, child.__table__) for child in _CHILDREN] + [FACTS]:
                    conn.execute(delete(table).where(table.c.call_id.in_(replaced)))
                conn.execute(delete(calls).where(calls.c.id.in_(replaced)))
            if not rows:
                return 0   # every call is stored already, knowing more: its row and facts stay
            ordered = list(rows.values())
            result = conn.execute(insert(calls).returning(calls.c.id, sort_by_parameter_order=True),
                                  [call for call, _, _ in ordered])
            ids = [r.id for r in result]
            for n, child in enumerate(_CHILDREN):
                params = [dict(c, call_id=cid) for cid, (_, children, _) in zip(ids, ordered) for c in children[n]]
                if params:
                    conn.execute(insert(cast(Table, child.__table__)), params)
            insert_facts(conn, [dict(fact, call_id=cid) for cid, (_, _, fact) in zip(ids, ordered)])
            for linkedid, (_, children, _) in rows.items():   # recordings kept for a review (recordings.py)
                for v in children[-1]:
                    if '"recording"' in v["value"]:
                        track_recording(conn, linkedid, v["rule"], v["result"], json.loads(v["value"]))
        return sum(1 for k in latest if k not in existing)

    def _refused(self, call: tuple[CallRecord, Mapping[str, Verdict], Optional[str]], exc: Exception) -> int:
        """One call the database refused: store it fitted to the schema's limits, else dead-letter it.

        The fitted call goes through :meth:`_save` like any other, so its facts row and
        its recordings are written with it; a dead-lettered call has neither.
        """
        record, verdicts, department = call
        why = reason(exc)
        try:
            fitted = fit_record(record)
        except Unfit as unfit:
            fitted, why = None, f"{why}; {unfit}"
        if fitted is not None and fitted is not record:
            try:
                new = self._save([(fitted, verdicts, department)])
                log.warning("call %s stored with values fitted to the database (%s)", record.linkedid,
                            "; ".join(fitted.flags))
                return new
            except Exception as again:
                if is_transient(again):
                    raise StorageUnavailable(reason(again)) from None
                why = reason(again)
        self.dead_letter(record, dict(verdicts), department, why)
        return 0

    def dead_letter(self, record: CallRecord, verdicts: dict[str, Verdict], department: Optional[str],
                    why: str) -> None:
        """Keep a call the database will not take, with the reason (``telmon calls --dead-letters``)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(cast(Table, DeadLetterRow.__table__)), [{
                    "linkedid": record.linkedid, "stored_at": time.time(), "reason": why,
                    "record": call_to_json(record, verdicts, department)}])
        except Exception as exc:
            raise StorageUnavailable(f"cannot dead-letter call {record.linkedid}: {reason(exc)}") from None
        self.dead_letters += 1
        log.error("call %s refused by the database (%s): kept in dead_letters", record.linkedid, why)

    def set_verdict(self, linkedid: str, verdict: Verdict) -> bool:
        """Replace one verdict of a stored call (R8 settles later, a late speech check, a review decision);
        the call's report facts and its tracked recording follow in the same transaction. False if the
        call is unknown or the database refused the verdict (logged).

        A settled R8 is never replaced: a restart that judged the call again must not
        reopen a callback that already happened (or a window that closed). When the
        database is unavailable this raises :class:`StorageUnavailable`.
        """
        try:
            return self._set_verdict(linkedid, verdict)
        except Exception as exc:
            if is_transient(exc):
                raise StorageUnavailable(reason(exc)) from None
            log.error("verdict %s of call %s refused by the database (%s)", verdict.rule, linkedid, reason(exc))
            return False

    def _set_verdict(self, linkedid: str, verdict: Verdict) -> bool:
        calls, v = CallRow.__table__, VerdictRow.__table__.c
        value = json.dumps(verdict.value)
        with self.engine.begin() as conn:
            # The call and every verdict it has, in one statement: the facts' tallies (fails,
            # reviewed) span all of them, so the facts are rebuilt from the stored set.
            rows = conn.execute(select(calls.c.id, v.rule, v.result, v.value, v.detail)
                                .select_from(calls.outerjoin(VerdictRow, v.call_id == calls.c.id))
                                .where(calls.c.linkedid == linkedid)).all()
            if not rows:
                return False
            call_id = rows[0][0]
            stored = {r: Verdict(r, res, json.loads(val), det) for _, r, res, val, det in rows if r is not None}
            if verdict.rule == "R8" and "R8" in stored and stored["R8"].result != PENDING:
                return True    # settled: kept (its facts already say so)
            fields = {"result": verdict.result, "value": value, "detail": verdict.detail}
            if verdict.rule in stored:
                conn.execute(update(VerdictRow).where(v.call_id == call_id, v.rule == verdict.rule).values(fields))
            else:
                conn.execute(insert(VerdictRow), dict(fields, call_id=call_id, rule=verdict.rule))
            stored[verdict.rule] = Verdict(verdict.rule, verdict.result, json.loads(value), verdict.detail)
            conn.execute(update(FACTS).where(FACTS.c.call_id == call_id)
                         .values(verdict_values(stored, decoded=True)))
            track_recording(conn, linkedid, verdict.rule, verdict.result, verdict.value)
        return True

    def load_calls(self, since: Optional[float] = None, until: Optional[float] = None,
                   department: Optional[str] = None) -> Iterator[StoredCall]:
        """Stored calls by start time, streamed; optionally a time window and one department."""
        query = select(CallRow).order_by(CallRow.started_at, CallRow.id).options(
            selectinload(CallRow.offers), selectinload(CallRow.transfers), selectinload(CallRow.holds),
            selectinload(CallRow.waits), selectinload(CallRow.verdicts))
        if since is not None:
            query = query.where(CallRow.started_at >= since)
        if until is not None:
            query = query.where(CallRow.started_at < until)
        if department is not None:
            query = query.where(CallRow.department == department)
        with Session(self.engine) as session:
            for row in session.scalars(query.execution_options(yield_per=500)):
                record, verdicts = record_from_row(row)
                yield StoredCall(record, verdicts, row.department)

    def stored_knowledge(self, linkedids: list[str]) -> dict:
        """What is stored of these calls (see monitor/storage/merge.py): id, knowledge, R8."""
        with self.engine.connect() as conn:
            return stored_knowledge(conn, linkedids)

    def latest_end(self) -> Optional[float]:
        """When the last stored call ended (None when none is stored): where a restart's gap begins."""
        with Session(self.engine) as session:
            return session.scalar(select(func.max(CallRow.ended_at)))

    def count_calls(self) -> int:
        """How many calls are stored."""
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count(CallRow.id))) or 0)

    def pending_callbacks(self, now: Optional[float] = None) -> list[MissedCall]:
        """Missed calls whose R8 is still pending, oldest first: what a restart resumes judging.

        With ``now`` (epoch seconds), only calls missed at or before ``now``: a replay of an
        older stream must not pick up calls that, in its timeline, have not happened yet.
        Calls whose window has already closed are included; the callback book fails them
        on its next ``expire``.
        """
        query = (select(CallRow.linkedid, CallRow.caller, CallRow.department, CallRow.ended_at)
                 .join(VerdictRow, VerdictRow.call_id == CallRow.id)
                 .where(VerdictRow.rule == "R8", VerdictRow.result == PENDING)
                 .order_by(CallRow.ended_at, CallRow.id))
        if now is not None:
            query = query.where(CallRow.ended_at <= now)
        with Session(self.engine) as session:
            return [MissedCall(l, c, d, e) for l, c, d, e in session.execute(query)]

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def _private(db: Path) -> None:
    """A SQLite file (and its WAL) made by an older telmon readable by every local user: owner and group only."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        try:
            mode = path.stat().st_mode & 0o777
            if mode & 0o007:
                path.chmod(mode & 0o770)
                log.warning("%s was readable by every local user (mode %o): now %o", path, mode, mode & 0o770)
        except OSError:
            pass   # absent (a new database), or not ours to change: SQLite will say if it cannot open it


def _reason(exc: DBAPIError, password: Optional[str]) -> str:
    """The driver's first line of complaint, with the password blanked should it echo it."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return line.replace(password, "***") if password else line

"""The Store: saves finished calls with their verdicts, idempotently, and reads them back.

``Store.open(url)`` creates or migrates the schema (Alembic, from code) on SQLite
or PostgreSQL. Saving a call whose ``linkedid`` is already stored replaces it
whole in one transaction, so replaying a stream twice (or a restart re-sending a
call) stores each call once. Reading streams rows (``yield_per``) so a month of
calls never sits in memory at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from ..core.callback import MissedCall
from ..core.record import CallRecord
from ..core.rules import PENDING, Verdict
from .convert import _index, record_from_row
from .facts import FACTS, facts_values, insert_facts, verdict_values
from .models import CallRow, HoldRow, OfferRow, TransferRow, VerdictRow, WaitRow
from .schema import MIGRATIONS, migrate
from .recordings import track as track_recording

__all__ = ["MIGRATIONS", "StorageError", "StoredCall", "Store"]


class StorageError(RuntimeError):
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
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the directory of database {shown}: {exc.strerror or exc}") from None
        try:
            engine = create_engine(url, **engine_kwargs)
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise StorageError(f"cannot use database {shown}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            store.migrate()
        except DBAPIError as exc:
            # Not only OperationalError (unreachable server, unknown database): a SQLite
            # file that is not a database raises DatabaseError, a role without CREATE
            # rights ProgrammingError. All of them mean "this URL cannot be used".
            engine.dispose()
            raise StorageError(f"cannot open database {shown}: {_reason(exc, parsed.password)}") from None
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``schema.migrate``: safe when several
        processes start at once; no Alembic import when the database is already there)."""
        migrate(self.engine)

    def save_call(self, record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]) -> bool:
        """Store one call (replacing an earlier copy); True when it was not stored before."""
        return self.save_calls([(record, verdicts, department)]) == 1

    def save_calls(self, batch: Iterable[tuple[CallRecord, Mapping[str, Verdict], Optional[str]]]) -> int:
        """Store many calls in one transaction; returns how many were new.

        Rows are written with Core multi-row inserts (one statement per table per
        batch) rather than ORM unit-of-work flushes: a backfill writes millions of
        calls, and the ORM path cost ~1.5 ms per call (docs/BENCHMARKS.md).
        """
        rows = {r.linkedid: (*_insert_values(r, v, d), facts_values(r, v, d)) for r, v, d in batch}
        if not rows:
            return 0
        calls = CallRow.__table__
        with self.engine.begin() as conn:
            existing = list(conn.scalars(select(calls.c.id).where(calls.c.linkedid.in_(list(rows)))))
            if existing:
                # Children go with their call (ON DELETE CASCADE); delete them explicitly
                # too, because SQLite only cascades with foreign_keys=ON.
                for table in [child.__table__ for child in _CHILDREN] + [FACTS]:
                    conn.execute(delete(table).where(table.c.call_id.in_(existing)))
                conn.execute(delete(calls).where(calls.c.id.in_(existing)))
            ordered = list(rows.values())
            result = conn.execute(insert(calls).returning(calls.c.id, sort_by_parameter_order=True),
                                  [call for call, _, _ in ordered])
            ids = [r.id for r in result]
            for n, child in enumerate(_CHILDREN):
                params = [dict(c, call_id=cid) for cid, (_, children, _) in zip(ids, ordered) for c in children[n]]
                if params:
                    conn.execute(insert(child.__table__), params)
            facts = []
            for cid, (_, _, fact) in zip(ids, ordered):
                fact["call_id"] = cid
                facts.append(fact)
            insert_facts(conn, facts)
            for linkedid, (_, children, _) in rows.items():   # recordings kept for a review (recordings.py)
                for v in children[-1]:
                    if '"recording"' in v["value"]:
                        track_recording(conn, linkedid, v["rule"], v["result"], json.loads(v["value"]))
        return len(rows) - len(existing)

    def set_verdict(self, linkedid: str, verdict: Verdict) -> bool:
        """Replace one verdict of a stored call (R8 settles later, a late speech check, a review decision);
        the call's report facts follow in the same transaction. False if the call is unknown."""
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


_CHILDREN = (OfferRow, TransferRow, HoldRow, WaitRow, VerdictRow)   # the order of _insert_values' children


def _insert_values(record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str]
                   ) -> tuple[dict[str, Any], tuple[list[dict[str, Any]], ...]]:
    """The insert parameters of one call: its ``calls`` row and its children per table of ``_CHILDREN``.

    The same columns and values as :func:`~.convert.row_from_record` (which reading
    and the tests use), built as plain dicts: building mapped objects only to read
    their attributes back cost ~70 % of ``save_calls`` in the profile of ingest
    stage (e) (SQLAlchemy's attribute instrumentation on every column).
    ``tests/test_storage*`` round-trip every field through this path.
    """
    offers = list(record.offers)
    call = {
        "linkedid": record.linkedid, "direction": record.direction, "caller": record.caller or "",
        "dialed": record.dialed or "", "outcome": record.outcome, "started_at": record.start,
        "ended_at": record.end, "answered_by": record.answered_by, "answered_at": record.answered_at,
        "remote_number": record.remote_number, "queue": record.queue, "queue_joined_at": record.queue_joined_at,
        "queue_left_at": record.queue_left_at, "hangup_cause": record.hangup_cause,
        "incomplete_reason": record.incomplete_reason, "department": department,
        "uniqueids": json.dumps(record.uniqueids),
    }
    return call, (
        [{"position": i, "extension": o.extension, "channel": o.channel, "uniqueid": o.uniqueid, "leg": o.leg,
          "dial_start": o.dial_start, "ring_start": o.ring_start, "ring_end": o.ring_end,
          "answered_at": o.answered_at, "status": o.status or "", "cause": o.cause, "to_trunk": o.to_trunk}
         for i, o in enumerate(offers)],
        [{"position": i, "kind": t.kind, "by_party": t.by, "to_party": t.to, "at": t.at,
          "target_position": _index(offers, t.target)} for i, t in enumerate(record.transfers)],
        [{"position": i, "by_party": h.by, "started_at": h.start, "ended_at": h.end}
         for i, h in enumerate(record.holds)],
        [{"position": i, "kind": w.kind, "started_at": w.start, "ended_at": w.end}
         for i, w in enumerate(record.waits)],
        [{"rule": v.rule, "result": v.result, "value": json.dumps(v.value), "detail": v.detail}
         for v in verdicts.values()],
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings (they are not stored in the file, except WAL)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")   # readers (telmon calls, reports) don't block the monitor
    cur.close()


def _reason(exc: DBAPIError, password: Optional[str]) -> str:
    """The driver's first line of complaint, with the password blanked should it echo it."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return line.replace(password, "***") if password else line

"""Saving finished calls: the write side of :class:`~.store.Store`.

A call is written whole (its row, its children, its ``call_facts`` row) with Core
multi-row inserts, one statement per table per batch, replacing an earlier copy only
when the new record knows at least as much (core/keep.py). A call the database refuses
is fitted to the schema's limits or dead-lettered (failures.py).
"""
from __future__ import annotations

import json
import logging
import time
from typing import Iterable, Mapping, Optional, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.engine import Engine

from ..core.keep import keep_r8, knowledge_of, replaces
from ..core.limits import Unfit, fit_record
from ..core.record import CallRecord
from ..core.rules import Verdict
from .convert import CHILD_TABLES, insert_values
from .facts import FACTS, facts_values, insert_facts
from .failures import StorageUnavailable, is_transient, reason
from .merge import stored_knowledge
from .models import CallRow, DeadLetterRow
from .recordings import track as track_recording
from .spill import call_to_json

log = logging.getLogger("monitor.storage.store")
_NO_R8 = Verdict("R8", "n/a")
Batch = list[tuple[CallRecord, Mapping[str, Verdict], Optional[str]]]


class CallWriter:
    """The saving methods of :class:`~.store.Store` (which provides ``engine`` and ``dead_letters``)."""

    engine: Engine
    dead_letters: int

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

    def _save(self, batch: Batch) -> int:
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
                rows[linkedid] = (*insert_values(record, verdicts, department),
                                  facts_values(record, verdicts, department))
            replaced = [existing[k].call_id for k in rows if k in existing]
            if replaced:
                # Children go with their call (ON DELETE CASCADE); delete them explicitly
                # too, because SQLite only cascades with foreign_keys=ON.
                for table in [cast(Table, child.__table__) for child in CHILD_TABLES] + [FACTS]:
                    conn.execute(delete(table).where(table.c.call_id.in_(replaced)))
                conn.execute(delete(calls).where(calls.c.id.in_(replaced)))
            if not rows:
                return 0   # every call is stored already, knowing more: its row and facts stay
            ordered = list(rows.values())
            result = conn.execute(insert(calls).returning(calls.c.id, sort_by_parameter_order=True),
                                  [call for call, _, _ in ordered])
            ids = [r.id for r in result]
            for n, child in enumerate(CHILD_TABLES):
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

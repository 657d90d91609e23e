"""Verdicts that change after a call is stored: R8 settling, late speech checks, review decisions.

The write side of :class:`~.store.Store` for one verdict at a time, and the calls whose
R8 is still pending (what a restart resumes judging). A call's facts row and its tracked
recording follow each change in the same transaction.
"""
from __future__ import annotations

import json
import logging
from typing import Optional

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from ..core.callback import MissedCall
from ..core.rules import PENDING, Verdict
from .facts import FACTS, verdict_values
from .failures import StorageUnavailable, is_transient, reason
from .models import CallRow, VerdictRow
from .recordings import track as track_recording

log = logging.getLogger("monitor.storage.store")


class VerdictUpdates:
    """The verdict methods of :class:`~.store.Store` (which provides ``engine``)."""

    engine: Engine

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
        with self.engine.connect() as conn:
            return [MissedCall(*row) for row in conn.execute(query)]


"""Calls telmon missed, recovered from Asterisk's CEL: on start, after every reconnect, and ``telmon backfill``.

Each recovered call goes through the same pipeline as a live one (fitted, judged
as far as CEL allows, R8 booked), unless telmon knows it already: a call still
in progress in the tracker, or one stored with at least as much knowledge
(followed live, or recovered before). The store's own rule (core/keep.py) is the
last guard, so a call is stored exactly once however often it is recovered.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from .cel_source import read_cel
from .core.celcalls import calls_from_cel
from .core.keep import INCOMPLETE
from .pipeline import Pipeline

log = logging.getLogger(__name__)

LOOKBACK = 4 * 3600.0    # a call ending in the gap may have started this long before it (read its start too)
MARGIN = 300.0           # calls ending this long before the gap: the writer may not have stored them yet


@dataclass
class Recovered:
    """What one recovery found."""

    calls: int = 0        # handed to the pipeline
    known: int = 0        # already stored or in progress
    skipped_lines: int = 0


def recover(pipeline: Pipeline, store, source: str, since: float, until: Optional[float] = None,
            trunks: frozenset[str] = frozenset(), lookback: float = LOOKBACK) -> Recovered:
    """Judge and hand to the pipeline's sinks every call that ended in ``[since, until)`` per the CEL."""
    read = read_cel(source, since - lookback, until)
    records = [r for r in calls_from_cel(read.rows, trunks) if r.end >= since and (until is None or r.end < until)]
    stored = store.stored_knowledge([r.linkedid for r in records]) if records else {}
    live = set(pipeline.tracker.calls) | set(pipeline.judged)
    out = Recovered(skipped_lines=read.skipped)
    for record in records:
        old = stored.get(record.linkedid)
        if record.linkedid in live or (old is not None and old.knowledge.kind > INCOMPLETE):
            out.known += 1
            continue
        pipeline.judge(record)
        out.calls += 1
    return out

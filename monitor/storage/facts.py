"""Per-call report facts: everything ``telmon report`` reads about one call, in one ``call_facts`` row.

Why (issue 17): the report used to assemble each call from seven tables (a verdict probe
per rule and a subquery per child table: 15 s for the query alone on a SQLite month of
1 M calls, mostly random index probes). The write path already holds every piece, so
``Store.save_calls`` writes this row next to the call, ``Store.set_verdict`` (R8 settled
later, a late speech verdict, a reviewer's decision) rewrites its verdict columns, and a
month is one range scan of ``call_facts`` by start time.

What is stored is only what does *not* depend on how the report is made: the masked
numbers, who answered (or, for an unanswered call, every office-phone candidate with its
ringing seconds), the answered offer's ringing seconds, the longest wait, transfers and
lost transfers, and per report rule its result, its value as printed (``value_text``),
and its evidence when it failed (``evidence_text``). The directory (names, which
extensions are office phones), the ring cadence, the thresholds and the time zone are
applied when the report is made, so changing any of them needs no rebuild. A change to
``report/evidence.py``'s texts or to this module *does*: a migration then rebuilds the
facts (``rebuild.build_missing`` after deleting them).

Values are taken as they read back from the database (a JSON round trip for anything
but scalars), so the facts equal what is derived from the call ``Store.load_calls`` gives
back (``tests/report_oracle.py`` checks the report made from them against a fold of those).
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from sqlalchemy import Table, insert

from ..core.charter import CALL_RULES, SPEECH_RULES
from ..core.record import LEG_TRANSFER, OUTBOUND, CallRecord
from ..core.rules import Verdict
from ..core.charter import rung_unanswered, staff_extension
from ..core.masking import mask_number
from ..report.evidence import evidence_text, is_reviewed, value_text
from .convert import offer_index
from .models import CallFactsRow

# Reviewed speech verdicts, as bits (R2 1, R3 2, R7 4); a change of SPEECH_RULES needs a facts rebuild.
REVIEW_BITS: dict[str, int] = {rule: 1 << i for i, rule in enumerate(SPEECH_RULES)}
SEP = "\x1f"                                            # ASCII unit separator: in no result, number or bit
FACTS: Table = CallFactsRow.__table__   # type: ignore[assignment]
_RULE_COLUMNS = tuple((r, r.lower(), f"{r.lower()}_value") for r in CALL_RULES)   # (rule, result, value column)
_SCALARS = (str, int, float, type(None))
_CACHE_LIMIT = 50_000
_masks: dict[str, str] = {}     # number -> masked (extensions and a company's own numbers recur)
_texts: dict[tuple[str, type, Any], str] = {}   # (rule, type, scalar value) -> value_text


def _mask(number: Optional[str]) -> str:
    if not number:
        return ""
    masked = _masks.get(number)
    if masked is None:
        masked = mask_number(number)
        if len(_masks) < _CACHE_LIMIT:
            _masks[number] = masked
    return masked


def tally_text(results: list[str], reviewed: int, r1_rings: Optional[int], r8_never: bool) -> str:
    """The ``tally`` column: every verdict fact the month's tallies count, in one short text.

    A month's reader counts calls by this text (with who, when and the call's outcome), and
    decodes each distinct text once (:func:`parse_tally`): one column read a call instead of ten.
    """
    return SEP.join([*results, str(reviewed), "" if r1_rings is None else str(r1_rings), "1" if r8_never else ""])


def parse_tally(text: str) -> tuple[list[str], int, Optional[int], bool]:
    """(results in ``CALL_RULES`` order, '' for none; reviewed bits; R1's judged rings; R8 never called back)."""
    parts = text.split(SEP)
    n = len(CALL_RULES)
    return parts[:n], int(parts[n]), int(parts[n + 1]) if parts[n + 1] else None, parts[n + 2] == "1"


def verdict_values(verdicts: Mapping[str, Verdict], decoded: bool = False) -> dict[str, Any]:
    """The verdict columns of a call's facts (``decoded``: the values were read from the database).

    A verdict whose result is '' would read as "no verdict": no rule gives that result.
    """
    out: dict[str, Any] = {}
    results: list[str] = []
    whys: list[list[str]] = []
    reviewed = 0
    r1_rings: Optional[int] = None
    r4_wait: Optional[float] = None
    r8_never = False
    for rule, col, vcol in _RULE_COLUMNS:
        v = verdicts.get(rule)
        if v is None:
            out[col] = out[vcol] = ""
            results.append("")
            continue
        if not decoded and not isinstance(v.value, _SCALARS):
            # As the database gives it back (tuples become lists, keys strings).
            v = Verdict(v.rule, v.result, json.loads(json.dumps(v.value)), v.detail)
        result, value = v.result, v.value
        out[col] = result
        if isinstance(value, _SCALARS):
            # By type too: 1, 1.0 and True print differently but are equal keys.
            key = (rule, type(value), value)
            text = _texts.get(key)
            if text is None:
                text = value_text(v)
                if len(_texts) < _CACHE_LIMIT:
                    _texts[key] = text
            out[vcol] = text
        else:
            out[vcol] = value_text(v)
        results.append(result)
        if result == "fail":
            whys.append([rule, out[vcol], evidence_text(v)])
        if rule in REVIEW_BITS:
            if is_reviewed(v):
                reviewed |= REVIEW_BITS[rule]
        elif result == "pass" or result == "fail":
            if rule == "R1" and isinstance(value, int):
                r1_rings = int(value)
            elif rule == "R4" and isinstance(value, (int, float)):
                r4_wait = float(value)
        if rule == "R8" and result == "fail":
            r8_never = value is None
    out.update(fails=len(whys), r4_wait=r4_wait, tally=tally_text(results, reviewed, r1_rings, r8_never),
               why=json.dumps(whys, ensure_ascii=False) if whys else None)
    return out


def call_values(record: CallRecord, department: Optional[str]) -> dict[str, Any]:
    """The call columns of a call's facts (everything but the verdicts)."""
    outbound = record.direction == OUTBOUND
    rang = None
    if not record.answered_by and not outbound:
        # Who let it ring: the candidates as the charter lists them; the directory decides at
        # report time which are office phones (monitor/core/charter.py charged_of).
        rang = json.dumps(rung_unanswered(record), ensure_ascii=False)
    ring_secs = None
    for offer in record.offers:   # CallRecord.answered_offer, without the property's generator
        if offer.answered_at is not None and offer.leg != LEG_TRANSFER:
            ring_secs = None if offer.to_trunk else offer.ring_seconds
            break
    longest = record.longest_wait if record.waits else None
    lost = 0
    if record.transfers:
        # As stored: a transfer's target is kept by position, so a target that is not one of the
        # call's offers reads back as none (lost), whatever it says in memory.
        offers = record.offers
        for t in record.transfers:
            i = offer_index(offers, t.target)
            lost += i is None or offers[i].answered_at is None
    return {
        "started_at": record.start, "linkedid": record.linkedid, "direction": record.direction,
        "caller": _mask(record.caller), "dialed": _mask(record.dialed), "outcome": record.outcome,
        "department": department, "person": staff_extension(record) or ("" if outbound else None),
        "rang": rang, "ring_secs": ring_secs,
        "longest_wait": round(longest.seconds, 1) if longest is not None else None,   # as the call sheet shows it
        "transfers": len(record.transfers), "lost": lost,
    }


def facts_values(record: CallRecord, verdicts: Mapping[str, Verdict], department: Optional[str],
                 decoded: bool = False) -> dict[str, Any]:
    """Every column of a call's facts but ``call_id``."""
    values = call_values(record, department)
    values.update(verdict_values(verdicts, decoded))
    return values


FACT_COLUMNS = tuple(c.name for c in FACTS.c)
_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_facts(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Insert facts rows (``call_id`` included) with the driver's own ``executemany`` of tuples.

    SQLAlchemy's executemany of dicts processes every parameter of every row in Python
    (~19 µs a 36-column row here, more than deriving the facts); the driver binds tuples in C.
    """
    mark = _MARKS.get(conn.dialect.paramstyle)
    if mark is None:
        conn.execute(insert(FACTS), rows)
        return
    sql = f"INSERT INTO call_facts ({', '.join(FACT_COLUMNS)}) VALUES ({', '.join([mark] * len(FACT_COLUMNS))})"
    conn.exec_driver_sql(sql, [tuple([r[c] for c in FACT_COLUMNS]) for r in rows])

"""Terminal output: the readable verdict table and one-line live verdicts.

Caller numbers are personal data: the table and the ``--json`` lines mask them
alike (``010-****-5678``, monitor/masking.py); ``--unmasked --reason`` shows them
whole, and that is logged.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Iterable, Mapping, Optional, TextIO

from .core.cadence import Cadence
from .core.charter import TABLE_RULES   # the greeting rules are blank until checked
from .core.export import call_json
from .core.record import CallRecord
from .core.rules import Verdict
from .core.masking import mask_number

MARK = {"pass": "ok", "fail": "FAIL", "n/a": "-", "pending": "wait", "unclear": "?"}


def _dialed(record: CallRecord) -> str:
    # Outbound, the dialled number is the customer's: personal data like a caller's number.
    return mask_number(record.dialed) if record.direction == "outbound" else (record.dialed or "")


def _clock(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def verdict_line(record: CallRecord, verdicts: Mapping[str, Verdict], cadence: Cadence,
                 department: Optional[str]) -> str:
    """One line per finished call, for the live demo and ``telmon run``."""
    rings = ""
    offer = record.answered_offer
    if offer is not None and not offer.to_trunk:
        rings = f" ring {cadence.rings(offer.ring_seconds)} ({offer.ring_seconds:.1f}s)"
    marks = " ".join(f"{k}:{MARK.get(v.result, v.result)}" for k, v in sorted(verdicts.items()))
    who = f" by {mask_number(record.answered_by)}" if record.answered_by else ""   # outbound: the customer
    dept = f" [{department}]" if department else ""
    return (f"{_clock(record.start)} {record.direction:8} {mask_number(record.caller):>14} -> "
            f"{_dialed(record):<11} {record.outcome:<10}{who}{dept}{rings}  {marks}")


def print_table(rows: Iterable[tuple[CallRecord, Mapping[str, Verdict], Optional[str]]],
                cadence: Cadence, out: TextIO) -> int:
    """The readable verdict table of ``telmon replay`` and ``telmon calls``; returns the row count."""
    rules = "".join(f"{r:5}" for r in TABLE_RULES).rstrip()
    header = (f"{'start':19}  {'direction':9} {'caller':>14}  {'dialed':11} {'outcome':10} "
              f"{'answered':9} {'department':12} {'rings':>5} {'wait s':>7}  {rules}")
    print(header, file=out)
    print("-" * len(header), file=out)
    n = 0
    for record, verdicts, department in rows:
        offer = record.answered_offer
        rings = str(cadence.rings(offer.ring_seconds)) if offer is not None and not offer.to_trunk else ""
        longest = record.longest_wait
        wait = f"{longest.seconds:.1f}" if longest else ""
        marks = "".join(f"{MARK.get(verdicts[r].result, verdicts[r].result) if r in verdicts else '':5}"
                        for r in TABLE_RULES)
        print(f"{_clock(record.start)}  {record.direction:9} {mask_number(record.caller):>14}  "
              f"{_dialed(record):11.11} {record.outcome:10} {mask_number(record.answered_by):9} "
              f"{(department or ''):12.12} {rings:>5} {wait:>7}  {marks.rstrip()}", file=out)
        n += 1
    return n


def print_json(record: CallRecord, verdicts: Mapping[str, Verdict], cadence: Cadence,
               department: Optional[str], out: TextIO, unmasked: bool = False) -> None:
    """One JSON object per line (the stable ``--json`` format); numbers masked unless ``unmasked``.

    The greeting checks' verdicts (R2, R3, R7, with a reviewer's decision) are in it too:
    ``core/charter.TABLE_RULES`` lists them after R1, R4, R5, R8.
    """
    data = call_json(record, verdicts, cadence, department)
    print(json.dumps(data if unmasked else mask_call_json(data), ensure_ascii=False), file=out)


def mask_call_json(data: dict) -> dict:
    """The ``--json`` object with every phone number masked as the table shows it (extensions stay)."""
    out = dict(data)
    for key in ("caller", "remote_number", "answered_by"):
        if isinstance(out.get(key), str):
            out[key] = mask_number(out[key])
    if out.get("direction") == "outbound" and isinstance(out.get("dialed"), str):
        out["dialed"] = mask_number(out["dialed"])    # as the table: the customer's number (_dialed)
    for key, fields in (("offers", ("extension",)), ("transfers", ("by", "to")), ("holds", ("by",))):
        if isinstance(out.get(key), list):
            out[key] = [dict(item, **{f: mask_number(item[f]) for f in fields if isinstance(item.get(f), str)})
                        for item in out[key]]
    return out

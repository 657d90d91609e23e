"""A call as judged: its record, its verdicts by rule and the department that owns it.

One type for every stage after the tracker: the pipeline hands it to sinks when a
call ends, the store reads it back, reports and the workbench fold it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .record import CallRecord
from .rules import Verdict


@dataclass
class JudgedCall:
    """A finished call with its verdicts (rule id -> verdict) and owning department (None: unknown)."""

    record: CallRecord
    verdicts: dict[str, Verdict]
    department: Optional[str]

"""Every office feature telmon must follow, driven on the real PBX with scripted SIP phones.

Each scenario places real calls on the lab PBX and returns its ground truth: the
calls as the phones' own clocks saw them (``truth.py``). ``Lab.ring``/``Lab.t``
give the nominal timings for the committed captures and fresh ones for the live
tests, so the tracker is checked on Asterisk's behaviour, not on one recording.
Caller numbers are distinct per call so a record is found by caller and dialled number.
"""
from __future__ import annotations

from . import answering, handover  # noqa: F401  (each registers its scenarios)
from .steps import SCENARIOS, Scenario

__all__ = ["SCENARIOS", "Scenario"]

"""How phone numbers are masked, defined once (Korea's PIPA: caller numbers are personal data).

Tables, JSON lines, reports, logs, metrics and error messages show numbers masked
(``010-****-5678``); extensions (six digits or fewer) are not personal data and
stay. Showing a full number is an adapter's decision, taken only with a role that
allows it and a logged reason (``monitor/masking.py``, the workbench).
"""
from __future__ import annotations

import re
from typing import Optional

_LONG_NUMBER = re.compile(r"(?<![\d.])\+?\d[\d -]{5,}\d(?![\d.])")
# A date (and time) as log lines and reports print it: digits and dashes like a number, not one.
_DATE_TIME = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[ T][0-2]\d(?=:))?")


def mask_number(number: Optional[str]) -> str:
    """Hide the middle of a phone number: 01012345678 -> 010-****-5678; extensions stay."""
    if not number:
        return ""
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) <= 6:
        return number           # an extension, not personal data
    head = digits[:3] if digits.startswith("01") or len(digits) > 9 else digits[:2]
    return f"{head}-{'*' * 4}-{digits[-4:]}"


def scrub(text: str) -> str:
    """``text`` with every phone-number-like run of 7+ digits masked (timestamps, dates and ids with a dot stay)."""
    return _LONG_NUMBER.sub(_mask_match, text)


def _mask_match(m: "re.Match[str]") -> str:
    found = m.group(0)
    date = _DATE_TIME.match(found)
    if date is not None:   # a date leading the run (a log line's time): kept, the rest judged on its own
        return date.group(0) + scrub(found[date.end():])
    return mask_number(found) if sum(c.isdigit() for c in found) > 6 else found

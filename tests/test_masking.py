"""The masking policy (monitor/core/masking.py): numbers hidden, dates, times and ids kept."""
from __future__ import annotations

import logging

import pytest

from monitor.core.masking import mask_number, scrub
from monitor.masking import ScrubbingFormatter


@pytest.mark.parametrize("number, masked", [
    ("01012345678", "010-****-5678"), ("010-1234-5678", "010-****-5678"), ("0312345678", "031-****-5678"),
    ("6831", "6831"), ("", ""), (None, ""),
])
def test_mask_number(number, masked):
    assert mask_number(number) == masked


@pytest.mark.parametrize("text, want", [
    ("call from 01012345678 ended", "call from 010-****-5678 ended"),
    ("031-123-4567 and 02 123 4567", "031-****-4567 and 02-****-4567"),
    ("2026-12-01 19:07:01,123 INFO x", "2026-12-01 19:07:01,123 INFO x"),          # a log line's time
    ("2026-12-01 01012345678", "2026-12-01 010-****-5678"),                      # a date, then a number
    ("at 2026-12-01T09:00 on 1764616021.123", "at 2026-12-01T09:00 on 1764616021.123"),
    ("linkedid 1764616021.55 ext 6831", "linkedid 1764616021.55 ext 6831"),
    ("9999-99-99 12", "999-****-9912"),                                          # not a date: a number
])
def test_scrub_masks_numbers_and_keeps_dates(text, want):
    assert scrub(text) == want


def test_log_lines_keep_their_time_and_lose_the_number():
    fmt = ScrubbingFormatter("%(asctime)s %(message)s")
    record = logging.LogRecord("telmon", logging.INFO, __file__, 1, "caller %s hung up", ("01098765432",), None)
    line = fmt.format(record)
    assert "010-****-5432" in line and "98765432" not in line
    assert line[:10] == fmt.formatTime(record)[:10] and "*" not in line[:23]

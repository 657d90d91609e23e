"""The speed-ups of issue 7 (docs/BENCHMARKS.md) change nothing a user can see.

Each fast path is compared with the slow code it bypasses, on the real captures
and on the edge cases the fast path hands back to the slow code.
"""
from __future__ import annotations

import json

import pytest

from conftest import TRACES
from monitor.ami.codec import AmiDecoder, Message, _fast_headers
from monitor.core.callback import CallbackBook, MissedCall
from monitor.core.channels import number_key, same_number
from monitor.pipeline import Pipeline
from monitor.config import load_settings
from monitor.core.tracker import TrackerOptions
from monitor.storage.convert import CHILD_TABLES, insert_values
from monitor.storage.models import CallRow


def _slow_headers(lines: list[str]) -> dict[str, str] | None:
    """The careful loop of AmiDecoder._parse, for plain frames (first value of a key wins)."""
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or not key or key.startswith(" "):
            return None
        out.setdefault(key, value[1:] if value.startswith(" ") else value)
    return out


@pytest.mark.parametrize("lines", [
    ["Event: A", "Key: v"], ["Event: A", "Key:v"], ["Event: A", "Key: "], ["Event: A", "Key:"],
    ["Event: A", "K: : x"], ["Event: A", "K:  two spaces"], ["Event: A", "a:b: c"], ["Event: A", " K: v"],
    ["Event: A", ": v"], ["Event: A", "K: 1", "K: 2"], ["Key: v"], ["Response: Success", "free text"],
])
def test_fast_headers_agree_with_the_loop_or_decline(lines):
    msg = Message(0)
    if _fast_headers(msg, lines):
        assert dict(msg) == _slow_headers(lines)
        assert msg.repeated is None
    else:
        assert dict(msg) == {}


def test_every_captured_frame_decodes_as_before():
    for path in sorted(TRACES.glob("*.ami")):
        data = path.read_bytes()
        for item in AmiDecoder().feed(data):
            if isinstance(item, Message) and item.repeated is None and item.data is None:
                end = data.index(b"\r\n\r\n", item.offset)
                lines = data[item.offset:end].decode("utf-8", "replace").split("\r\n")
                assert dict(item) == _slow_headers(lines)


@pytest.mark.parametrize("a,b", [("+821012345678", "01012345678"), ("6831", "6831"), ("6831", "06831"),
                                 ("123456789", "0123456789"), ("12345678", "012345678"), ("anon", "anon"),
                                 ("", "1"), ("1-2-3", "123")])
def test_number_key_is_same_number(a, b):
    assert (number_key(a) is not None and number_key(a) == number_key(b)) == same_number(a, b)


def test_callback_index_follows_expire_and_restore():
    book = CallbackBook(100.0, lambda ext: None)
    book.restore([MissedCall("L1", "01012345678", None, 0.0), MissedCall("L2", "0212345678", None, 5.0)])
    assert [m for m, _ in book.expire(102.0)] == ["L1"]
    assert book._by_number == {"212345678": {"L2": None}}


def test_insert_values_fill_every_column():
    """The one record -> row mapping (``convert.insert_values``) leaves no column of any table to its default."""
    settings = load_settings(None, {}, {})
    got = []
    pipeline = Pipeline(settings.cadence_obj, settings.thresholds_obj, TrackerOptions(), lambda e: None, [])
    pipeline.sinks.append(type("S", (), {"call_finished": lambda self, f: got.append(f),
                                         "verdict_settled": lambda self, *a: None})())
    for path in sorted(TRACES.glob("*.ami")):
        pipeline.feed_bytes(path.read_bytes())
        pipeline.end_stream()
    pipeline.flush("end")
    assert len(got) >= 24
    call_cols = {c.key for c in CallRow.__table__.columns} - {"id"}
    seen = [0] * len(CHILD_TABLES)
    for f in got:
        call, children = insert_values(f.record, f.verdicts, f.department)
        assert set(call) == call_cols
        for n, (table, params) in enumerate(zip(CHILD_TABLES, children)):
            keys = {c.key for c in table.__table__.columns} - {"id", "call_id"}
            assert all(set(p) == keys for p in params), table.__tablename__
            seen[n] += len(params)
    assert all(seen), seen    # the captures have offers, transfers, holds, waits and verdicts
    json.dumps([insert_values(f.record, f.verdicts, f.department)[0] for f in got])

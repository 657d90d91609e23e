"""R8: a missed inbound caller must be called back by the same department within the window."""
from __future__ import annotations

from conftest import TRACES, replay_bytes
from monitor.core.callback import CallbackBook
from monitor.core.channels import same_number

DEPTS = {"6833": "교류협력팀", "6834": "교류협력팀", "6812": "경영기획팀"}


def dept_of(ext: str):
    return DEPTS.get(ext)


def _missed():
    (rec,) = replay_bytes((TRACES / "c_inbound_abandon.ami").read_bytes()).records
    assert rec.outcome == "abandoned" and rec.caller == "0312345002"
    return rec


def _callback_from(ext: str, number: str):
    """The recorded outbound call h2 (6812 -> 021234567), re-dialled by ``ext`` to ``number``."""
    data = (TRACES / "h2_outbound_pstn.ami").read_bytes()
    data = data.replace(b"9021234567", b"9" + number.encode()).replace(b"021234567", number.encode())
    data = data.replace(b"6812", ext.encode())
    (rec,) = replay_bytes(data).records
    assert rec.direction == "outbound" and rec.remote_number == number
    return rec


def test_missed_call_is_pending_then_passes_on_callback_from_same_department():
    book = CallbackBook(24 * 3600, dept_of)
    missed = _missed()
    ((lid, v),) = book.observe(missed)
    assert lid == missed.linkedid and v.result == "pending"
    callback = _callback_from("6834", "0312345002")
    settled = book.observe(callback)
    assert settled[0][1].result == "n/a"                   # the callback itself is not missed
    ((lid, v),) = settled[1:]
    assert lid == missed.linkedid and v.result == "pass"
    assert v.value == round(callback.start - missed.end, 3) and "answered" in v.detail
    assert book.pending == {}


def test_callback_from_another_department_does_not_count():
    book = CallbackBook(24 * 3600, dept_of)
    missed = _missed()
    book.observe(missed)
    assert book.observe(_callback_from("6812", "0312345002"))[1:] == []
    assert missed.linkedid in book.pending


def test_window_closes_without_callback_fails():
    book = CallbackBook(3600, dept_of)
    missed = _missed()
    book.observe(missed)
    assert book.expire(missed.end + 3599) == []
    ((lid, v),) = book.expire(missed.end + 3601)
    assert lid == missed.linkedid and v.result == "fail" and "1 h" in v.detail


def test_late_callback_fails_with_its_delay():
    book = CallbackBook(60, dept_of)   # a one-minute window: the recorded callback is later
    missed = _missed()
    book.observe(missed)
    ((_, v),) = book.observe(_callback_from("6834", "0312345002"))[1:]
    assert v.result == "fail" and v.value > 60


def test_answered_and_withheld_calls_are_not_applicable():
    book = CallbackBook(3600, dept_of)
    (answered,) = replay_bytes((TRACES / "a_inbound_1ring.ami").read_bytes()).records
    assert book.observe(answered)[0][1].result == "n/a"
    missed = _missed()
    missed.caller = "anonymous"
    assert book.observe(missed)[0][1].result == "n/a"


def test_same_number_handles_country_codes_and_prefixes():
    assert same_number("01012345678", "+821012345678")
    assert same_number("0312345002", "0312345002")
    assert not same_number("01012345678", "01012345679")
    assert not same_number("6831", "6832")
    assert not same_number(None, "6832")

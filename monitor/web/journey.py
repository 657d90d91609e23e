"""A call's journey: every step in time order, and the bars of a timeline drawn without JavaScript.

From the stored :class:`~monitor.core.record.CallRecord`: the phones offered
(ring seconds and ring count, answered or how it ended), the queue wait, holds,
transfers (kind, by whom, to whom, answered or lost), the wait stretches, the
speech checks and every verdict. Values the tracker adds later (new outcomes,
transfer or wait kinds, dial statuses) are shown as stored (``labels.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..core.cadence import Cadence
from ..core.record import CallRecord
from ..core.masking import mask_number
from .labels import LEG, STATUS, TRANSFER, WAIT, label


@dataclass
class Step:
    """One line of the timeline."""

    at: float            # seconds from the call's start
    kind: str            # css class: call, offer, queue, hold, transfer, end
    title: str
    detail: str = ""


@dataclass
class Bar:
    """One bar of the timeline chart (percent of the call's length)."""

    label: str
    kind: str
    left: float
    width: float
    note: str = ""


def _who(directory: Any, extension: Optional[str]) -> str:
    if not extension:
        return ""
    person = directory.person(extension) if directory is not None else None
    return f"{extension} {person.name}" if person is not None else extension


def steps(record: CallRecord, cadence: Cadence, directory: Any, unmasked: bool = False) -> list[Step]:
    """Everything that happened to the caller, in time order."""
    t0 = record.start
    caller = record.caller if unmasked else mask_number(record.caller)
    out = [Step(0.0, "call", f"통화 시작: {caller or '알 수 없음'} → {record.dialed}")]
    if record.queue_joined_at is not None:
        wait = record.queue_wait_seconds
        out.append(Step(record.queue_joined_at - t0, "queue", f"대기열 {record.queue or ''} 진입",
                        f"대기 {wait:.1f}초" if wait is not None else ""))
    if record.queue_left_at is not None:
        out.append(Step(record.queue_left_at - t0, "queue", f"대기열 {record.queue or ''} 나감"))
    for offer in record.offers:
        rings = cadence.rings(offer.ring_seconds) if offer.ring_start is not None else 0
        how = "응답" if offer.answered else label(STATUS, offer.status)
        target = "외부 회선 " + (offer.extension if unmasked else mask_number(offer.extension)) \
            if offer.to_trunk else _who(directory, offer.extension)
        out.append(Step(offer.dial_start - t0, "offer", f"{target} 전화 울림 ({label(LEG, offer.leg)})",
                        f"벨 {offer.ring_seconds:.1f}초, {rings}번 울림 → {how}"))
        if offer.answered_at is not None:
            out.append(Step(offer.answered_at - t0, "answer", f"{target} 응답",
                            f"{rings}번째 벨에 응답" if rings else ""))
    for hold in record.holds:
        out.append(Step(hold.start - t0, "hold", f"보류 시작 ({_who(directory, hold.by)})",
                        f"{hold.seconds:.1f}초" if hold.end is not None else "끝나지 않음"))
        if hold.end is not None:
            out.append(Step(hold.end - t0, "hold", "보류 끝"))
    for tr in record.transfers:
        result = "받음" if tr.answered else ("받지 않음 — 발신자를 잃음" if tr.target is not None else "대상 없음")
        out.append(Step(tr.at - t0, "transfer",
                        f"{label(TRANSFER, tr.kind)}: {_who(directory, tr.by)} → {_who(directory, tr.to)}", result))
    out.append(Step(record.end - t0, "end", "통화 종료", record.incomplete_reason or ""))
    return sorted(out, key=lambda s: (s.at, s.kind == "end"))


def bars(record: CallRecord, directory: Any, unmasked: bool = False) -> list[Bar]:
    """The phones' ringing and talking, holds and waits as bars over the call's length."""
    length = max(record.end - record.start, 0.001)

    def pos(a: float, b: float) -> tuple[float, float]:
        left = min(max((a - record.start) / length * 100, 0.0), 100.0)
        return round(left, 2), round(max(min((b - a) / length * 100, 100.0 - left), 0.4), 2)

    out: list[Bar] = []
    for offer in record.offers:
        name = ("외부 " + (offer.extension if unmasked else mask_number(offer.extension))) if offer.to_trunk \
            else _who(directory, offer.extension)
        if offer.ring_start is not None:
            end = offer.ring_end if offer.ring_end is not None else record.end
            out.append(Bar(name, "ring", *pos(offer.ring_start, end), f"벨 {offer.ring_seconds:.1f}초"))
        if offer.answered_at is not None:
            # Talking ends when this phone hands the caller on (a transfer by it), else with the call.
            handed = [t.at for t in record.transfers if t.by == offer.extension and t.at >= offer.answered_at]
            out.append(Bar(name, "talk", *pos(offer.answered_at, min(handed, default=record.end)), "통화"))
    for wait in record.waits:
        out.append(Bar(label(WAIT, wait.kind), "wait", *pos(wait.start, wait.end), f"{wait.seconds:.1f}초"))
    return out

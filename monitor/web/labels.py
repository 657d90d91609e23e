"""Korean words for the values telmon stores; a value not listed here is shown as it is.

The tracker grows (voicemail, conference, park, IVR ...): an unknown outcome,
transfer kind, wait kind or dial status must never break a page, so every
lookup falls back to the raw value.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ..core.masking import mask_number

DIRECTION = {"inbound": "수신", "outbound": "발신", "internal": "내선"}
OUTCOME = {"answered": "응답", "abandoned": "포기(발신자 끊음)", "no_answer": "무응답", "busy": "통화 중",
           "rejected": "거절", "failed": "연결 실패", "incomplete": "불완전", "voicemail": "음성사서함",
           "conference": "회의 연결"}
TRANSFER = {"blind": "바로 돌려주기", "attended": "상담 후 돌려주기", "park": "파킹", "conference": "회의 연결",
            "voicemail": "음성사서함으로"}
WAIT = {"ringing": "벨 울림", "queue": "대기열", "hold": "보류", "transfer": "돌려주는 중", "park": "파킹",
        "ivr": "자동 응답(IVR)"}
STATUS = {"ANSWER": "응답", "NOANSWER": "무응답", "BUSY": "통화 중", "CANCEL": "취소(다른 전화가 받음/끊음)",
          "CHANUNAVAIL": "연결 불가", "CONGESTION": "혼잡", "DONTCALL": "거부", "TORTURE": "거부",
          "INVALIDARGS": "잘못된 번호", "PICKUP": "당겨받기", "PICKEDUP": "다른 전화가 당겨받음",
          "UNPARK": "파킹 해제", "CONFERENCE": "회의", "": "—"}
RESULT = {"pass": "통과", "fail": "위반", "unclear": "불분명", "n/a": "해당 없음", "pending": "대기 중"}
RULE = {"R1": "R1 세 번째 벨 전 응답", "R2": "R2 늦은 응답 사과", "R3": "R3 부서·이름 밝히기",
        "R4": "R4 3분 넘는 대기 없음", "R5": "R5 돌려주기로 끊기지 않음", "R7": "R7 발신 시 소속·통화 가능 여부",
        "R8": "R8 놓친 전화 회신"}
ITEM = {"department": "부서", "name": "이름", "apology": "사과", "ask": "통화 가능 여부 묻기"}
LEG = {"direct": "직접", "queue": "대기열", "transfer": "돌려주기"}


def label(table: dict[str, str], value: Optional[str]) -> str:
    """The Korean word for ``value`` in ``table``, or the value itself."""
    if value is None:
        return ""
    return table.get(value, value)


def clock(ts: Optional[float], seconds: bool = True) -> str:
    """Local date and time."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def offset(seconds: Optional[float]) -> str:
    """+m:ss.s from the start of the call."""
    if seconds is None:
        return ""
    m, s = divmod(max(0.0, seconds), 60)
    return f"+{int(m)}:{s:04.1f}"


def secs(value: Optional[float]) -> str:
    """Seconds with one decimal, or a dash."""
    return "—" if value is None else f"{value:.1f}초"


def filters() -> dict[str, object]:
    """The Jinja filters and globals the templates use."""
    return {
        "direction": lambda v: label(DIRECTION, v), "outcome": lambda v: label(OUTCOME, v),
        "transfer": lambda v: label(TRANSFER, v), "wait": lambda v: label(WAIT, v),
        "status": lambda v: label(STATUS, v), "result": lambda v: label(RESULT, v),
        "rule": lambda v: label(RULE, v), "item": lambda v: label(ITEM, v), "leg": lambda v: label(LEG, v),
        "clock": clock, "offset": offset, "secs": secs, "mask": mask_number,
    }

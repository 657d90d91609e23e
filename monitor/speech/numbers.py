"""Numbers written as digits, spelled out as a Korean speaker says them.

Whisper writes what it hears in digits ("3층", "30분", "1시간"), Vosk and the
directory in Hangul (삼층, 삼십분, 한시간): compared letter by letter the two never
match. Korean has two readings: Sino-Korean (일 이 삼: floors, minutes, months,
money, phone numbers) and native (한 두 세: hours, counted things and people),
chosen by the counter that follows. Only the common counters are known; anything
else is read the Sino-Korean way, as numbers in names and departments are
(제2민원실: 제이민원실).
"""
from __future__ import annotations

import re

_SINO_DIGITS = ("", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_SINO_UNITS = ((1000, "천"), (100, "백"), (10, "십"))
_NATIVE_ONES = ("", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_ONES_BEFORE_COUNTER = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
# Counters read with native numbers (한 시간, 두 명, 세 개); 시 (o'clock) too, 분 (minutes) is Sino-Korean.
NATIVE_COUNTERS = ("시간", "시", "명", "개", "살", "마리", "번째", "번", "잔", "분들", "달", "사람", "가지",
                   "군데", "장")
_MONTHS = {6: "유", 10: "시"}    # 유월, 시월: the 월 that follows stays
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def sino(n: int) -> str:
    """The Sino-Korean reading of a whole number (0 is 영; 10 is 십, not 일십; 16000 is 만육천)."""
    if n == 0:
        return "영"
    out = []
    for unit, name in ((10 ** 12, "조"), (10 ** 8, "억"), (10 ** 4, "만")):
        if n >= unit:
            head, n = divmod(n, unit)
            out.append(("" if head == 1 and unit == 10 ** 4 else _below_10000(head)) + name)
    out.append(_below_10000(n))
    return "".join(out)


def _below_10000(n: int) -> str:
    out = []
    for unit, name in _SINO_UNITS:
        if n >= unit:
            head, n = divmod(n, unit)
            out.append(("" if head == 1 else _SINO_DIGITS[head]) + name)
    out.append(_SINO_DIGITS[n])
    return "".join(out)


def native(n: int, before_counter: bool = True) -> str:
    """The native reading of 1-99 (한, 두, 스무 before a counter); Sino-Korean beyond."""
    if not 0 < n < 100:
        return sino(n)
    tens, ones = divmod(n, 10)
    if before_counter and tens == 2 and ones == 0:
        return "스무"
    ones_names = _NATIVE_ONES_BEFORE_COUNTER if before_counter else _NATIVE_ONES
    return _NATIVE_TENS[tens] + ones_names[ones]


def spell_numbers(text: str, following: str = "") -> str:
    """``text`` with every number spelled out; ``following`` is the next word (its counter may stand there)."""
    def spell(m: re.Match) -> str:
        digits = m.group(0)
        if "." in digits:      # a decimal: each side Sino-Korean, "점" between
            whole, _, frac = digits.replace(",", "").partition(".")
            return sino(int(whole)) + "점" + "".join(_SINO_DIGITS[int(d)] or "영" for d in frac)
        n = int(digits.replace(",", ""))
        after = (text[m.end():] or following).lstrip()
        if after.startswith("월") and n in _MONTHS:
            return _MONTHS[n]
        if n < 100 and after.startswith(NATIVE_COUNTERS) and not after.startswith("시간대"):
            return native(n)
        return sino(n)
    return _NUMBER.sub(spell, re.sub(r"(\d)\s*,\s*(\d{3})(?!\d)", r"\1\2", text))

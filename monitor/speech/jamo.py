"""Korean text compared at the level of jamo (the letters inside each Hangul syllable).

A recognizer that mishears one letter of a syllable (교류 heard as 규류) should
cost one letter, not a whole syllable: every Hangul syllable is decomposed into
its initial consonant, vowel and optional final consonant (Unicode arithmetic,
no tables), spaces are dropped (Korean spacing varies), and the expected phrase
is looked for anywhere in the transcript with an edit-distance alignment that
lets the transcript start and end anywhere (a semi-global alignment).
"""
from __future__ import annotations

from dataclasses import dataclass

_BASE, _LAST = 0xAC00, 0xD7A3
_INITIALS = 19 * 0 + 19
_MEDIALS = 21
_FINALS = 28


def to_jamo(text: str) -> str:
    """Decompose Hangul syllables into jamo; drop spaces and punctuation; keep other letters."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if _BASE <= code <= _LAST:
            index = code - _BASE
            initial, rest = divmod(index, _MEDIALS * _FINALS)
            medial, final = divmod(rest, _FINALS)
            out.append(chr(0x1100 + initial))
            out.append(chr(0x1161 + medial))
            if final:
                out.append(chr(0x11A7 + final))
        elif ch.isalnum():
            out.append(ch.lower())
    return "".join(out)


@dataclass(frozen=True)
class Match:
    """Where (in jamo positions of the transcript) and how well a phrase was found."""

    similarity: float    # 1.0 = exact, 0.0 = nothing alike
    start: int
    end: int


def find(phrase: str, transcript: str) -> Match:
    """The best fuzzy occurrence of ``phrase`` in ``transcript`` (both plain text)."""
    p, t = to_jamo(phrase), to_jamo(transcript)
    if not p:
        return Match(0.0, 0, 0)
    if not t:
        return Match(0.0, 0, 0)
    # Semi-global Levenshtein: free start and end in the transcript.
    prev = [0] * (len(t) + 1)
    starts_prev = list(range(len(t) + 1))
    for i in range(1, len(p) + 1):
        cur = [i] + [0] * len(t)
        starts_cur = [0] * (len(t) + 1)
        for j in range(1, len(t) + 1):
            sub = prev[j - 1] + (p[i - 1] != t[j - 1])
            dele = prev[j] + 1
            ins = cur[j - 1] + 1
            best = min(sub, dele, ins)
            cur[j] = best
            if best == sub:
                starts_cur[j] = starts_prev[j - 1]
            elif best == dele:
                starts_cur[j] = starts_prev[j]
            else:
                starts_cur[j] = starts_cur[j - 1]
        prev, starts_prev = cur, starts_cur
    end = min(range(len(t) + 1), key=lambda j: (prev[j], -j))
    distance = prev[end]
    return Match(max(0.0, 1.0 - distance / len(p)), starts_prev[end], end)


def similarity(a: str, b: str) -> float:
    """How alike two texts are as wholes (1.0 = the same jamo, spaces ignored)."""
    p, t = to_jamo(a), to_jamo(b)
    if not p or not t:
        return 0.0
    prev = list(range(len(t) + 1))
    for i in range(1, len(p) + 1):
        cur = [i] + [0] * len(t)
        for j in range(1, len(t) + 1):
            cur[j] = min(prev[j - 1] + (p[i - 1] != t[j - 1]), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return max(0.0, 1.0 - prev[-1] / max(len(p), len(t)))

"""The per-call grammar: the words Vosk may choose from when it hears one greeting.

Free recognition of Korean telephone speech is useless for this check (character
error rate about 0.7 at 8 kHz); a small grammar built for the call is both far
more accurate and ~15x faster. It holds the expected department and person
(split into words the model knows: 교류협력팀 -> 교류 협력 팀), the other
departments and people of the directory as distractors (so a colleague's name
is heard as that colleague, not forced onto the expected one), greeting,
apology and outbound-opening words, fillers, and ``[unk]`` where the model has it.
"""
from __future__ import annotations

from typing import Callable, Iterable

Known = Callable[[str], bool]

GREETING_WORDS = ("안녕하세요", "감사합니다", "네", "여보세요", "반갑습니다", "부산", "국제", "교류재단", "재단",
                  "입니다", "이에요", "예요", "저는", "담당", "담당자", "전화", "받았습니다", "고객", "님")
APOLOGY_WORDS = ("죄송합니다", "죄송", "늦게", "받아서", "기다리게", "기다리시게", "해서", "미안합니다")
ASK_WORDS = ("통화", "가능", "가능하세요", "가능하신가요", "괜찮", "괜찮으신가요", "시간", "잠시", "지금", "여쭤")
FILLERS = ("음", "어", "아", "그", "저")


def split_known(phrase: str, known: Known) -> list[str]:
    """Split a phrase into words the model knows: whole words first, then the longest known pieces.

    Single letters nobody knows are returned too; :func:`build_grammar` drops
    every word the model does not know (Vosk could not use it anyway).
    """
    out: list[str] = []
    for token in phrase.split():
        if known(token):
            out.append(token)
            continue
        i = 0
        while i < len(token):
            for j in range(len(token), i, -1):
                if known(token[i:j]) or j == i + 1:
                    out.append(token[i:j])
                    i = j
                    break
    return out


def build_grammar(expected: Iterable[str], distractors: Iterable[str], known: Known,
                  extra: Iterable[str] = ()) -> list[str]:
    """The grammar (a list of words and ``[unk]``) for one call."""
    words: list[str] = []
    for phrase in list(expected) + list(distractors) + list(extra):
        words.extend(split_known(phrase, known))
    words.extend(w for w in GREETING_WORDS + APOLOGY_WORDS + ASK_WORDS + FILLERS if known(w))
    seen: set[str] = set()
    unique = [w for w in words if w and not (w in seen or seen.add(w)) and known(w)]
    # "[unk]" soaks up words outside the grammar, where the model has it (the small
    # Korean model does not).
    return unique + (["[unk]"] if known("[unk]") else [])

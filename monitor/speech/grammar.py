"""The per-call grammar: the words Vosk may choose from when it hears one greeting.

Free recognition of Korean telephone speech is useless for this check (character
error rate about 0.7 at 8 kHz); a small grammar built for the call is both far
more accurate and ~15x faster. It holds the expected department and person
(split into words the model knows: 교류협력팀 -> 교류 협력 팀), the other
departments and people of the directory as distractors (so a colleague's name
is heard as that colleague, not forced onto the expected one), greeting,
apology and outbound-opening words, everyday words as competitors, and ``[unk]``
where the model has it.
"""
from __future__ import annotations

from typing import Callable, Iterable

Known = Callable[[str], bool]

GREETING_WORDS = ("안녕하세요", "감사합니다", "네", "여보세요", "반갑습니다", "부산", "국제", "교류재단", "재단",
                  "입니다", "이에요", "예요", "저는", "담당", "담당자", "전화", "받았습니다", "고객", "님")
APOLOGY_WORDS = ("죄송합니다", "죄송", "늦게", "받아서", "기다리게", "기다리시게", "해서", "미안합니다")
ASK_WORDS = ("통화", "가능", "가능하세요", "가능하신가요", "괜찮", "괜찮으신가요", "시간", "잠시", "지금", "여쭤")
FILLERS = ("음", "어", "아", "그", "저")
# Everyday words as competitors. Without them a grammar of a few names has nothing
# else to offer, and speech is forced onto the expected name: on real 16 kHz speech
# a wrong name was accepted in 0.11 of trials; with these 0.02 (recall of true
# greetings 0.84 -> 0.78). Measured with bench/greeting_eval.py; see docs/SPEECH.md.
COMMON_WORDS = tuple("""이 그 저 것 수 등 더 안 못 잘 좀 다 또 및 때 곳 분 일 년 월 시 원 명 개 번 말
일을 것을 것이 수가
있습니다 합니다 했습니다 됩니다 하는 하고 하며 있는 없는 같은 다른 모든 어떤 그리고 그래서 하지만 그런데 또는 만약
지금 오늘 내일 어제 여기 거기 우리 저희 제가 저는 나는 너 당신 뭐 왜 어디 언제 누구 어떻게 많이 정말 진짜 너무 아주
매우 바로 먼저 함께 혹시 아직 이미 항상 다시 계속 사람 시간 문제 경우 생각 회사 학교 나라 세상 마음 이번 다음 처음
정도 부분 이후 이전 관련 대한 위해 통해 따라 대해 중 후 전 안에 위에 아래 사이 하나 둘 셋 넷 다섯 여섯 일곱 여덟
아홉 열 고객님 선생님 문의 확인 신청 접수 처리 안내 연락 요청 서비스 예약 변경 취소 결제 주문 배송 상품 가격 방법
내용 결과 정보 자료 서류 이용 사용 가능 불가능 필요 직접 전화번호 담당자 부서 센터 본사 지점""".split())


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
    """The grammar (phrases, words and ``[unk]``) for one call.

    Vosk estimates a bigram language model from the grammar's entries, so each
    department and name that splits into several model words is also given as
    one entry ("교류 협력 팀"): the bigrams inside it then make the whole phrase
    far likelier than its first word followed by an everyday competitor. Measured
    on the real 16 kHz trials: recall of true greetings 0.78 -> 0.89, wrong-name
    accepts unchanged; at 8 kHz 0.11 -> 0.29 (bench/greeting_eval.py).
    """
    words: list[str] = []
    phrases: list[str] = []
    for phrase in list(expected) + list(distractors) + list(extra):
        pieces = [w for w in split_known(phrase, known) if known(w)]
        words.extend(pieces)
        if len(pieces) > 1:
            phrases.append(" ".join(pieces))
    words.extend(w for w in GREETING_WORDS + APOLOGY_WORDS + ASK_WORDS + FILLERS + COMMON_WORDS if known(w))
    seen: set[str] = set()
    unique = [w for w in words if w and not (w in seen or seen.add(w)) and known(w)]
    # "[unk]" soaks up words outside the grammar, where the model has it (the small
    # Korean model does not).
    return list(dict.fromkeys(phrases)) + unique + (["[unk]"] if known("[unk]") else [])

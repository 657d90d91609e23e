"""Did the answering party state department and name (R3), apologise (R2), ask (R7)?

Pure functions from recognized words (with confidences and times) to an honest
three-way answer per item: ``stated``, ``not_stated`` or ``unclear`` (a person
must listen), always with the evidence: the words, their times and confidences,
and how closely they matched. A per-call grammar pushes any speech towards the
expected words, so a match alone is not proof: the recognizer's own word
confidence must be high too (see :class:`SpeechThresholds` for the figures).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from .jamo import find, similarity, to_jamo

STATED, NOT_STATED, UNCLEAR = "stated", "not_stated", "unclear"

APOLOGY_PHRASES = ("죄송합니다", "죄송", "늦게 받아서", "기다리게 해서", "기다리시게 해서", "미안합니다")
ASK_PHRASES = ("통화 가능", "통화 괜찮", "괜찮으세요", "시간 괜찮", "잠시 통화", "지금 통화")


@dataclass(frozen=True)
class Word:
    """One recognized word."""

    text: str
    conf: float
    start: float
    end: float


@dataclass(frozen=True)
class SpeechThresholds:
    """Decision thresholds, chosen from measurements (bench/greeting_eval.py; docs/SPEECH.md).

    Real Korean speech, 220 trials (55 utterances x 4 types), per-call grammar
    with the utterance's other stand-ins as distractors, everyday words as
    competitors (grammar.COMMON_WORDS) and multi-word phrases as grammar entries:

    * 16 kHz (G.722): "stated" when the words heard are the expected ones (jamo
      similarity of the whole words >= 0.85) with mean word confidence >= 0.90
      accepts 0.93 of true greetings, a wrong name 0.02, a wrong or missing
      department 0.00; no true greeting is called "not stated". "Not stated"
      (nothing within letter-level similarity 0.40, or confidence < 0.30)
      catches 0.53-0.80 of the negatives; the rest is "unclear".
    * 8 kHz (G.711/GSM): "stated" stays trustworthy (false accepts 0.02) but
      accepts only 0.25-0.29 of true greetings, and no "not stated" rule
      separated true from false greetings, so narrowband audio never yields
      "not stated": it is "unclear" and goes to a reviewer.
    """

    stated_similarity: float = 0.85
    stated_confidence: float = 0.90
    absent_similarity: float = 0.40
    absent_confidence: float = 0.30     # a match this unsure counts as not heard
    narrowband_not_stated: bool = False  # allow "not stated" on 8 kHz audio (measured: unsafe)

    def for_rate(self, rate: int) -> "SpeechThresholds":
        """The thresholds for audio at ``rate`` Hz."""
        if rate >= 16000 or self.narrowband_not_stated:
            return self
        return SpeechThresholds(self.stated_similarity, self.stated_confidence, 0.0, 0.0, False)


@dataclass(frozen=True)
class ItemResult:
    """One item of a greeting check, with its evidence."""

    item: str                    # department | name | apology | ask
    result: str                  # stated | not_stated | unclear
    expected: str
    similarity: float = 0.0
    confidence: float = 0.0
    heard: str = ""
    words: tuple[Word, ...] = field(default_factory=tuple)
    letters: float = 0.0         # the letter-level similarity alone (what "nothing close was heard" judges)
    engine: str = "vosk"         # the recognizer whose words decided this item


def word_spans(words: Sequence[Word]) -> list[tuple[int, int]]:
    """Where each word's letters (jamo) start and end in the words' joined transcript."""
    spans, pos = [], 0
    for w in words:
        n = len(to_jamo(w.text))
        spans.append((pos, pos + n))
        pos += n
    return spans


def check_phrase(item: str, candidates: Iterable[str], words: Sequence[Word],
                 limits: SpeechThresholds = SpeechThresholds()) -> ItemResult:
    """Look for the best of ``candidates`` (a name and its aliases) among the words."""
    transcript = "".join(w.text for w in words)
    spans = word_spans(words)
    best: Optional[ItemResult] = None
    for phrase in candidates:
        if not to_jamo(phrase):
            continue
        match = find(phrase, transcript)
        used = tuple(w for w, (a, b) in zip(words, spans) if a < match.end and b > match.start)
        conf = sum(w.conf for w in used) / len(used) if used else 0.0
        # "Stated" judges the whole words the match touched, not the letters it
        # borrowed from them: with a grammar, Vosk outputs the expected words exactly
        # when it hears them, and a name pieced together across other words ("사이
        # 사이에" for 이상이) is evidence of those words, not of the name. "Not stated"
        # stays on the letter-level match: only when nothing even resembling the
        # phrase was heard (measured: the word-level figure alone called 0.02-0.04
        # of true 16 kHz greetings "not stated").
        sim = min(match.similarity, similarity(phrase, "".join(w.text for w in used)))
        result = _decide(sim, match.similarity, conf, limits)
        candidate = ItemResult(item, result, phrase, round(sim, 3), round(conf, 3),
                               " ".join(w.text for w in used), used, round(match.similarity, 3))
        if best is None or _rank(candidate) > _rank(best):
            best = candidate
    return best or ItemResult(item, NOT_STATED, "")


def _decide(words_sim: float, letters_sim: float, confidence: float, limits: SpeechThresholds) -> str:
    if words_sim >= limits.stated_similarity and confidence >= limits.stated_confidence:
        return STATED
    if letters_sim < limits.absent_similarity or confidence < limits.absent_confidence:
        return NOT_STATED
    return UNCLEAR


def _rank(r: ItemResult) -> tuple[int, float, float]:
    order = {STATED: 2, UNCLEAR: 1, NOT_STATED: 0}
    return order[r.result], r.similarity, r.confidence


def combine(items: Sequence[ItemResult]) -> str:
    """All items stated -> stated; any confidently missing -> not_stated; else unclear."""
    results = {i.result for i in items}
    if results == {STATED}:
        return STATED
    if NOT_STATED in results:
        return NOT_STATED
    return UNCLEAR

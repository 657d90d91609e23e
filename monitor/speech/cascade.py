"""Two recognizers, one verdict: Whisper decides what Vosk left open.

Vosk with the per-call grammar runs first (0.2 s a greeting). When every item it
checked is "stated", that is the answer: its confident matches are right (false
accepts 0.02). Otherwise Whisper decodes the same seconds freely, and each item
(department, name, apology, asking) is judged on both transcripts:

* **stated** when either engine heard it: Vosk by its own thresholds, Whisper
  when the phrase is in its transcript at letter similarity >= 0.85 and the match
  lines up with a word boundary (Whisper writes compounds as one word, 여성시대,
  so whole-word similarity would miss 시대; a match that starts and ends inside
  other words is judged on those whole words, as for Vosk).
* **not stated** only when *both* transcripts hold nothing close to any of the
  phrase's spellings (letter similarity < 0.42 in each) and Whisper's transcript
  is clean: speech decoded with a mean token log-probability >= -1.0, its own
  no-speech belief <= 0.6, no repetition loop (compression ratio <= 2.4), at least
  two words and six Hangul syllables, mean word probability >= 0.45. Two engines
  that fail differently rarely both miss a name that was said; this is what allows
  a decisive "not stated" at 8 kHz.
* **unclear** otherwise: a person listens.

Thresholds measured on ../shared/speech/real (docs/SPEECH.md), tuned on the half
spoken by twelve speakers, checked on the other half (one speaker, unseen): the
lowest similarity a true item reached in either engine was 0.50, so 0.42 keeps a
margin; the highest a wrong item reached in Whisper was 0.83 (tuning half).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence

from .check import NOT_STATED, STATED, UNCLEAR, ItemResult, Word, word_spans
from .jamo import find, similarity, to_jamo


@dataclass(frozen=True)
class CascadeThresholds:
    """How Whisper's transcript counts (measured; see the module docstring)."""

    whisper_stated: float = 0.85   # letter similarity, aligned to a word boundary
    absent: float = 0.42           # "not stated": nothing this close in either transcript
    min_logprob: float = -1.0      # a clean transcript: Whisper was this sure of its tokens on average ...
    max_no_speech: float = 0.6     # ... did not think it heard silence ...
    max_compression: float = 2.4   # ... and did not loop (Whisper's own hallucination test)
    min_words: int = 2
    # Every real utterance decoded to at least 7 Hangul syllables; music on hold to "아 아 아".
    min_syllables: int = 6
    # Mean word probability: real utterances 0.52 and up (median 0.83); a robotic espeak greeting
    # Whisper could not read 0.18, with log-probability -0.84 and no-speech 0.595 (both passing).
    min_word_prob: float = 0.45


@dataclass(frozen=True)
class Quality:
    """How much Whisper trusted its decode (see :class:`~monitor.speech.whisper_engine.Decode`)."""

    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: int
    syllables: int = 0             # Hangul syllables in the transcript
    word_prob: float = 0.0         # mean probability of its words


def clean(q: Quality, limits: CascadeThresholds) -> bool:
    """Whether a Whisper transcript is trustworthy enough to say something is missing from it."""
    return (q.avg_logprob >= limits.min_logprob and q.no_speech_prob <= limits.max_no_speech
            and q.compression_ratio <= limits.max_compression and q.words >= limits.min_words
            and q.syllables >= limits.min_syllables and q.word_prob >= limits.min_word_prob)


def free_item(item: str, candidates: Iterable[str], words: Sequence[Word],
              limits: CascadeThresholds = CascadeThresholds()) -> ItemResult:
    """An item judged on a free transcript (Whisper): ``stated`` or ``unclear``, never ``not_stated`` alone."""
    transcript = "".join(w.text for w in words)
    spans = word_spans(words)
    best: Optional[ItemResult] = None
    for phrase in candidates:
        if not to_jamo(phrase):
            continue
        m = find(phrase, transcript)
        touched = [(w, a, b) for w, (a, b) in zip(words, spans) if a < m.end and b > m.start]
        used = tuple(w for w, _, _ in touched)
        aligned = bool(touched) and (touched[0][1] == m.start or touched[-1][2] == m.end)
        # A free decoder spaces Korean its own way (여성시대 for 여성 시대): a match that
        # begins or ends where a word does is the phrase; one buried inside other words
        # is judged on those whole words (이상이 is not in 사이 사이에).
        score = m.similarity if aligned else min(m.similarity, similarity(phrase, "".join(w.text for w in used)))
        conf = sum(w.conf for w in used) / len(used) if used else 0.0
        result = STATED if score >= limits.whisper_stated else UNCLEAR
        candidate = ItemResult(item, result, phrase, round(score, 3), round(conf, 3),
                               " ".join(w.text for w in used), used, round(m.similarity, 3), "whisper")
        if best is None or (candidate.result == STATED, candidate.similarity) > (best.result == STATED,
                                                                                 best.similarity):
            best = candidate
    return best or ItemResult(item, UNCLEAR, "", engine="whisper")


def nearest(candidates: Iterable[str], words: Sequence[Word]) -> float:
    """The highest letter-level similarity of any spelling of the phrase anywhere in the words."""
    transcript = "".join(w.text for w in words)
    return max((find(p, transcript).similarity for p in candidates if to_jamo(p)), default=0.0)


def combine_item(candidates: Sequence[str], vosk: ItemResult, vosk_words: Sequence[Word],
                 whisper_words: Sequence[Word], quality: Quality,
                 limits: CascadeThresholds = CascadeThresholds()) -> ItemResult:
    """One item's answer from both engines (the rules of the module docstring)."""
    if vosk.result == STATED:
        return replace(vosk, engine="vosk")
    heard = free_item(vosk.item, candidates, whisper_words, limits)
    if heard.result == STATED:
        return heard
    closest = max(nearest(candidates, vosk_words), nearest(candidates, whisper_words))
    # The evidence shown is the closer of the two engines' matches; ``letters`` the closest anywhere.
    shown = heard if heard.similarity >= vosk.similarity else vosk
    result = NOT_STATED if clean(quality, limits) and closest < limits.absent else UNCLEAR
    return replace(shown, result=result, letters=round(closest, 3), engine="vosk+whisper")


def decided_by(items: Sequence[ItemResult]) -> str:
    """Which engine(s) the verdict rests on: ``vosk``, ``whisper`` or ``vosk+whisper``."""
    engines = {i.engine for i in items}
    if engines == {"vosk"}:
        return "vosk"
    if engines == {"whisper"}:
        return "whisper"
    return "vosk+whisper"

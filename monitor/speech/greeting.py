"""One greeting check: audio in, R3 (and R2, R7) speech verdicts with evidence out.

Order matters: the first seconds only (default 8, extended to the next pause so
no word is cut in half), then the speech gate (no
speech: ``unclear``, a person must listen, never a guess), then Vosk with a
grammar built for this call, then the jamo-level check of each item, then, where
Vosk did not confirm everything and a second engine is loaded, Whisper on the
same seconds and the two transcripts combined (:mod:`.cascade`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from .audio import Audio
from .bandwidth import Bandwidth, measure_bandwidth, to_8khz
from .cascade import CascadeThresholds, Quality, combine_item, decided_by
from .check import (
    APOLOGY_PHRASES,
    ASK_PHRASES,
    NOT_STATED,
    STATED,
    UNCLEAR,
    ItemResult,
    SpeechThresholds,
    Word,
    check_phrase,
    combine,
)
from .gate import GateResult, GateThresholds, detect_speech, pause_after
from .grammar import build_grammar


@dataclass(frozen=True)
class Expected:
    """Who should be heard: the answering person's department and name, with their spoken variants."""

    department: Sequence[str]          # name first, then aliases
    name: Sequence[str]                # name first, then aliases
    distractors: Sequence[str] = ()    # other departments and colleagues of the directory


@dataclass
class SpeechVerdict:
    """One speech rule's answer with its evidence."""

    rule: str                 # R2 | R3 | R7
    result: str               # stated | not_stated | unclear
    confidence: float
    items: list[ItemResult] = field(default_factory=list)
    reason: str = ""
    decided_by: str = "vosk"  # vosk | whisper | vosk+whisper


@dataclass
class GreetingCheck:
    """Everything one check found: verdicts, words with times, and the audio's facts."""

    verdicts: dict[str, SpeechVerdict]
    words: list[Word]
    gate: GateResult
    sample_rate: int          # the rate the audio was judged at (8000 for narrowband audio in a 16 kHz file)
    seconds: float
    engine: str               # every engine that ran, "+"-joined
    bandwidth: Optional[Bandwidth] = None
    transcripts: dict[str, list[Word]] = field(default_factory=dict)   # engine -> words (Vosk's are ``words``)
    quality: Optional[Quality] = None          # Whisper's trust in its decode, when it ran
    vosk_verdicts: dict[str, SpeechVerdict] = field(default_factory=dict)   # Vosk alone, before the cascade


def check_greeting(engine, audio: Audio, expected: Expected, rules: Sequence[str] = ("R3",),
                   head_seconds: float = 8.0, limits: SpeechThresholds = SpeechThresholds(),
                   gate_limits: GateThresholds = GateThresholds(), second=None,
                   cascade: CascadeThresholds = CascadeThresholds()) -> GreetingCheck:
    """Run the check (``engine`` is a loaded :class:`~monitor.speech.engine.Engine`).

    The bandwidth is the audio's, not the file's: narrowband audio in a 16 kHz
    file is brought back to 8 kHz and judged with the narrowband thresholds.
    ``second`` (a :class:`~monitor.speech.whisper_engine.WhisperEngine`, or None
    for Vosk alone) is asked only where Vosk did not confirm every item.
    """
    clip = audio.head(pause_after(audio.samples, audio.rate, head_seconds))
    band = measure_bandwidth(clip.samples, clip.rate)
    if clip.rate == 16000 and not band.wideband:
        clip = Audio(to_8khz(clip.samples, clip.rate), 8000, clip.source_format)
    gate = detect_speech(clip.samples, clip.rate, gate_limits)
    engine_name = f"vosk/{engine.info.name}"
    if not gate.speech:
        reason = f"no speech in the first {head_seconds:g} s ({gate.reason}): needs review"
        verdicts = {r: SpeechVerdict(r, UNCLEAR, 0.0, [], reason) for r in rules}
        return GreetingCheck(verdicts, [], gate, clip.rate, clip.seconds, engine_name, band, vosk_verdicts=verdicts)
    extra = list(APOLOGY_PHRASES) + list(ASK_PHRASES)
    grammar = build_grammar(list(expected.department) + list(expected.name), expected.distractors,
                            engine.known, extra)
    words = engine.recognize(clip, grammar)
    limits = limits.for_rate(clip.rate)
    wanted = {"department": list(expected.department), "name": list(expected.name),
              "apology": list(APOLOGY_PHRASES), "ask": list(ASK_PHRASES)}
    needed = {i for r in rules for i in _ITEMS.get(r, ())}
    found = {item: check_phrase(item, wanted[item], words, limits) for item in wanted if item in needed}
    alone = _verdicts(rules, found)
    check = GreetingCheck(alone, words, gate, clip.rate, clip.seconds, engine_name, band, {"vosk": words},
                          vosk_verdicts=alone)
    if second is None or all(v.result == STATED for v in check.verdicts.values()):
        return check
    decode = second.decode(clip)
    check.transcripts["whisper"] = decode.words
    check.quality = Quality(decode.avg_logprob, decode.no_speech_prob, decode.compression_ratio, len(decode.words),
                            sum(1 for ch in decode.text if "가" <= ch <= "힣"),
                            sum(w.conf for w in decode.words) / max(1, len(decode.words)))
    check.engine = f"{engine_name}+whisper/{second.info.name}"
    found = {item: combine_item(wanted[item], r, words, decode.words, check.quality, cascade)
             for item, r in found.items()}
    check.verdicts = _verdicts(rules, found)
    return check


_ITEMS = {"R3": ("department", "name"), "R2": ("apology",), "R7": ("department", "name", "ask")}


def _verdicts(rules: Sequence[str], found: dict[str, ItemResult]) -> dict[str, SpeechVerdict]:
    return {rule: _verdict(rule, [found[i] for i in _ITEMS[rule]]) for rule in rules if rule in _ITEMS}


def _verdict(rule: str, items: list[ItemResult]) -> SpeechVerdict:
    result = combine(items)
    if result == STATED:
        confidence = min(i.confidence for i in items)
    elif result == NOT_STATED:
        missing = [i for i in items if i.result == NOT_STATED]
        confidence = max(1.0 - (i.letters if i.engine == "vosk+whisper" else i.similarity) for i in missing)
    else:
        confidence = 0.0
    missing_names = ", ".join(i.item for i in items if i.result != STATED)
    reason = "all stated" if result == STATED else f"{missing_names}: {result.replace('_', ' ')}"
    by = decided_by(items)
    if by != "vosk":
        reason += f" (decided by {by})"
    return SpeechVerdict(rule, result, round(confidence, 3), items, reason, by)


def expected_for(directory, extension: str) -> Optional[Expected]:
    """The expected department and name of an extension, with the directory's other entries as distractors."""
    person = directory.person(extension)
    dept_name = directory.department_of(extension)
    if person is None or dept_name is None:
        return None
    dept = directory.department(dept_name)
    distractors = [d.name for d in directory.departments if d.name != dept_name]
    distractors += sorted({p.name for p in directory.people if p.name != person.name})
    return Expected([dept.name, *dept.aliases], [person.name, *person.aliases], distractors)

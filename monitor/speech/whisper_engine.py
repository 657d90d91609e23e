"""Whisper (faster-whisper on CTranslate2, int8): the second recognizer, behind the same interface as Vosk.

Vosk with a per-call grammar is fast and, when it is sure, right; but on 8 kHz
audio it is rarely sure. Whisper base decodes freely (no grammar: it cannot be
pushed towards the expected words) and hears different greetings than Vosk does,
so the check asks it where Vosk left the answer open (``monitor/speech/cascade.py``).
It takes 16 kHz audio: narrowband audio is upsampled exactly (nothing is added
above 4 kHz). The model is assembled from two PyPI packages at first use
(:mod:`.whisper_model`); nothing is downloaded.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from .audio import Audio
from .bandwidth import to_16khz
from .check import Word
from .engine import ModelError
from .numbers import spell_numbers
from .whisper_model import WhisperModelInfo, assemble, cache_root

_THOUSANDS = re.compile(r"^,\d{3}")


@dataclass(frozen=True)
class Decode:
    """A free decode: the words and how much Whisper trusted the whole of it."""

    words: list[Word] = field(default_factory=list)
    avg_logprob: float = -10.0      # mean token log-probability of the worst segment
    no_speech_prob: float = 1.0     # Whisper's own belief that nothing was said (highest of the segments)
    compression_ratio: float = 0.0  # high: repeated text, a hallucination loop

    @property
    def text(self) -> str:
        """The words joined."""
        return " ".join(w.text for w in self.words)


class WhisperEngine:
    """A loaded Whisper base model (about 0.6 s and 0.3 GB per process)."""

    name = "whisper"

    def __init__(self, info: WhisperModelInfo, threads: int = 1, beam_size: int = 1) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise ModelError("the Whisper engine is not installed: pip install faster-whisper") from None
        started = time.perf_counter()
        try:
            # int8 on the CPU: the figures of docs/SPEECH.md were measured this way.
            self.model: Any = WhisperModel(str(info.path), device="cpu", compute_type="int8",
                                           cpu_threads=threads, num_workers=1)
        except Exception as exc:  # CTranslate2 raises RuntimeError on a damaged file
            raise ModelError(f"{info.path}: the Whisper model does not load ({exc})") from None
        self.load_seconds = time.perf_counter() - started
        self.info = info
        self.beam_size = beam_size

    @classmethod
    def load(cls, where: Optional[str] = None, threads: int = 1, beam_size: int = 1) -> "WhisperEngine":
        """Assemble (first use only) and load the model; :class:`ModelError` says what to install or fix."""
        started = time.perf_counter()
        info = assemble(cache_root(where))
        engine = cls(info, threads, beam_size)
        engine.load_seconds = time.perf_counter() - started
        return engine

    def known(self, word: str) -> bool:
        """Whisper spells out any word (byte-level tokens)."""
        return True

    def decode(self, audio: Audio) -> Decode:
        """Decode freely (Korean, greedy, no grammar); words with their probability and times."""
        samples = audio.samples if audio.rate == 16000 else _to_16k(audio)
        x = samples.astype(np.float32) / 32768.0
        segments, _ = self.model.transcribe(
            x, language="ko", task="transcribe", beam_size=self.beam_size, temperature=0.0,
            word_timestamps=True, vad_filter=False, condition_on_previous_text=False,
            # Keep what Whisper heard even when it believes it was silence: the evidence shows it,
            # and the cascade's own test of a clean transcript (cascade.clean) judges it.
            no_speech_threshold=None)
        raw: list[Word] = []
        logprob, no_speech, ratio = 0.0, 0.0, 0.0
        seen = False
        for seg in segments:
            if not seen:
                logprob, seen = seg.avg_logprob, True
            logprob = min(logprob, seg.avg_logprob)
            no_speech = max(no_speech, seg.no_speech_prob)
            ratio = max(ratio, seg.compression_ratio)
            for w in seg.words or ():
                text = w.word.strip()
                if text:
                    raw.append(Word(text, float(w.probability), float(w.start), float(w.end)))
        if not seen:
            return Decode()
        return Decode(spelled(raw), float(logprob), float(no_speech), float(ratio))

    def recognize(self, audio: Audio, grammar: Optional[Sequence[str]] = None) -> list[Word]:
        """The engine interface: every word heard (a grammar is ignored: Whisper decodes freely)."""
        return self.decode(audio).words


def spelled(words: Sequence[Word]) -> list[Word]:
    """Whisper's words as the check compares them: numbers spelled out in Korean ("30분" -> "삼십분").

    A thousands separator Whisper split off ("16", ",000명") is joined back first.
    """
    joined: list[Word] = []
    for w in words:
        if joined and _THOUSANDS.match(w.text) and joined[-1].text[-1:].isdigit():
            last = joined.pop()
            w = Word(last.text + w.text, min(last.conf, w.conf), last.start, w.end)
        joined.append(w)
    return [Word(spell_numbers(w.text, joined[i + 1].text if i + 1 < len(joined) else ""), w.conf, w.start, w.end)
            for i, w in enumerate(joined)]


def _to_16k(audio: Audio) -> np.ndarray:
    if audio.rate == 8000:
        return to_16khz(audio.samples)
    raise ModelError(f"Whisper takes 8 or 16 kHz audio here, not {audio.rate} Hz")

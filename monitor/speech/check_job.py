"""What runs inside a speech worker process: load the models once, check one recording, return plain data.

Nothing here deletes files: the recording is removed by the parent only after the
verdict is stored (``monitor/speech/spool.py``), so a process that dies mid-check
loses nothing. Whisper that cannot be loaded (a part package missing or corrupt)
does not stop the worker: it checks with Vosk alone, whose thresholds never say
"not stated" on evidence they cannot support, and every verdict says so
(``fallback`` in the evidence; the parent logs it and counts it as a metric).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .job import GreetingJob

RESULT_OF = {"stated": "pass", "not_stated": "fail", "unclear": "unclear"}
_ENGINE: Any = None
_SECOND: Any = None
_FALLBACK: Optional[str] = None     # why the configured second engine is not used


def init_child(model_path: Optional[str], engines: Sequence[str] = ("vosk",),
               whisper_dir: Optional[str] = None) -> None:
    """Process initializer: load the speech models once per worker process (Vosk must load; Whisper may not)."""
    global _ENGINE, _SECOND, _FALLBACK
    from .engine import Engine, ModelError
    _ENGINE = Engine.load(model_path)
    _SECOND, _FALLBACK = None, None
    if "whisper" in engines:
        from .whisper_engine import WhisperEngine
        try:
            _SECOND = WhisperEngine.load(whisper_dir)
        except ModelError as exc:
            _FALLBACK = f"Whisper not loaded, Vosk alone: {exc}"


def plain(rule: str, result: str, value: Any, detail: str) -> dict:
    """A verdict as JSON-ready fields (what crosses the process boundary)."""
    return {"rule": rule, "result": result, "value": value, "detail": detail}


def run_check(job: GreetingJob, expected: Optional[dict], rules: list[str], head_seconds: float,
              retain: bool, limits: Any = None) -> dict[str, dict]:
    """In a worker process: check one greeting; returns rule -> verdict fields."""
    from .audio import AudioError, read_audio
    from .greeting import Expected, check_greeting
    audio_path = job.answering_audio
    staff = {"extension": job.extension, "direction": job.direction}
    if expected is None:
        return {r: plain(r, "n/a", None, f"extension {job.extension} is not in the directory") for r in rules}
    try:
        audio = read_audio(audio_path)
    except AudioError as exc:
        return {r: plain(r, "unclear", dict(staff), f"recording unusable: {exc}") for r in rules}
    kwargs: dict[str, Any] = {"limits": limits} if limits is not None else {}
    args = (_ENGINE, audio, Expected(**expected), rules, head_seconds)
    fallback = _FALLBACK
    try:
        result = check_greeting(*args, second=_SECOND, **kwargs)
    except Exception as exc:
        if _SECOND is None:
            raise
        # Whisper failed on this recording (not Vosk): the check is redone with Vosk alone.
        fallback = f"Whisper failed on this recording, Vosk alone: {type(exc).__name__}: {exc}"
        result = check_greeting(*args, **kwargs)
    band = result.bandwidth
    # A reviewer must be able to listen to a check that is not "stated" (the workbench keeps
    # such recordings until reviewed, then purges them: monitor/storage/recordings.py).
    keep = retain or any(v.result != "stated" for v in result.verdicts.values())
    out = {}
    for rule, v in result.verdicts.items():
        evidence = {
            **staff,
            "confidence": v.confidence, "sample_rate": result.sample_rate, "engine": result.engine,
            "bandwidth": band.band if band else None, "file_rate": audio.rate,
            "high_band_share": float(f"{band.high_share:.3g}") if band else None,
            "seconds": round(result.seconds, 2), "speech": result.gate.speech, "gate": result.gate.reason,
            "items": [{"item": i.item, "result": i.result, "expected": i.expected, "heard": i.heard,
                       "similarity": i.similarity, "confidence": i.confidence} for i in v.items],
            "words": _plain_words(result.words),
            "decided_by": v.decided_by,
            "transcripts": {name: _plain_words(ws) for name, ws in result.transcripts.items()},
        }
        for item, i in zip(evidence["items"], v.items):
            item["engine"] = i.engine
        if result.quality is not None:
            q = result.quality
            evidence["whisper_quality"] = {"avg_logprob": round(q.avg_logprob, 3),
                                           "no_speech_prob": round(q.no_speech_prob, 3),
                                           "compression_ratio": round(q.compression_ratio, 3),
                                           "word_prob": round(q.word_prob, 3)}
        if fallback:
            evidence["fallback"] = fallback
        if keep:
            evidence["recording"] = audio_path   # a reviewer can listen to it
        out[rule] = plain(rule, RESULT_OF[v.result], evidence, f"{v.result}: {v.reason}")
    return out


def _plain_words(words: Any) -> list[list]:
    return [[w.text, round(w.conf, 3), round(w.start, 2), round(w.end, 2)] for w in words]

"""What runs inside a speech worker process: load the model once, check one recording, return plain data.

Nothing here deletes files: the recording is removed by the parent only after the
verdict is stored (``monitor/speech/spool.py``), so a process that dies mid-check
loses nothing.
"""
from __future__ import annotations

from typing import Any, Optional

RESULT_OF = {"stated": "pass", "not_stated": "fail", "unclear": "unclear"}
_ENGINE: Any = None


def init_child(model_path: Optional[str]) -> None:
    """Process initializer: load the speech model once per worker process."""
    global _ENGINE
    from .engine import Engine
    _ENGINE = Engine.load(model_path)


def plain(rule: str, result: str, value: Any, detail: str) -> dict:
    """A verdict as JSON-ready fields (what crosses the process boundary)."""
    return {"rule": rule, "result": result, "value": value, "detail": detail}


def run_check(job: dict, expected: Optional[dict], rules: list[str], head_seconds: float,
              retain: bool, limits: Any = None) -> dict[str, dict]:
    """In a worker process: check one greeting; returns rule -> verdict fields."""
    from .audio import AudioError, read_audio
    from .greeting import Expected, check_greeting
    audio_path = job["answering_audio"]
    staff = {"extension": job.get("extension"), "direction": job.get("direction", "inbound")}
    if expected is None:
        return {r: plain(r, "n/a", None, f"extension {job['extension']} is not in the directory") for r in rules}
    try:
        audio = read_audio(audio_path)
    except AudioError as exc:
        return {r: plain(r, "unclear", dict(staff), f"recording unusable: {exc}") for r in rules}
    result = check_greeting(_ENGINE, audio, Expected(**expected), rules, head_seconds,
                            *([limits] if limits is not None else []))
    band = result.bandwidth
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
            "words": [[w.text, round(w.conf, 3), round(w.start, 2), round(w.end, 2)] for w in result.words],
        }
        if retain:
            evidence["recording"] = audio_path   # a reviewer can listen to it
        out[rule] = plain(rule, RESULT_OF[v.result], evidence, f"{v.result}: {v.reason}")
    return out

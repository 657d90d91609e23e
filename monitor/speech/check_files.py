"""Greeting checks of recorded files on request (``telmon check-greeting``, by hand or ``--batch``).

A request names a file and who should be heard: an ``extension`` of the
directory, or a ``department`` and ``name`` with ``other_departments`` and
``other_names`` as distractors. The answer is a JSON-ready dict: verdict,
department, name, apology (each ``stated``/``not_stated``/``unclear``),
confidence, transcript, words with times and confidences, sample rate,
engine, decided_by and every engine's transcript; or ``error`` when the
request cannot be checked (one bad line of a batch never stops the rest).
"""
from __future__ import annotations

from typing import Any, Optional

from .audio import AudioError, read_audio
from .engine import Engine
from .greeting import Expected, check_greeting, expected_for
from .whisper_engine import WhisperEngine


def summary(result: Any) -> dict[str, Any]:
    """The JSON answer for one checked file."""
    r3 = result.verdicts["R3"]
    items = {i.item: i.result for i in r3.items}
    apology = result.verdicts.get("R2")
    unclear = "unclear"
    return {
        "verdict": r3.result,
        "department": items.get("department", unclear),
        "name": items.get("name", unclear),
        "apology": apology.items[0].result if apology is not None and apology.items else unclear,
        "confidence": r3.confidence,
        "reason": r3.reason,
        "transcript": " ".join(w.text for w in result.words),
        "words": [{"word": w.text, "conf": round(w.conf, 3), "start": round(w.start, 2), "end": round(w.end, 2)}
                  for w in result.words],
        "sample_rate": result.sample_rate,
        "seconds": round(result.seconds, 2),
        "speech": result.gate.speech,
        "engine": result.engine,
        "decided_by": r3.decided_by,
        "transcripts": {name: " ".join(w.text for w in ws) for name, ws in result.transcripts.items()},
    }


def expected_of(req: dict[str, Any], directory: Any) -> Optional[Expected]:
    """Who the request says should be heard; None when it names neither an extension nor department and name."""
    if req.get("extension"):
        return expected_for(directory, str(req["extension"]))
    if req.get("department") and req.get("name"):
        return Expected([req["department"]], [req["name"]],
                        list(req.get("other_departments") or []) + list(req.get("other_names") or []))
    return None


def check_request(engine: Engine, req: dict[str, Any], directory: Any, seconds: float, limits: Any,
                  second: Optional[WhisperEngine] = None) -> dict[str, Any]:
    """Check one request's file (R3 and R2): its :func:`summary` with ``file``, or ``file`` and ``error``."""
    if "error" in req:
        return {"file": req.get("file"), "error": req["error"]}
    expected = expected_of(req, directory)
    if expected is None:
        return {"file": req.get("file"), "error": "give an extension in the directory, or department and name"}
    try:
        audio = read_audio(req["file"])
    except (AudioError, KeyError) as exc:
        return {"file": req.get("file"), "error": str(exc)}
    result = check_greeting(engine, audio, expected, ("R3", "R2"), seconds, limits, second=second)
    return {"file": req["file"], **summary(result)}

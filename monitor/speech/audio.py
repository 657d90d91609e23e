"""Reading what Asterisk records: WAV (8 and 16 kHz PCM, µ-law, A-law, GSM) and raw formats.

Asterisk's MixMonitor writes by file extension: ``.wav`` (8 kHz 16-bit PCM),
``.wav16`` (16 kHz PCM: wideband phones), ``.WAV``/``.wav49`` (GSM in WAV),
``.gsm`` (raw GSM 06.10), ``.ulaw``/``.alaw`` (raw G.711), ``.sln``/``.sln16``
(raw signed linear). Everything comes back as 16-bit mono samples at the file's
own rate: Vosk is fed 8 kHz audio at 8 kHz (upsampling does not help it).
G.711 is decoded here (two 256-entry tables); GSM needs ``sox``.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TelmonError


class AudioError(TelmonError, ValueError):
    """A recording that cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit samples and their rate."""

    samples: np.ndarray
    rate: int
    source_format: str

    @property
    def seconds(self) -> float:
        """Duration."""
        return len(self.samples) / self.rate if self.rate else 0.0

    def head(self, seconds: float) -> "Audio":
        """The first ``seconds`` only (the greeting)."""
        return Audio(self.samples[: int(seconds * self.rate)], self.rate, self.source_format)


def _ulaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for i in range(256):
        u = ~i & 0xFF
        t = ((u & 0x0F) << 3) + 0x84
        t <<= (u & 0x70) >> 4
        out[i] = (0x84 - t) if u & 0x80 else (t - 0x84)
    return out


def _alaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for i in range(256):
        a = i ^ 0x55
        t = (a & 0x0F) << 4
        seg = (a & 0x70) >> 4
        t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
        out[i] = t if a & 0x80 else -t
    return out


ULAW, ALAW = _ulaw_table(), _alaw_table()
RAW = {".ulaw": ("ulaw", 8000), ".ul": ("ulaw", 8000), ".mu": ("ulaw", 8000), ".alaw": ("alaw", 8000),
       ".al": ("alaw", 8000), ".sln": ("s16", 8000), ".raw": ("s16", 8000), ".sln16": ("s16", 16000),
       ".gsm": ("gsm", 8000)}


def read_audio(path: str | Path) -> Audio:
    """Read a recording (see the module docstring); raises AudioError with a reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"{path}: cannot read recording: {exc.strerror}") from None
    if not data:
        raise AudioError(f"{path}: empty recording")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _read_wav(path, data)
    kind = RAW.get(path.suffix.lower())
    if kind is None:
        raise AudioError(f"{path}: unknown recording format {path.suffix!r} (not a WAV file)")
    return _decode(path, kind[0], data, kind[1])


def _read_wav(path: Path, data: bytes) -> Audio:
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioError(f"{path}: corrupt WAV (short fmt chunk)")
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == 0xFFFE and len(body) >= 26:   # WAVE_FORMAT_EXTENSIBLE: the real tag is in the GUID
                fmt = (struct.unpack("<H", body[24:26])[0],) + fmt[1:]
        elif cid == b"data":
            payload = body
        pos += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise AudioError(f"{path}: corrupt WAV (no fmt or data chunk)")
    tag, channels, rate, _, _, bits = fmt
    if rate <= 0 or channels <= 0:
        raise AudioError(f"{path}: corrupt WAV (rate {rate}, channels {channels})")
    kind = {1: "s16" if bits == 16 else "u8" if bits == 8 else None, 6: "alaw", 7: "ulaw", 0x31: "gsm"}.get(tag)
    if kind is None:
        raise AudioError(f"{path}: unsupported WAV encoding (format tag {tag:#x}, {bits} bits)")
    return _decode(path, kind, payload, rate, channels)


def _decode(path: Path, kind: str, payload: bytes, rate: int, channels: int = 1) -> Audio:
    if kind == "gsm":
        return Audio(_gsm_via_sox(path), 8000, "gsm")
    if kind == "s16":
        samples = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2")
    elif kind == "u8":
        samples = ((np.frombuffer(payload, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    else:
        table = ULAW if kind == "ulaw" else ALAW
        samples = table[np.frombuffer(payload, dtype=np.uint8)]
    if channels > 1:
        samples = samples[: len(samples) // channels * channels].reshape(-1, channels)[:, 0]
    return Audio(np.ascontiguousarray(samples, dtype=np.int16), rate, kind)


def _gsm_via_sox(path: Path) -> np.ndarray:
    sox = shutil.which("sox")
    if sox is None:
        raise AudioError(f"{path}: GSM recordings need sox (apt-get install sox), or record as .wav/.wav16")
    src = ["-t", "gsm", "-r", "8000", "-c", "1"] if path.suffix.lower() == ".gsm" else []
    try:
        out = subprocess.run([sox, *src, str(path), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1",
                              "-r", "8000", "-"], capture_output=True, timeout=30, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise AudioError(f"{path}: sox could not decode it: {exc.stderr.decode(errors='replace').strip()}") from None
    except subprocess.TimeoutExpired:
        raise AudioError(f"{path}: sox took too long") from None
    return np.frombuffer(out, dtype="<i2").copy()

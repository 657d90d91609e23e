"""Audio intake for what Asterisk writes, and the speech gate before any recognition."""
from __future__ import annotations

import csv
import shutil
import struct
import subprocess

import numpy as np
import pytest

from conftest import REPO, SHARED
from monitor.speech.audio import ALAW, ULAW, AudioError, read_audio
from monitor.speech.gate import detect_speech, pause_after

DATA = REPO / "tests" / "data" / "speech"
LABELS = {r["id"]: r for r in csv.DictReader(open(DATA / "labels.csv", encoding="utf-8"))}


def _wav(fmt_tag: int, rate: int, bits: int, payload: bytes, channels: int = 1) -> bytes:
    block = channels * max(1, bits // 8)
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _encode_ulaw(x: np.ndarray) -> bytes:
    # Nearest table entry: the table is the standard's decoder, so this round-trips exactly.
    order = np.argsort(ULAW)
    idx = np.searchsorted(ULAW[order], x).clip(0, 255)
    return order[idx].astype(np.uint8).tobytes()


def test_g711_tables_are_the_standard():
    assert ULAW[0x00] == -32124 and ULAW[0x80] == 32124 and ULAW[0xFF] == 0 and ULAW[0x7F] == 0
    assert ALAW[0xD5] == 8 and ALAW[0x55] == -8 and ALAW[0xAA] == 32256 and ALAW[0x2A] == -32256


def test_every_encoding_asterisk_writes_is_read(tmp_path):
    pcm = read_audio(DATA / "u000.wav")
    assert pcm.rate == 8000 and pcm.samples.dtype == np.int16 and abs(pcm.seconds - 7.6) < 0.05
    x = pcm.samples
    mu = _encode_ulaw(x)
    cases = {
        "mu.wav": _wav(7, 8000, 8, mu), "raw.ulaw": mu, "raw.sln": x.astype("<i2").tobytes(),
        "wide.wav16": _wav(1, 16000, 16, np.repeat(x, 2).astype("<i2").tobytes()),
        "wide.sln16": np.repeat(x, 2).astype("<i2").tobytes(),
        "stereo.wav": _wav(1, 8000, 16, np.stack([x, x // 2], axis=1).astype("<i2").tobytes(), channels=2),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        got = read_audio(tmp_path / name)
        assert got.rate == (16000 if "16" in name else 8000), name
        ref = np.repeat(x, 2) if "16" in name else x
        assert len(got.samples) == len(ref), name
        err = np.abs(got.samples.astype(int) - ref.astype(int))
        assert np.percentile(err, 99) <= max(64, 0.07 * np.abs(ref).max()), name   # G.711 quantisation
    alaw = (tmp_path / "raw.alaw")
    alaw.write_bytes(bytes(range(256)))
    assert list(read_audio(alaw).samples) == list(ALAW)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (make test installs it)")
def test_gsm_recordings_are_read_through_sox(tmp_path):
    src = DATA / "u000.wav"
    subprocess.run(["sox", str(src), "-r", "8000", "-c", "1", str(tmp_path / "g.gsm")], check=True)
    subprocess.run(["sox", str(src), "-r", "8000", "-c", "1", "-e", "gsm-full-rate", str(tmp_path / "g49.wav")],
                   check=True)
    for name in ("g.gsm", "g49.wav"):
        got = read_audio(tmp_path / name)
        assert got.rate == 8000 and abs(got.seconds - 7.6) < 0.1 and got.source_format == "gsm"
        assert detect_speech(got.samples, got.rate).speech


def test_bad_recordings_give_clear_errors(tmp_path):
    cases = {
        "missing.wav": None, "empty.wav": b"", "junk.wav": b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
        "odd.mp3": b"ID3\x03\x00\x00\x00", "adpcm.wav": _wav(2, 8000, 4, b"\x00" * 100),
    }
    words = {"missing.wav": "cannot read", "empty.wav": "empty", "junk.wav": "corrupt WAV",
             "odd.mp3": "unknown recording format", "adpcm.wav": "unsupported WAV encoding"}
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(AudioError, match=words[name]):
            read_audio(tmp_path / name)


@pytest.mark.parametrize("clip", sorted(LABELS))
def test_gate_lets_speech_through_and_stops_noise_tones_and_silence(clip):
    audio = read_audio(DATA / f"{clip}.wav")
    gate = detect_speech(audio.samples, audio.rate)
    assert gate.speech == (LABELS[clip]["category"] != "nonspeech"), gate


def test_gate_on_digital_silence_and_a_pure_tone():
    rate = 8000
    assert not detect_speech(np.zeros(rate * 3, dtype=np.int16), rate).speech
    t = np.arange(rate * 3) / rate
    tone = (8000 * np.sin(2 * np.pi * 425 * t)).astype(np.int16)
    result = detect_speech(tone, rate)
    assert not result.speech and "tones" in result.reason


REAL = SHARED / "speech" / "real"


@pytest.mark.speech   # the real speech corpus
@pytest.mark.skipif(not REAL.is_dir(), reason="the real speech corpus lives in ../shared (not in this clone)")
def test_gate_passes_every_real_utterance_at_8_and_16_khz():
    clips = sorted(REAL.glob("nb8k/*.wav")) + sorted(REAL.glob("wb16k/*.wav"))
    assert len(clips) > 200
    missed = [c.name for c in clips if not detect_speech(*(lambda a: (a.samples, a.rate))(read_audio(c))).speech]
    assert missed == []


def test_the_checked_head_ends_at_a_pause_not_inside_a_word():
    rate = 16000
    t = np.arange(int(12 * rate)) / rate
    quiet = np.random.default_rng(1).normal(0, 30, len(t))        # the line's noise floor
    # Syllables four times a second, with short gaps between them (shorter than a pause).
    voiced = (np.sin(2 * np.pi * 220 * t) * 8000 * (np.sin(2 * np.pi * 4 * t) > -0.5) + quiet).astype(np.int16)
    quiet = quiet.astype(np.int16)
    # "Speech" until 8.6 s, a 0.4 s pause, then speech again.
    x = np.where((t < 8.6) | (t >= 9.0), voiced, quiet)
    end = pause_after(x, rate, 8.0)
    assert 8.6 <= end <= 9.0
    assert pause_after(voiced, rate, 8.0, max_extra=4.0) <= 12.0    # no pause: at most 4 s more
    assert pause_after(x[: 7 * rate], rate, 8.0) == 7.0             # shorter than the head: all of it

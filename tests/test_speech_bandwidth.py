"""The bandwidth comes from the audio, not the file: 8 kHz speech in a 16 kHz file is judged as narrowband."""
from __future__ import annotations

import csv
from collections import Counter, defaultdict

import numpy as np
import pytest

from conftest import REPO, SHARED
from monitor.speech.audio import Audio, read_audio
from monitor.speech.bandwidth import measure_bandwidth, to_8khz, to_16khz
from monitor.speech.check import NOT_STATED, STATED
from monitor.speech.greeting import Expected, check_greeting

REAL = SHARED / "speech" / "real"
DATA = REPO / "tests" / "data" / "speech"
needs_corpus = pytest.mark.skipif(not REAL.is_dir(),
                                  reason="the real speech corpus lives in ../shared (not in this clone)")


def test_synthetic_bands_are_told_apart():
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(16000 * 2) * 3000).astype(np.int16)      # flat to 8 kHz
    assert measure_bandwidth(noise, 16000).wideband
    narrow = to_16khz(to_8khz(noise, 16000))                              # the same, through 8 kHz
    assert not measure_bandwidth(narrow, 16000).wideband
    assert measure_bandwidth(narrow, 16000).high_share < 5e-6 < measure_bandwidth(noise, 16000).high_share
    assert measure_bandwidth(noise[:8000], 8000).band == "narrowband"     # 8 kHz files: by definition


def test_the_lab_recording_upsampled_is_narrowband_and_keeps_its_samples():
    audio = read_audio(DATA / "a_inbound_1ring.mixmonitor.wav")           # real Asterisk 8 kHz capture
    up = to_16khz(audio.samples)
    assert not measure_bandwidth(up, 16000).wideband
    back = to_8khz(up, 16000).astype(np.float64)
    orig = audio.samples.astype(np.float64)
    # Down(up(x)) is x within the filters' ripple: the recognizer sees what the phone sent.
    assert np.corrcoef(back, orig)[0, 1] > 0.99


@pytest.mark.speech   # the real speech corpus
@needs_corpus
def test_every_real_utterance_is_classified_by_its_audio():
    for wav in sorted((REAL / "wb16k").glob("*.wav")):
        a = read_audio(wav)
        assert measure_bandwidth(a.samples, a.rate).wideband, wav.name
    for wav in sorted((REAL / "nb8k").glob("*.wav")):
        a = read_audio(wav)
        assert not measure_bandwidth(to_16khz(a.samples), 16000).wideband, wav.name


@pytest.fixture(scope="module")
def engine(vosk):
    return vosk


@needs_corpus
def test_8khz_speech_resampled_to_16khz_is_judged_with_narrowband_thresholds(engine):
    """All 220 trials, once at 8 kHz and once upsampled into a 16 kHz file as Asterisk writes .wav16.

    Judged by the file's rate, true greetings upsampled this way were "not stated" 0.55 of
    the time; judged by their real bandwidth they get exactly the 8 kHz treatment.
    """
    trials = list(csv.DictReader(open(REAL / "trials.csv", encoding="utf-8")))
    by_utt = defaultdict(list)
    for t in trials:
        by_utt[t["id"]].append(t)
    results: dict[str, Counter] = {"8k": Counter(), "up": Counter()}
    agree = 0
    for t in trials:
        others = {x for o in by_utt[t["id"]] for x in (o["exp_dept"], o["exp_name"])} - {t["exp_dept"], t["exp_name"]}
        exp = Expected([t["exp_dept"]], [t["exp_name"]], sorted(others))
        nb = read_audio(REAL / "nb8k" / f"{t['id']}.wav")
        up = Audio(to_16khz(nb.samples), 16000, "s16")
        direct = check_greeting(engine, nb, exp)
        resampled = check_greeting(engine, up, exp)
        assert resampled.sample_rate == 8000 and resampled.bandwidth is not None
        assert resampled.bandwidth.band == "narrowband" and resampled.bandwidth.file_rate == 16000
        results["8k"][(t["type"], direct.verdicts["R3"].result)] += 1
        results["up"][(t["type"], resampled.verdicts["R3"].result)] += 1
        agree += direct.verdicts["R3"].result == resampled.verdicts["R3"].result
    for kind in results:
        assert sum(n for (typ, res), n in results[kind].items() if res == NOT_STATED) == 0, kind
    positives = sum(n for (typ, _), n in results["up"].items() if typ == "pos")
    assert results["up"][("pos", STATED)] / positives >= 0.18          # the 8 kHz floor of test_speech
    assert agree / len(trials) >= 0.95

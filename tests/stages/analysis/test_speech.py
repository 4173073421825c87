"""No speech: tones and music are told apart from voices that the VAD would accept alike."""

from __future__ import annotations

import numpy as np
import pytest

from stages.analysis.speech import detect_speech
from tests.conftest import tone
from tests.stages.analysis._signals import RATE, mix, voice, white


def chords(dur_s: float, rate: int = RATE) -> np.ndarray:
    """Sustained three-note chords with harmonics, changing every 0.6 s, plus a drum hit."""
    rng = np.random.default_rng(7)
    t = np.arange(round(dur_s * rate)) / rate
    out = np.zeros_like(t)
    step = round(0.6 * rate)
    for start in range(0, t.size, step):  # one chord per step
        seg = slice(start, min(start + step, t.size))
        for note in 220.0 * 2 ** (rng.integers(0, 12, 3) / 12):
            for h in range(1, 5):
                out[seg] += np.sin(2 * np.pi * note * h * t[seg]) / h
        hit = min(400, t.size - start)
        out[start : start + hit] += rng.standard_normal(hit) * np.exp(-np.arange(hit) / 80)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize("snr_db", [None, 20.0, 5.0])
def test_voice_is_speech_quiet_or_noisy(snr_db: float | None) -> None:
    x = voice(6.0, seed=9)
    if snr_db is not None:
        x = mix(x, white(x.size), snr_db)
    result = detect_speech(x, RATE)
    assert result.is_speech
    assert result.persistence is not None and result.persistence < 0.6


def test_steady_tone_is_not_speech() -> None:
    result = detect_speech(tone(440.0, 4.0, RATE), RATE)
    assert not result.is_speech
    assert result.persistence is not None and result.persistence > 0.9


def test_sustained_chords_are_not_speech() -> None:
    assert not detect_speech(chords(8.0), RATE).is_speech


def test_silence_is_not_speech() -> None:
    result = detect_speech(np.zeros(RATE * 2, dtype=np.float32), RATE)
    assert not result.is_speech and result.persistence is None


def test_only_frames_inside_segments_are_judged() -> None:
    x = np.concatenate([tone(440.0, 3.0, RATE), voice(5.0, seed=2)])
    assert detect_speech(x, RATE, [(3.0, 8.0)]).is_speech
    assert not detect_speech(x, RATE, [(0.0, 3.0)]).is_speech

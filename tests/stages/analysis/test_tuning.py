"""Pitch grid: tuned notes share one grid of semitones, a gliding voice's pitch does not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.tuning import MIN_FRAMES, tuning_strength
from tests.stages.analysis._signals import RATE, voice


def melody(
    dur_s: float, rate: int = RATE, *, detune: float = 0.37, seed: int = 3, glide: bool = False
) -> np.ndarray:
    """Harmonic notes of a major scale, 0.1–0.3 s each, all ``detune`` semitones off A440.

    With ``glide`` the pitch also wanders ±1 semitone at 1–3 Hz, as a voice's intonation does.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(round(dur_s * rate)) / rate
    ends = np.cumsum(rng.uniform(0.1, 0.3, 200))
    semitones = rng.choice([0, 2, 4, 5, 7, 9, 11, 12], 200)[np.searchsorted(ends, t)] + detune
    if glide:
        semitones = (
            semitones + 0.6 * np.sin(2 * np.pi * 3.1 * t) + 0.4 * np.sin(2 * np.pi * 1.3 * t)
        )
    phase = 2 * np.pi * np.cumsum(262.0 * 2 ** (semitones / 12)) / rate
    out = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def centers(x: np.ndarray, hop_s: float = 0.016, rate: int = RATE) -> np.ndarray:
    hop = round(hop_s * rate)
    return np.arange(hop, x.size - hop, hop)


def test_tuned_melody_sits_on_a_grid_and_a_gliding_one_does_not() -> None:
    tuned = melody(8.0)
    gliding = melody(8.0, glide=True)
    assert (tuning_strength(tuned, RATE, centers(tuned)) or 0.0) > 0.9
    assert (tuning_strength(gliding, RATE, centers(gliding)) or 1.0) < 0.25


def test_synthetic_voice_is_off_the_grid() -> None:
    x = voice(8.0, seed=4)
    assert (tuning_strength(x, RATE, centers(x)) or 1.0) < 0.3


def test_mains_hum_is_not_taken_for_tuned_notes() -> None:
    """50 Hz harmonics hold one bin in every frame: left out, so a voice over hum stays low."""
    x = voice(8.0, seed=5).astype(np.float64)
    t = np.arange(x.size) / RATE
    x += sum(0.05 * np.sin(2 * np.pi * 50.0 * k * t) for k in range(3, 12))
    assert (tuning_strength(x, RATE, centers(x)) or 1.0) < 0.3


def test_too_few_frames_say_nothing() -> None:
    x = melody(4.0)
    assert tuning_strength(x, RATE, centers(x)[: MIN_FRAMES - 1]) is None
    assert tuning_strength(x[:100], RATE, np.array([50])) is None


@settings(max_examples=15, deadline=None)
@given(
    detune=st.floats(-0.5, 0.5),
    rate=st.sampled_from([8000, 16000, 24000, 48000]),
    seed=st.integers(0, 100),
)
def test_any_reference_pitch_is_a_grid(detune: float, rate: int, seed: int) -> None:
    """The grid is relative: a piece tuned off A440 by any amount is as tuned."""
    x = melody(5.0, rate, detune=detune, seed=seed)
    assert (tuning_strength(x, rate, centers(x, rate=rate)) or 0.0) > 0.8

"""The voicing cue: a voice's vowels repeat at its pitch period; swelling noise never does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stages.analysis.voicing as voicing
from stages.analysis._spectra import power_spectrogram
from stages.analysis.speech import SpeechResult, detect_speech
from stages.analysis.voicing import (
    BATCHES,
    MAX_FRAMES,
    MIN_VOICED_SHARE,
    voiced_pitches,
    voiced_share,
)
from tests.stages.analysis._signals import RATE, mix, pink, voice, white


def share(x: np.ndarray, rate: int = RATE) -> float | None:
    """`voiced_share` of ``x``, loud frames picked as `detect_speech` does."""
    spec = power_spectrogram(x, rate)
    loud = spec.energy >= np.median(spec.energy)
    return voiced_share(x, spec, loud)


def swelling(noise: np.ndarray, rate: int = RATE, *, pace_hz: float = 4.0) -> np.ndarray:
    """``noise`` that swells and fades ``pace_hz`` times a second, like syllables."""
    t = np.arange(noise.size) / rate
    return (noise * np.sin(np.pi * pace_hz * t) ** 2).astype(np.float32)


def harmonics(f0_hz: float, dur_s: float, rate: int, *, seed: int) -> np.ndarray:
    """A vowel-like harmonic series on ``f0_hz`` with random amplitudes, up to 3.5 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(dur_s * rate)) / rate
    count = max(1, int(3500 / f0_hz))
    amps = rng.uniform(0.2, 1.0, count) / np.arange(1, count + 1)
    phases = rng.uniform(0, 2 * np.pi, count)
    out = sum(
        a * np.sin(2 * np.pi * f0_hz * k * t + p)
        for k, a, p in zip(range(1, count + 1), amps, phases, strict=True)
    )
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_a_voice_is_voiced_clean_and_in_loud_noise(rate: int) -> None:
    """The synthetic voice glides ~3 semitones in a frame, faster than real ones: the
    hardest case, and still voiced in noise as loud as itself."""
    x = voice(8.0, rate)
    clean = share(x, rate)
    assert clean is not None and clean > 0.5
    for noise in (white(x.size), pink(x.size, rate)):
        at_5_db = share(mix(x, noise, 5.0), rate)
        assert at_5_db is not None and at_5_db > 2 * MIN_VOICED_SHARE
        at_0_db = share(mix(x, noise, 0.0), rate)
        assert at_0_db is not None and at_0_db > MIN_VOICED_SHARE


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
@pytest.mark.parametrize("colour", ["white", "pink"])
def test_swelling_noise_is_not_voiced(rate: int, colour: str) -> None:
    n = 8 * rate
    noise = white(n, seed=5) if colour == "white" else pink(n, rate, seed=5)
    found = share(swelling(noise, rate), rate)
    assert found is not None and found < MIN_VOICED_SHARE


@settings(max_examples=25, deadline=None)
@given(
    f0_hz=st.floats(60.0, 400.0),
    rate=st.sampled_from([8000, 16000, 24000]),
    seed=st.integers(0, 2**16),
)
def test_any_steady_harmonic_series_in_the_voice_range_is_voiced(
    f0_hz: float, rate: int, seed: int
) -> None:
    found = share(harmonics(f0_hz, 3.0, rate, seed=seed), rate)
    assert found is not None and found > 0.9


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), pace_hz=st.floats(1.0, 8.0))
def test_white_noise_of_any_seed_and_pace_is_not_voiced(seed: int, pace_hz: float) -> None:
    found = share(swelling(white(6 * RATE, seed=seed), pace_hz=pace_hz))
    assert found is not None and found < MIN_VOICED_SHARE


def test_too_few_loud_frames_say_nothing() -> None:
    x = voice(0.3)
    assert share(x) is None
    spec = power_spectrogram(x, RATE)
    assert voiced_share(x, spec, np.zeros(spec.power.shape[0], dtype=bool)) is None


def test_a_voice_is_proved_by_the_first_batch_and_noise_judges_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Speech stops after one of the interleaved batches; noise needs every frame judged."""
    judged: list[int] = []
    periodicity = voicing._periodicity

    def spy(rows: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
        judged.append(rows.shape[0])
        return periodicity(rows, rate)

    monkeypatch.setattr(voicing, "_periodicity", spy)
    for x, batches in ((voice(30.0), 1), (swelling(white(30 * RATE, seed=3)), BATCHES)):
        judged.clear()
        spec = power_spectrogram(x, RATE)
        assert voiced_share(x, spec, np.ones(spec.power.shape[0], dtype=bool)) is not None
        assert len(judged) == batches
        assert sum(judged) == (MAX_FRAMES // BATCHES if batches == 1 else MAX_FRAMES)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_syllable_paced_hiss_is_not_speech_for_want_of_vowels(rate: int) -> None:
    """Every level cue hears syllables in it; only the voicing cue tells it is no voice."""
    result = detect_speech(swelling(white(10 * rate, seed=8), rate), rate)
    assert not result.is_speech
    assert result.reason == "unvoiced"
    assert result.voiced_share is not None and result.voiced_share < MIN_VOICED_SHARE


def test_a_voice_in_0_db_noise_keeps_its_voicing_on_the_speech_outcome() -> None:
    result = detect_speech(mix(voice(10.0), white(10 * RATE), 0.0), RATE)
    assert result.is_speech
    assert result.voiced_share is not None and result.voiced_share > MIN_VOICED_SHARE


def test_the_unvoiced_reason_says_what_was_measured_and_the_limit() -> None:
    why = SpeechResult(False, 0.4, 50, 12.0, "unvoiced", voiced_share=0.01).why
    assert why.startswith("has no voiced sound")
    assert "1%" in why and f"{MIN_VOICED_SHARE:.0%}" in why
    assert "whisper" in why


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
@pytest.mark.parametrize("f0_hz", [65.0, 150.0, 398.0])
def test_voiced_pitches_find_the_pitch_not_an_octave_under(rate: int, f0_hz: float) -> None:
    x = harmonics(f0_hz, 2.0, rate, seed=3)
    spec = power_spectrogram(x, rate)
    pitches, judged = voiced_pitches(x, spec, spec.energy >= np.median(spec.energy))
    assert judged > 0 and pitches.size > 0.9 * judged
    assert float(np.median(pitches)) == pytest.approx(f0_hz, rel=0.03)

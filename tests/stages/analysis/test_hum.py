"""Mains hum: 50/60 Hz lines found under speech, not invented from voices or tones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.hum import detect_hum
from tests.conftest import tone
from tests.stages.analysis._signals import RATE, hum, mix, voice, white

VOICE = voice(6.0, seed=5)


@pytest.mark.parametrize("hz", [50.0, 60.0])
@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_hum_frequency_is_found_under_speech(hz: float, rate: int) -> None:
    import soxr

    speech = soxr.resample(VOICE, RATE, rate) if rate != RATE else VOICE
    result = detect_hum(mix(speech, hum(speech.size, hz, rate), 25.0), rate)
    assert result.hum_hz == hz
    assert 1 in result.harmonics


def test_clean_and_white_noise_speech_has_no_hum() -> None:
    assert detect_hum(VOICE, RATE).hum_hz is None
    assert detect_hum(mix(VOICE, white(VOICE.size), 10.0), RATE).hum_hz is None


def test_a_1khz_test_tone_is_not_hum() -> None:
    assert detect_hum(tone(1000.0, 3.0, RATE), RATE).hum_hz is None


@settings(max_examples=15, deadline=None)
@given(level_db=st.floats(-60.0, -20.0), hz=st.sampled_from([50.0, 60.0]))
def test_hum_level_is_measured(level_db: float, hz: float) -> None:
    t = np.arange(RATE * 3) / RATE
    amp = np.sqrt(2 * 10 ** (level_db / 10))
    x = (amp * np.sin(2 * np.pi * hz * t) + 1e-4 * white(t.size)).astype(np.float32)
    result = detect_hum(x, RATE)
    assert result.hum_hz == hz
    assert result.level_dbfs == pytest.approx(level_db, abs=2.0)


def _steady_voice(rate: int, *, f0: float, hum_db: float | None) -> tuple[np.ndarray, list]:
    """A monotone harmonic 'voice' (lines at k·f0) in two bursts, optionally over mains hum."""
    rng = np.random.default_rng(7)
    t = np.arange(4 * rate) / rate
    voice = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    segments = [(0.5, 1.5), (2.2, 3.4)]
    gate = np.zeros_like(t)
    for start, end in segments:
        gate[(t >= start) & (t < end)] = 1.0
    x = 0.3 * voice * gate + 1e-4 * rng.standard_normal(t.size)
    if hum_db is not None:
        x += 0.3 * 10 ** (hum_db / 20) * np.sin(2 * np.pi * 50 * t)
    return x.astype(np.float32), segments


def test_a_monotone_voice_on_mains_harmonics_is_not_hum():
    from stages.analysis.hum import detect_hum

    x, segments = _steady_voice(16000, f0=150.0, hum_db=None)
    assert detect_hum(x, 16000).hum_hz == 50.0  # without the pauses it looks like hum
    assert detect_hum(x, 16000, segments).hum_hz is None


def test_hum_that_goes_on_in_the_pauses_is_hum():
    from stages.analysis.hum import detect_hum

    x, segments = _steady_voice(16000, f0=150.0, hum_db=-30.0)
    assert detect_hum(x, 16000, segments).hum_hz == 50.0


def _low_voice_take(rate: int, *, hum_db: float) -> tuple[np.ndarray, list]:
    """A low voice (pitch gliding around 120 Hz) in four phrases, over the 120/240/360 Hz
    buzz of rectified 60 Hz mains all along."""
    rng = np.random.default_rng(8)
    t = np.arange(8 * rate) / rate
    f0 = 120.0 * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 20))
    segments = [(0.4, 2.0), (2.4, 4.0), (4.3, 5.9), (6.3, 7.6)]
    gate = np.zeros_like(t)
    for start, end in segments:
        gate[(t >= start) & (t < end)] = 1.0
    speech = 0.3 * voice * gate
    level = float(np.mean(speech[gate > 0] ** 2))
    buzz = sum(np.sin(2 * np.pi * 120 * k * t + k) / k for k in (1, 2, 3))
    buzz *= np.sqrt(level / float(np.mean(buzz**2))) * 10 ** (hum_db / 20)
    return (speech + buzz + 1e-5 * rng.standard_normal(t.size)).astype(np.float32), segments


@pytest.mark.parametrize("hum_db", [-10.0, -20.0, -30.0])
def test_hum_under_a_low_voice_is_found_in_the_pauses(hum_db: float) -> None:
    # The voice's harmonics sweep the bins around the mains lines in the whole clip's
    # spectrum and mask them; the pauses show the hum alone.
    x, segments = _low_voice_take(16000, hum_db=hum_db)
    result = detect_hum(x, 16000, segments)
    assert result.hum_hz == 60.0
    assert result.level_dbfs is not None


def test_lines_far_under_the_speech_are_not_reported_as_hum() -> None:
    from stages.analysis.hum import MAX_UNDER_SPEECH_DB

    x, segments = _low_voice_take(16000, hum_db=-MAX_UNDER_SPEECH_DB - 10.0)
    assert detect_hum(x, 16000, segments).hum_hz is None


@pytest.mark.parametrize("f0", [100.0, 150.0, 180.0])
def test_a_take_cut_tight_to_a_monotone_voice_is_not_hum(f0: float) -> None:
    # No pause to check in: lines on the 2nd or 3rd mains harmonic are a voice's pitch.
    x, _ = _steady_voice(16000, f0=f0, hum_db=None)
    tight = x[round(0.5 * 16000) : round(1.5 * 16000)]
    tight = np.tile(tight, 3)
    assert detect_hum(tight, 16000).hum_hz is not None  # the lines are there
    assert detect_hum(tight, 16000, [(0.0, 3.0)]).hum_hz is None


def test_hum_under_a_voice_with_no_pause_is_found_at_its_fundamental() -> None:
    x, _ = _steady_voice(16000, f0=150.0, hum_db=-30.0)
    tight = np.tile(x[round(0.5 * 16000) : round(1.5 * 16000)], 3)
    result = detect_hum(tight, 16000, [(0.0, 3.0)])
    assert result.hum_hz == 50.0 and 1 in result.harmonics


@pytest.mark.parametrize("seconds", [0.5, 2.0, 5.0, 6.0])
def test_median_spectrum_is_the_per_bin_median_of_one_second_spectra(seconds: float) -> None:
    from stages.analysis.hum import _median_spectrum

    x = mix(voice(seconds, seed=2), white(round(seconds * RATE), seed=3), 10.0)
    n = RATE
    if x.size < n:
        block = np.zeros((1, n), dtype=np.float32)
        block[0, : x.size] = x
    else:
        block = x[: x.size // n * n].reshape(-1, n)
    window = np.hanning(n).astype(np.float32)
    spec = np.fft.rfft(block * window, axis=1)[:, : _median_spectrum(x, RATE).size]
    power = (spec.real**2 + spec.imag**2) * (2.0 / (float(np.sum(window**2)) * n))
    want = np.median(power, axis=0) if power.shape[0] > 2 else power.mean(axis=0)
    assert np.array_equal(_median_spectrum(x, RATE), want)

"""Cepstra and pitch in plain numpy: known answers on pulse trains and noise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.mfcc import cepstra


def pulses(f0: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    """A glottal-like pulse train: one click per period, smoothed a little, at ``f0`` Hz."""
    n = int(seconds * rate)
    x = np.zeros(n)
    x[(np.arange(0, n, rate / f0)).astype(int)] = 1.0
    x = np.convolve(x, np.hanning(max(3, rate // 1000)), mode="same")
    return (0.3 * x / x.max()).astype(np.float32)


@settings(max_examples=30, deadline=None)
@given(f0=st.floats(min_value=80.0, max_value=380.0), rate=st.sampled_from([8000, 16000]))
def test_pitch_of_a_pulse_train_is_within_three_percent(f0: float, rate: int) -> None:
    # Whole-sample lags: at 8 kHz and 380 Hz half a lag is 2.4 % of the period.
    pitch = cepstra(pulses(f0, rate), rate).pitch_hz
    voiced = pitch[pitch > 0]
    assert voiced.size > 0.6 * pitch.size  # at 80 Hz a 25 ms frame holds only two periods
    assert np.median(voiced) == pytest.approx(f0, rel=0.03)


def test_noise_is_unvoiced() -> None:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    assert (cepstra(x, 16000).pitch_hz > 0).mean() < 0.02


def test_studio_rates_are_analysed_at_16k() -> None:
    x48 = np.repeat(pulses(200.0, 16000), 3)  # crude 48 kHz: pitch unchanged
    c = cepstra(x48, 48000)
    assert c.hop_s == pytest.approx(0.02)
    assert np.median(c.pitch_hz[c.pitch_hz > 0]) == pytest.approx(200.0, rel=0.03)

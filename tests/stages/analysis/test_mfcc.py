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


def _speechlike(rate: int, seconds: float, seed: int) -> np.ndarray:
    """Voiced bursts on a pulse train with noise gaps: frames of every kind (voiced, quiet)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    envelope = np.repeat(rng.uniform(0.0, 1.0, int(np.ceil(seconds * 5))), rate // 5)[:n]
    x = pulses(140.0, rate, seconds) * envelope
    return (x + 0.003 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_energy_without_fft_matches_the_spectrum_sum(rate: int) -> None:
    from stages.analysis.mfcc import _hamming, frame_grid

    grid = frame_grid(_speechlike(rate, 2.0, 1), rate)
    spec = np.fft.rfft(grid.windowed, n=grid.n_fft, axis=1)
    power = (np.abs(spec) ** 2).sum(axis=1)
    window = _hamming(grid.win)
    expected = 10 * np.log10(np.maximum(power / (grid.n_fft * np.sum(window**2) / 2.0), 1e-12))
    np.testing.assert_allclose(grid.energy_db(), expected, rtol=0, atol=1e-9)
    assert (
        grid.count == grid.windowed.shape[0] == (grid.samples.shape[0] - grid.win) // grid.hop + 1
    )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.sampled_from([8000, 16000]), share=st.floats(0.0, 1.0))
def test_selected_frames_equal_the_full_computation(seed: int, rate: int, share: float) -> None:
    from stages.analysis.mfcc import frame_grid, grid_cepstra

    x = _speechlike(rate, 1.5, seed)
    grid = frame_grid(x, rate)
    rng = np.random.default_rng(seed)
    frames = rng.uniform(size=grid.count) < share
    noise = rng.uniform(size=grid.count) < 0.2
    full = cepstra(x, rate, noise_mask=noise)
    part = grid_cepstra(grid, frames=frames, noise_mask=noise)
    np.testing.assert_allclose(part.mfcc[frames], full.mfcc[frames], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(part.log_mel[frames], full.log_mel[frames], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(part.pitch_hz[frames], full.pitch_hz[frames])
    np.testing.assert_array_equal(part.energy_db, full.energy_db)
    assert np.isnan(part.mfcc[~frames]).all() and (part.pitch_hz[~frames] == 0).all()


def test_too_short_for_one_frame_is_empty() -> None:
    c = cepstra(np.zeros(50, dtype=np.float32), 8000)
    assert c.mfcc.shape == (0, 20) and c.pitch_hz.shape == (0,) and c.hop_s == pytest.approx(0.02)

"""Shared spectrogram: the same power as a plain STFT, energies and windows computed once."""

from __future__ import annotations

import numpy as np
import pytest

from stages.analysis._spectra import hann, power_spectrogram


def _reference_power(x: np.ndarray, rate: int) -> np.ndarray:
    """The straightforward STFT power the detectors were calibrated on."""
    n_fft = 1 << max(6, round(np.log2(max(0.032 * rate, 64))))
    hop = n_fft // 2
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    n = 1 + (x.size - n_fft) // hop
    block = np.stack([x[i * hop : i * hop + n_fft] for i in range(n)])
    spec = np.fft.rfft(block * window, axis=1)
    power = spec.real**2 + spec.imag**2
    power[:, 1:-1] *= 2.0
    power /= float(np.sum(window**2)) * n_fft
    return power.astype(np.float64)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_power_matches_a_plain_stft_bit_for_bit(rate: int) -> None:
    x = np.random.default_rng(rate).standard_normal(rate * 2).astype(np.float32) * 0.1
    spec = power_spectrogram(x, rate)
    assert spec.power.dtype == np.float64
    assert np.array_equal(spec.power, _reference_power(x, rate))


def test_rows_sum_to_the_mean_square_of_white_noise() -> None:
    x = np.random.default_rng(1).standard_normal(16000 * 4).astype(np.float32)
    spec = power_spectrogram(x, 16000)
    assert float(np.median(spec.energy)) == pytest.approx(1.0, rel=0.05)


def test_energy_is_the_row_sum_computed_once_and_read_only() -> None:
    x = np.random.default_rng(2).standard_normal(8000).astype(np.float32)
    spec = power_spectrogram(x, 8000)
    assert spec.energy is spec.energy
    assert np.allclose(spec.energy, spec.power.sum(axis=1), rtol=1e-12)
    with pytest.raises(ValueError):
        spec.energy[0] = 1.0


def test_too_short_input_gives_an_empty_spectrogram() -> None:
    spec = power_spectrogram(np.zeros(100, dtype=np.float32), 8000)
    assert spec.power.shape == (0, 129)
    assert spec.energy.shape == (0,)


def test_hann_is_cached_and_read_only() -> None:
    assert hann(512) is hann(512)
    assert np.array_equal(hann(512), np.hanning(512).astype(np.float32))
    assert np.array_equal(hann(256, periodic=True), np.hanning(257)[:-1].astype(np.float32))
    with pytest.raises(ValueError):
        hann(64)[0] = 1.0

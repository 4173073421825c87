"""`stages.filters`: biquads as FFT-domain responses equal the recursive filters they stand for."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.filters import apply_biquads, highpass, remove_rumble, response


def recursive(x: np.ndarray, biquad: tuple) -> np.ndarray:
    """The direct-form-I recursion, sample by sample: the definition the FFT route must match."""
    (b0, b1, b2), (_, a1, a2) = biquad
    y = np.zeros(x.size)
    x1 = x2 = y1 = y2 = 0.0
    for i, v in enumerate(x.astype(np.float64)):
        out = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2, x1, y2, y1 = x1, v, y1, out
        y[i] = out
    return y


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_highpass_is_a_butterworth(rate: int) -> None:
    n_fft = 1 << 18
    h = np.abs(response((highpass(20.0, rate),), n_fft))
    freqs = np.arange(h.size) * rate / n_fft
    at = {f: h[round(f * n_fft / rate)] for f in (20.0, 70.0, 1000.0)}
    assert 20 * math.log10(at[20.0]) == pytest.approx(-3.01, abs=0.05)
    assert 20 * math.log10(at[70.0]) > -0.1
    assert at[1000.0] == pytest.approx(1.0, abs=1e-4)
    assert h[0] == pytest.approx(0.0, abs=1e-12)  # DC is gone
    assert h[-1] == pytest.approx(1.0, abs=1e-9) and freqs[-1] == rate / 2


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16), cutoff=st.floats(15.0, 60.0), rate=st.sampled_from([8000, 16000])
)
def test_fft_route_equals_the_recursion(seed: int, cutoff: float, rate: int) -> None:
    x = np.random.default_rng(seed).standard_normal(3000).astype(np.float32)
    x += np.float32(0.3)  # a step at the start: the hardest case for the tail
    biquad = highpass(cutoff, rate)
    settle_s = 30.0 / (2.0 * math.pi * cutoff * math.sqrt(0.5))
    got = apply_biquads(x[None, :], (biquad,), rate=rate, settle_s=settle_s)[0]
    np.testing.assert_allclose(got, recursive(x, biquad), atol=2e-5)


def test_remove_rumble_takes_out_dc_and_a_slow_drift_but_keeps_a_voice_band_tone() -> None:
    rate = 8000
    t = np.arange(rate * 3) / rate
    voice = 0.3 * np.sin(2 * np.pi * 150.0 * t)
    x = (voice + 0.1 + 0.05 * np.sin(2 * np.pi * 2.0 * t)).astype(np.float32)
    y = remove_rumble(x, rate)
    settled = slice(rate // 2, None)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert abs(float(y[settled].mean())) < 1e-3
    # The 150 Hz tone keeps its level (a high-pass shifts its phase a little); what is left
    # besides it (the DC and the 2 Hz drift) is gone.
    basis = np.stack([np.sin(2 * np.pi * 150.0 * t), np.cos(2 * np.pi * 150.0 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis[settled], y[settled], rcond=None)
    assert float(np.hypot(*coef)) == pytest.approx(0.3, rel=0.005)
    residual = y[settled] - basis[settled] @ coef
    assert float(np.sqrt(np.mean(residual**2))) < 0.002
    assert remove_rumble(np.zeros(0, dtype=np.float32), rate).size == 0
    with pytest.raises(ValueError, match="cutoff"):
        highpass(5000.0, rate)


def test_remove_rumble_starts_from_the_takes_own_level_not_from_rest() -> None:
    # Silence the mean subtraction moved off zero (a prompt carrying its own DC, padded with
    # silence): from rest the filter met a step at 0 s and rang at -30 dBFS for tens of ms,
    # which the VAD took for speech at 0 s.
    rate = 8000
    x = np.full(rate, -0.05, dtype=np.float32)
    x[rate // 2 :] += 0.3 * np.sin(2 * np.pi * 200.0 * np.arange(rate // 2) / rate).astype(
        np.float32
    )
    y = remove_rumble(x, rate)
    lead = y[: rate // 2 - 400]  # the quiet part, up to 50 ms before the tone
    assert float(np.abs(lead).max()) < 1e-4
    assert float(np.abs(y[-rate // 4 :]).max()) == pytest.approx(0.3, rel=0.02)

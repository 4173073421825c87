"""Tests for `stages.loudness`: BS.1770-4 loudness against pyloudnorm and known values."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.loudness import channel_reduce, integrated_loudness, k_weighting, peak_dbfs, rms_dbfs

RATES = [8000, 16000, 44100, 48000]


def tone(freq_hz: float, dbfs: float, rate: int, duration_s: float = 5.0) -> np.ndarray:
    t = np.arange(round(duration_s * rate)) / rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def noise(rate: int, duration_s: float = 6.0, *, seed: int = 0, rms: float = 0.05) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(round(duration_s * rate)) * rms).astype(
        np.float32
    )


def speechlike(rate: int, *, seed: int = 0) -> np.ndarray:
    """Tone bursts with pauses and a low noise bed: exercises both gates."""
    rng = np.random.default_rng(seed)
    t = np.arange(8 * rate) / rate
    x = 0.2 * np.sin(2 * np.pi * 160 * t) + 0.1 * np.sin(2 * np.pi * 1300 * t)
    x *= np.sin(2 * np.pi * 0.5 * t) > 0  # 1 s on, 1 s off
    x += rng.standard_normal(t.size) * 1e-3
    return x.astype(np.float32)


def reference(x: np.ndarray, rate: int, filter_class: str = "DeMan") -> float:
    return float(pyloudnorm.Meter(rate, filter_class=filter_class).integrated_loudness(x))


def test_k_weighting_matches_bs1770_table_at_48k() -> None:
    (b1, a1), (b2, a2) = k_weighting(48000)
    assert b1 == pytest.approx((1.53512485958697, -2.69169618940638, 1.19839281085285), abs=1e-9)
    assert a1 == pytest.approx((1.0, -1.69065929318241, 0.73248077421585), abs=1e-9)
    assert b2 == (1.0, -2.0, 1.0)
    assert a2 == pytest.approx((1.0, -1.99004745483398, 0.99007225036621), abs=1e-9)


def test_997_hz_sine_at_minus_20_dbfs_is_minus_23_lufs() -> None:
    assert integrated_loudness(tone(997, -20.0, 48000), 48000) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_full_scale_1k_sine_is_minus_3_lufs(rate: int) -> None:
    assert integrated_loudness(tone(1000, 0.0, rate), rate) == pytest.approx(-3.01, abs=0.1)


def at_48k(x: np.ndarray, rate: int) -> float:
    """pyloudnorm's BS.1770 filter (DeMan: the 48 kHz table) on ``x`` resampled to 48 kHz."""
    up = soxr.resample(x.astype(np.float64), rate, 48000, quality="VHQ")
    return reference(up, 48000)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", ["noise", "tone", "speechlike"])
def test_matches_pyloudnorm_at_48k(rate: int, kind: str) -> None:
    x = {
        "noise": noise(rate),
        "tone": tone(440, -12, rate),
        "speechlike": speechlike(rate),
    }[kind]
    ours = integrated_loudness(x, rate)
    if kind != "noise":  # white noise fills the band up to Nyquist, which resampling cuts
        # The same signal measured at 48 kHz, where BS.1770 tabulates the filter.
        assert ours == pytest.approx(at_48k(x, rate), abs=0.05)
    if rate >= 44100:  # at its own rate, DeMan is the 48 kHz design, bilinear-warped
        assert ours == pytest.approx(reference(x.astype(np.float64), rate), abs=0.1)
    # pyloudnorm's default (cookbook) filter is another shelf: within 0.1 LU at every rate.
    assert ours == pytest.approx(reference(x.astype(np.float64), rate, "K-weighting"), abs=0.1)


@settings(max_examples=30, deadline=None)
@given(
    rate=st.sampled_from([8000, 16000, 22050, 24000, 44100]),
    freq_hz=st.floats(100.0, 3500.0),
    dbfs=st.floats(-40.0, -3.0),
)
def test_a_tone_reads_the_same_at_any_rate_as_at_48k(
    rate: int, freq_hz: float, dbfs: float
) -> None:
    # The bilinear K-filter read a 2.5 kHz tone 0.5 LU loud at 8 kHz (and every band 0.2 LU
    # loud, from the RLB high-pass's unscaled numerator).
    x = tone(freq_hz, dbfs, rate, 3.0)
    up = soxr.resample(x, rate, 48000, quality="VHQ").astype(np.float32)
    assert integrated_loudness(x, rate) == pytest.approx(integrated_loudness(up, 48000), abs=0.05)


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 24000, 32000, 44100, 96000])
def test_k_weighting_response_follows_the_48k_table(rate: int) -> None:
    from stages.filters import response

    n = 4096
    freqs = np.arange(n // 2 + 1) * rate / n
    band = (freqs >= 20.0) & (freqs <= min(0.49 * rate, 20000.0))
    ours = np.abs(response(k_weighting(rate), n))[band]
    reference_48k = k_weighting(48000)
    z1 = np.exp(-2j * np.pi * freqs[band] / 48000)
    want = np.ones_like(z1)
    for (b0, b1, b2), (a0, a1, a2) in reference_48k:
        want *= (b0 + b1 * z1 + b2 * z1 * z1) / (a0 + a1 * z1 + a2 * z1 * z1)
    np.testing.assert_allclose(20 * np.log10(ours / np.abs(want)), 0.0, atol=0.03)


@pytest.mark.parametrize("rate", [16000, 48000])
def test_stereo_matches_pyloudnorm(rate: int) -> None:
    left, right = noise(rate, seed=1), 0.5 * speechlike(rate)[: round(6.0 * rate)]
    x = np.stack([left, right], axis=1)
    assert integrated_loudness(x, rate) == pytest.approx(
        reference(x.astype(np.float64), rate), abs=0.1
    )


def test_two_identical_channels_are_3_lu_louder_than_one() -> None:
    x = noise(16000)
    assert integrated_loudness(np.stack([x, x], axis=1), 16000) == pytest.approx(
        integrated_loudness(x, 16000) + 3.01, abs=0.01
    )


def test_silence_and_empty_are_minus_inf() -> None:
    assert integrated_loudness(np.zeros(16000 * 2, dtype=np.float32), 16000) == -math.inf
    assert integrated_loudness(np.zeros(0, dtype=np.float32), 16000) == -math.inf
    # Below the absolute gate (-70 LUFS) counts as silence too.
    assert integrated_loudness(noise(16000, rms=1e-5), 16000) == -math.inf


def test_relative_gate_ignores_quiet_passages() -> None:
    rate = 16000
    loud = tone(1000, -20.0, rate, 4.0)
    quiet = tone(1000, -45.0, rate, 4.0)  # 25 dB down: below the -10 LU relative gate
    both = np.concatenate([loud, quiet])
    gated = integrated_loudness(both, rate)
    # Ungated, the mean power would be 3 dB down; gated, only blocks straddling the step
    # pull it slightly below the loud part alone.
    assert integrated_loudness(loud, rate) - 0.25 < gated <= integrated_loudness(loud, rate)
    assert gated == pytest.approx(reference(both.astype(np.float64), rate), abs=0.1)


def test_clip_shorter_than_one_block_is_measured() -> None:
    assert integrated_loudness(tone(1000, -20.0, 16000, 0.25), 16000) == pytest.approx(
        -23.0, abs=0.2
    )


@settings(max_examples=25, deadline=None)
@given(gain_db=st.floats(-30.0, 20.0), seed=st.integers(0, 1000))
def test_gain_shifts_loudness_by_the_same_db(gain_db: float, seed: int) -> None:
    x = noise(16000, 2.0, seed=seed, rms=0.02)
    before = integrated_loudness(x, 16000)
    after = integrated_loudness(x * np.float32(10 ** (gain_db / 20)), 16000)
    assert after - before == pytest.approx(gain_db, abs=0.01)


def test_peak_and_rms_helpers() -> None:
    x = tone(1000, -6.0, 16000, 1.0)
    assert peak_dbfs(x) == pytest.approx(-6.0, abs=0.01)
    assert rms_dbfs(x) == pytest.approx(-6.0 - 3.01, abs=0.01)
    assert peak_dbfs(np.zeros(10)) == -math.inf
    assert rms_dbfs(np.zeros(0)) == -math.inf
    assert peak_dbfs(np.array([[0.1, -0.5], [0.2, 0.0]])) == pytest.approx(20 * math.log10(0.5))


@settings(max_examples=60, deadline=None)
@given(
    frames=st.integers(1, 20_000),
    channels=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_channel_reduce_matches_numpy_per_channel(frames: int, channels: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((frames, channels)).astype(np.float32)
    assert np.array_equal(channel_reduce(x, np.maximum), x.max(axis=0))
    assert np.array_equal(channel_reduce(x, np.fmin), x.min(axis=0))
    sums = channel_reduce(x, np.add, dtype=np.float64)
    assert sums.dtype == np.float64
    np.testing.assert_allclose(sums, x.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-3)
    # A strided (non-contiguous) view takes the per-column path and agrees.
    view = np.asfortranarray(x)
    assert np.array_equal(channel_reduce(view, np.maximum), x.max(axis=0))
    assert channel_reduce(x[:, 0], np.maximum).tolist() == [x[:, 0].max()]


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("chunks", [0.3, 1.0, 1.0001, 2.0, 3.5])
def test_k_filter_chunks_join_like_one_recursive_filter(rate: int, chunks: float) -> None:
    # Lengths around whole chunks: the last partial chunk and the overlap-add must line up.
    from scipy.signal import lfilter

    from stages.loudness import _k_filter

    tail = 1 << max(6, math.ceil(math.log2(0.1 * rate)))
    n = max(1, round(chunks * 7 * tail))
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32) * 0.1
    expected = x.astype(np.float64)
    for b, a in k_weighting(rate):
        expected = lfilter(b, a, expected, axis=1)
    got = _k_filter(x, rate)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5)

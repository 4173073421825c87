"""Tests for `stages.limiter`: the ceiling holds for any input, the gain is smooth and local."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline.clip import Clip
from stages.limiter import limit_peaks, limiter_gain
from stages.loudness import integrated_loudness, peak_dbfs, rms_dbfs
from stages.normalize import Normalize


def speech_like(rate: int, seconds: float, *, seed: int = 0) -> np.ndarray:
    """Voiced syllables (120 Hz harmonics + breath noise) at 4 a second, some silent; peak 1.0.

    Its crest factor (peak over RMS) is about 18 dB, as for read speech.
    """
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 120.0 * (1.0 + 0.1 * np.sin(2 * np.pi * 0.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.cos(k * phase) * 0.85**k for k in range(1, 8))
    syllable = rate // 4
    envelope = np.sin(np.pi * np.arange(n) / syllable) ** 2
    level = rng.uniform(0.7, 1.0, n // syllable + 1) * (rng.random(n // syllable + 1) > 0.1)
    envelope *= level.repeat(syllable)[:n]
    x = (voiced + 0.3 * rng.standard_normal(n)) * envelope
    return (x / np.abs(x).max()).astype(np.float32)


@settings(max_examples=150, deadline=None)
@given(
    frames=st.integers(1, 6000),
    rate=st.sampled_from([8000, 16000, 24000, 44100]),
    ceiling=st.floats(-24.0, 0.0),
    level=st.floats(1e-4, 8.0),
    spikes=st.integers(0, 40),
    lookahead_ms=st.floats(0.05, 10.0),
    hold_ms=st.floats(0.0, 20.0),
    release_ms=st.floats(1.0, 200.0),
    seed=st.integers(0, 2**16),
)
def test_peak_never_exceeds_ceiling_and_gain_never_boosts(
    frames: int,
    rate: int,
    ceiling: float,
    level: float,
    spikes: int,
    lookahead_ms: float,
    hold_ms: float,
    release_ms: float,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(frames) * level * 0.3).astype(np.float32)
    x[rng.integers(0, frames, spikes)] = np.float32(level) * rng.choice([-1, 1], spikes)
    times = {"lookahead_ms": lookahead_ms, "hold_ms": hold_ms, "release_ms": release_ms}
    gain = limiter_gain(x, rate, ceiling_dbfs=ceiling, **times)
    y = limit_peaks(x, rate, ceiling_dbfs=ceiling, **times)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert float(np.max(np.abs(y))) <= 10 ** (ceiling / 20)
    assert np.all(gain <= 1.0) and np.all(gain > 0.0)
    if float(np.max(np.abs(x))) <= 10 ** (ceiling / 20):
        assert np.array_equal(y, x)  # nothing needed limiting: untouched, bit for bit
        assert np.all(gain == 1.0)


@settings(max_examples=150, deadline=None)
@given(
    x=hnp.arrays(
        np.float32,
        st.integers(1, 400),
        elements=st.floats(-16.0, 16.0, width=32, allow_subnormal=True),
    ),
    rate=st.sampled_from([8000, 22050, 48000]),
    ceiling=st.floats(-40.0, 6.0),
)
def test_any_float_input_is_held_under_the_ceiling(
    x: np.ndarray, rate: int, ceiling: float
) -> None:
    y = limit_peaks(x, rate, ceiling_dbfs=ceiling, lookahead_ms=1.0, release_ms=5.0)
    ceiling_lin = 10 ** (ceiling / 20)
    assert float(np.max(np.abs(y))) <= ceiling_lin
    assert np.all(np.abs(y) <= np.abs(x))  # the gain never boosts
    under = np.abs(x) <= ceiling_lin
    if under.all():
        assert np.array_equal(y, x)


@settings(max_examples=60, deadline=None)
@given(
    frames=st.integers(1, 3000),
    channels=st.integers(1, 4),
    ceiling=st.floats(-12.0, 0.0),
    seed=st.integers(0, 2**16),
)
def test_channels_share_one_gain_and_all_stay_under_the_ceiling(
    frames: int, channels: int, ceiling: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((frames, channels)) * 0.5).astype(np.float32)
    y = limit_peaks(x, 16000, ceiling_dbfs=ceiling)
    assert y.shape == x.shape
    assert float(np.max(np.abs(y))) <= 10 ** (ceiling / 20)
    gain = limiter_gain(x, 16000, ceiling_dbfs=ceiling)
    np.testing.assert_array_equal(y, (x * gain[:, None]).astype(np.float32))


def test_quiet_audio_comes_back_unchanged() -> None:
    x = (np.random.default_rng(1).standard_normal(8000) * 0.1).astype(np.float32)
    y = limit_peaks(x, 8000, ceiling_dbfs=-1.0)
    assert np.array_equal(y, x) and y is not x


def test_gain_falls_before_the_peak_and_recovers_after() -> None:
    rate, at = 16000, 8000
    x = np.full(16000, 0.1, dtype=np.float32)
    x[at] = 1.0  # one peak, 6 dB over a -6 dBFS ceiling; the rest is well under it
    gain = limiter_gain(x, rate, ceiling_dbfs=-6.0, lookahead_ms=5.0, hold_ms=5.0, release_ms=60)
    ahead = round(0.005 * rate)
    assert gain[at] <= 10 ** (-6 / 20)
    # Nothing before the look-ahead window (give or take one 0.5 ms knot of the gain curve).
    assert np.all(gain[: at - ahead - rate // 2000 + 1] == 1.0)
    for shifted in (at + 3, at + 5):  # wherever the peak falls between knots
        y = np.roll(x, shifted - at)
        g = limiter_gain(y, rate, ceiling_dbfs=-6.0)
        assert np.all(g[: shifted - ahead - rate // 2000 + 1] == 1.0)
        assert g[shifted] <= 10 ** (-6 / 20)
    assert gain[at - ahead // 2] < 1.0  # already going down half a look-ahead before the peak
    # Held for 5 ms, then an exponential release (time constant 60 ms) of the ~6 dB.
    depth_db = -20 * math.log10(float(gain.min()))
    hold = round(0.005 * rate)
    assert -20 * math.log10(gain[at + hold]) == pytest.approx(depth_db, rel=0.01)
    after = at + hold + ahead + round(0.060 * rate)
    assert -20 * math.log10(gain[after]) == pytest.approx(depth_db / math.e, rel=0.1)
    assert gain[-1] > 10 ** (-0.01 / 20)


def test_gain_moves_smoothly_without_steps() -> None:
    rate = 16000
    x = speech_like(rate, 3.0) * np.float32(2.0)  # peaks 6 dB over full scale
    gain = limiter_gain(x, rate, ceiling_dbfs=-1.0, lookahead_ms=5.0)
    reduction_db = -20 * np.log10(gain)
    depth_db = float(reduction_db.max())
    assert depth_db == pytest.approx(20 * math.log10(2.0) + 1.0, abs=0.01)
    # The attack is a moving average over the look-ahead: no sample-to-sample jump larger
    # than the deepest reduction spread over the look-ahead.
    assert float(np.abs(np.diff(reduction_db)).max()) <= depth_db / round(0.005 * rate) + 1e-9


def test_audio_far_from_any_peak_is_bit_for_bit_unchanged() -> None:
    rate = 8000
    x = (np.random.default_rng(2).standard_normal(4 * rate) * 0.05).astype(np.float32)
    x[rate // 2] = 1.0  # the only peak over the ceiling, at 0.5 s
    y = limit_peaks(x, rate, ceiling_dbfs=-3.0, release_ms=60.0)
    assert float(np.max(np.abs(y))) <= 10 ** (-3 / 20)
    assert np.array_equal(y[2 * rate :], x[2 * rate :])  # 1.5 s = 25 release time constants later


def test_silence_and_empty_input() -> None:
    assert limit_peaks(np.zeros(0, dtype=np.float32), 8000, ceiling_dbfs=-1.0).shape == (0,)
    silent = np.zeros(100, dtype=np.float32)
    assert np.array_equal(limit_peaks(silent, 8000, ceiling_dbfs=-1.0), silent)


@pytest.mark.parametrize("kwargs", [{"lookahead_ms": 0.0}, {"release_ms": -1.0}, {"hold_ms": -1.0}])
def test_bad_times_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="lookahead_ms"):
        limiter_gain(np.ones(10), 8000, ceiling_dbfs=-1.0, **kwargs)


@pytest.mark.parametrize("rate", [8000, 24000])
def test_speech_with_18_db_crest_factor_reaches_the_target(rate: int) -> None:
    x = speech_like(rate, 12.0)
    assert peak_dbfs(x) - rms_dbfs(x) == pytest.approx(18.0, abs=0.6)
    plain = Normalize(sample_rate=rate)(Clip("t", samples=x.copy(), rate=rate))
    assert plain.metrics["lufs"] < -17.5  # the ceiling wins by ~2 LU without the limiter
    clip = Normalize(sample_rate=rate, limiter=True)(Clip("t", samples=x.copy(), rate=rate))
    assert clip.samples is not None
    assert integrated_loudness(clip.samples, rate) == pytest.approx(-16.0, abs=0.5)
    assert peak_dbfs(clip.samples) <= -1.0
    assert -6.0 - 1e-3 <= clip.metrics["limiter_gain_db"] < -1.0
    assert "loudness_ceiling" not in clip.codes()

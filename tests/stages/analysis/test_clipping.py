"""Clipping: flat tops at full scale and flat tops hidden by a later gain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.clipping import detect_clipping
from tests.stages.analysis._signals import voice


def quantise(x: np.ndarray) -> np.ndarray:
    return (np.round(x * 32767) / 32767).astype(np.float32)


def test_clean_speech_is_not_clipped() -> None:
    assert detect_clipping(quantise(voice(4.0) * 1.8)).ratio == 0.0


@pytest.mark.parametrize("level", [0.5, 1.0, -1.0])
def test_a_constant_is_not_clipping(level: float) -> None:
    # DC alone (a faulty interface): the dc_offset check speaks for it, not "lower the gain".
    assert detect_clipping(np.full(48000, level, dtype=np.float32)).ratio == 0.0


def test_hard_clipping_is_counted() -> None:
    x = quantise(np.clip(voice(4.0) * 6.0, -1.0, 1.0))
    result = detect_clipping(x)
    assert result.ratio > 0.01
    assert result.hard_ratio == pytest.approx(result.ratio)
    assert not result.hidden


@settings(max_examples=20, deadline=None)
@given(gain_db=st.floats(-20.0, -1.0))
def test_clipping_turned_down_is_still_found(gain_db: float) -> None:
    clipped = np.clip(voice(3.0) * 6.0, -1.0, 1.0)
    expected = detect_clipping(quantise(clipped)).ratio
    result = detect_clipping(quantise(clipped * 10 ** (gain_db / 20)))
    assert result.ratio == pytest.approx(expected, rel=0.05)
    assert result.hidden and result.hard_ratio == 0.0
    assert result.level == pytest.approx(10 ** (gain_db / 20), rel=1e-3)


def test_a_lone_full_scale_peak_is_not_clipping() -> None:
    x = quantise(voice(2.0) * 0.5)
    x[1000] = 1.0
    assert detect_clipping(x).ratio == 0.0


def test_hard_clipping_takes_the_worst_channel_and_needs_runs_of_three() -> None:
    x = np.zeros((1000, 2), dtype=np.float32)
    x[10:13, 0] = -1.0  # exactly three: counts
    x[100:120, 1] = 0.9995
    x[200:202, 1] = 1.0  # two: does not count
    assert detect_clipping(x).hard_ratio == pytest.approx(20 / 1000)
    assert detect_clipping(np.full(2, 1.0, dtype=np.float32)).hard_ratio == 0.0


def test_worst_channel_counts_and_silence_is_clean() -> None:
    left = quantise(voice(2.0))
    right = quantise(np.clip(voice(2.0, seed=4) * 5.0, -0.5, 0.5))
    assert detect_clipping(np.stack([left, right], axis=1)).ratio > 0.01
    assert detect_clipping(np.zeros(1000, dtype=np.float32)).ratio == 0.0


def _reference(x: np.ndarray, *, rel_tol: float = 1e-4) -> tuple[float, float]:
    """(ratio, hard_ratio) by the definition, one channel at a time, with plain masks."""
    cols = [x] if x.ndim == 1 else [x[:, c] for c in range(x.shape[1])]
    best = (0.0, 0.0)
    for col in cols:
        hi, lo = float(col.max()), float(col.min())
        if max(hi, -lo) < 1e-3 or hi - lo < 1e-3:  # silence or a constant: no waveform
            continue
        masks = [np.abs(col) >= np.float32(0.999)]
        if hi >= 1e-3:
            masks.append(col >= np.float32(hi * (1 - rel_tol)))
        if lo <= -1e-3:
            masks.append(col <= np.float32(lo * (1 - rel_tol)))
        in_runs = []
        for mask in masks:
            covered = np.zeros(col.size, dtype=bool)
            run3 = mask[:-2] & mask[1:-1] & mask[2:]
            for k in range(3):
                covered[k : k + run3.size] |= run3
            in_runs.append(covered)
        ratio = float(np.count_nonzero(np.logical_or.reduce(in_runs))) / col.size
        if ratio > best[0]:
            best = (ratio, float(np.count_nonzero(in_runs[0])) / col.size)
    return best


@settings(max_examples=80, deadline=None)
@given(
    frames=st.integers(3, 30_000),
    channels=st.integers(1, 3),
    rail=st.floats(0.05, 1.2),
    gain=st.floats(0.01, 3.0),
    seed=st.integers(0, 2**16),
)
def test_interleaved_scan_agrees_with_the_per_channel_definition(
    frames: int, channels: int, rail: float, gain: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal((frames, channels)) * gain, -rail, rail).astype(np.float32)
    result = detect_clipping(x)
    ratio, hard = _reference(x)
    assert result.ratio == pytest.approx(ratio)
    assert result.hard_ratio == pytest.approx(hard)


@settings(max_examples=40, deadline=None)
@given(
    frames=st.integers(1, 40_000),
    channels=st.integers(1, 3),
    seed=st.integers(0, 1000),
    rail=st.floats(0.05, 0.99),
)
def test_candidates_equal_a_plain_comparison(
    frames: int, channels: int, seed: int, rail: float
) -> None:
    from stages.analysis.clipping import _candidates

    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal((frames, channels)) * 0.3, -rail, rail).astype(np.float32)
    if channels == 1:
        x = x[:, 0].copy()
    hi = np.full(channels, rail * 0.999, dtype=np.float32)
    hi[-1] = np.inf if channels > 1 and seed % 2 else hi[-1]  # a silent channel's threshold
    lo = -np.full(channels, rail * 0.998, dtype=np.float32)
    highs, lows = _candidates(x, hi, lo)
    grid = x.reshape(frames, channels)
    for c in range(channels):
        np.testing.assert_array_equal(highs[c], np.flatnonzero(grid[:, c] >= hi[c]))
        np.testing.assert_array_equal(lows[c], np.flatnonzero(grid[:, c] <= lo[c]))


@pytest.mark.parametrize("floor_dbfs", [-90.0, -75.0, -60.0])
def test_clipping_turned_down_under_a_later_noise_floor_is_found(floor_dbfs: float) -> None:
    # Noise added after the gain scatters the flat tops: no sample repeats the extreme.
    clipped = np.clip(voice(4.0) * 6.0, -1.0, 1.0) * 0.5
    exact = detect_clipping(quantise(clipped)).ratio
    noise = np.random.default_rng(3).standard_normal(clipped.size) * 10 ** (floor_dbfs / 20)
    result = detect_clipping((clipped + noise).astype(np.float32))
    assert result.ratio == pytest.approx(exact, rel=0.1)
    assert result.hidden and result.level == pytest.approx(0.5, abs=0.002)


@pytest.mark.parametrize("drive_db", [6.0, 12.0])
@pytest.mark.parametrize("floor_dbfs", [None, -75.0])
def test_a_limiters_ceiling_is_not_clipping(drive_db: float, floor_dbfs: float | None) -> None:
    # A look-ahead limiter brings many crests to one level, but as rounded crests, not flats.
    from stages.limiter import limit_peaks

    x = voice(6.0, seed=5) * np.float32(10 ** (drive_db / 20) * 2 * 0.89)
    limited = limit_peaks(x, 16000, ceiling_dbfs=-1.0)
    if floor_dbfs is not None:
        noise = np.random.default_rng(4).standard_normal(x.size) * 10 ** (floor_dbfs / 20)
        limited = (limited + noise).astype(np.float32)
    assert detect_clipping(limited).ratio < 1e-4


def test_noise_louder_than_the_flat_tops_can_show_gives_no_verdict() -> None:
    clipped = np.clip(voice(4.0) * 6.0, -1.0, 1.0) * 0.5
    noise = np.random.default_rng(3).standard_normal(clipped.size) * 10 ** (-30 / 20)
    assert detect_clipping((clipped + noise).astype(np.float32)).ratio < 1e-4

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


def test_worst_channel_counts_and_silence_is_clean() -> None:
    left = quantise(voice(2.0))
    right = quantise(np.clip(voice(2.0, seed=4) * 5.0, -0.5, 0.5))
    assert detect_clipping(np.stack([left, right], axis=1)).ratio > 0.01
    assert detect_clipping(np.zeros(1000, dtype=np.float32)).ratio == 0.0

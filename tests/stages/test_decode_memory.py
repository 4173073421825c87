"""The decode memory bound: which channels are kept, and the sink that gathers the blocks."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode_memory import SampleSink, kept_channels, kept_values_budget
from stages.normalize import downmix


def test_budget_grows_with_the_duration_limit_but_never_under_the_floor():
    assert kept_values_budget(600.0) == 1 << 27
    assert kept_values_budget(3600.0, ram_bytes=64 << 30) == 3600 * 2 * 96_000
    # --max-input-s 100000 on a 24 GiB machine: capped at an eighth of its memory
    assert kept_values_budget(100_000.0, ram_bytes=24 << 30) == (24 << 30) // 8 // 4
    assert kept_values_budget(100_000.0, ram_bytes=1 << 30) == 1 << 27  # never under 512 MiB
    # Ten minutes of 48 kHz stereo (an everyday long take) keeps both channels.
    assert kept_channels(600 * 48_000, 2, kept_values_budget(600.0)) == 2


@pytest.mark.parametrize(
    ("frames", "channels", "kept"),
    [(100, 8, 8), (101, 8, 1), (1000, 8, 1), (1001, 1, None), (1001, 8, None)],
)
def test_kept_channels_all_then_the_downmix_then_none(frames, channels, kept):
    assert kept_channels(frames, channels, budget=1000 if frames > 800 else 800) == kept


def test_sink_downmix_is_normalizes_downmix_bit_for_bit():
    rng = np.random.default_rng(1)
    audio = rng.uniform(-1, 1, (10_000, 6)).astype(np.float32)
    sink = SampleSink(6, downmix=True, expected_frames=1000, max_frames=10_000)
    for first in range(0, 10_000, 777):
        assert sink.add(audio[first : first + 777])
    np.testing.assert_array_equal(sink.samples(), downmix(audio))


def test_sink_keeps_channels_and_grows_past_a_short_estimate():
    audio = np.arange(30, dtype=np.float32).reshape(15, 2)
    sink = SampleSink(2, downmix=False, expected_frames=4, max_frames=100)
    for first in range(0, 15, 4):
        assert sink.add(audio[first : first + 4])
    np.testing.assert_array_equal(sink.samples(), audio)
    assert sink.samples().flags.c_contiguous


def test_sink_refuses_a_block_past_max_frames_and_keeps_what_it_had():
    sink = SampleSink(1, downmix=False, expected_frames=10, max_frames=10)
    assert sink.add(np.ones(8, dtype=np.float32))
    assert not sink.add(np.ones(3, dtype=np.float32))
    assert sink.frames == 8 and sink.samples().shape == (8,)

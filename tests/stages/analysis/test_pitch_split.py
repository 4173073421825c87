"""Pitch groups: two voices an octave apart split, one talker's intonation and slips do not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.pitch_split import PITCH_GAP_ST, pitch_split

HOP_S = 0.02


def track(*turns: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Frame times and pitch of ``(seconds, hz)`` turns: 0.3 s voiced, 0.1 s unvoiced, repeated.

    Each turn ends unvoiced. Within a stretch the pitch glides ±1 semitone, as intonation does.
    """
    pitch: list[float] = []
    for seconds, hz in turns:
        n = round(seconds / HOP_S)
        phase = np.arange(n) % 20  # 20 frames = 0.4 s
        glide = hz * 2.0 ** (np.sin(np.arange(n) / 7.0) / 12.0)
        voiced = (phase < 15) & (np.arange(n) < n - 5)
        pitch += np.where(voiced, glide, 0.0).tolist()
    times = np.arange(len(pitch)) * HOP_S + 0.0125
    return times, np.asarray(pitch)


def test_a_man_and_a_woman_taking_turns_split_an_octave_apart() -> None:
    times, pitch = track((3.0, 110.0), (3.0, 220.0), (2.0, 110.0))
    split = pitch_split(times, pitch, HOP_S)
    assert split.gap_st == pytest.approx(12.0, abs=1.0) and split.gap_st >= PITCH_GAP_ST
    assert split.low_hz == pytest.approx(110.0, rel=0.06)
    assert split.high_hz == pytest.approx(220.0, rel=0.06)
    (start, end), *rest = split.second_voice_s
    assert start == pytest.approx(3.0, abs=0.05) and end == pytest.approx(5.9, abs=0.1)
    assert rest == []


def test_one_talker_moving_five_semitones_between_phrases_stays_one_group() -> None:
    times, pitch = track((3.0, 150.0), (3.0, 200.0), (3.0, 150.0))  # 5 semitones
    assert pitch_split(times, pitch, HOP_S).gap_st < PITCH_GAP_ST


def test_scattered_octave_slips_are_no_second_voice() -> None:
    # A pitch tracker jumping to double the pitch for one stretch at a time: no turn.
    turns = [(0.4, 240.0 if k % 3 == 2 else 120.0) for k in range(30)]
    assert pitch_split(*track(*turns), HOP_S).gap_st == 0.0


def test_a_tracker_pinned_at_its_limits_is_left_out() -> None:
    from stages.analysis.mfcc import MAX_PITCH_HZ, MIN_PITCH_HZ

    times, pitch = track((3.0, 150.0), (3.0, MAX_PITCH_HZ), (3.0, MIN_PITCH_HZ))
    assert pitch_split(times, pitch, HOP_S).gap_st == 0.0


@pytest.mark.parametrize(("second_s", "splits"), [(1.2, False), (3.0, True)])
def test_the_second_voice_must_span_span_s(second_s: float, splits: bool) -> None:
    times, pitch = track((4.0, 110.0), (second_s, 230.0))
    split = pitch_split(times, pitch, HOP_S, span_s=1.5)
    assert (split.gap_st >= PITCH_GAP_ST) is splits


def test_silence_and_a_single_stretch_have_no_split() -> None:
    assert pitch_split(np.zeros(0), np.zeros(0), HOP_S).gap_st == 0.0
    times, pitch = track((0.3, 150.0))
    assert pitch_split(times, pitch, HOP_S).gap_st == 0.0


@settings(max_examples=40, deadline=None)
@given(
    low=st.floats(100.0, 150.0),
    ratio=st.floats(1.05, 2.0),
    scale=st.floats(0.9, 1.1),  # all within the tracker's limits
    shift_s=st.floats(0.0, 30.0),
)
def test_the_gap_depends_on_the_pitch_ratio_only(
    low: float, ratio: float, scale: float, shift_s: float
) -> None:
    times, pitch = track((3.0, low), (3.0, low * ratio))
    split = pitch_split(times, pitch, HOP_S)
    moved = pitch_split(times + shift_s, pitch * scale, HOP_S)
    assert split.gap_st >= 0.0
    assert moved.gap_st == pytest.approx(split.gap_st, abs=0.02)
    assert split.gap_st == pytest.approx(12.0 * np.log2(ratio), abs=0.6)

"""Tests for `stages.trim`: padding around speech, duration window, cuts only at pauses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from stages.trim import Trim, cut_at_pause, short_pauses
from stages.vad import Vad
from tests.stages.test_vad import add_noise, utterance

RATE = 8000


def clip_with(segments: list[tuple[float, float]], duration_s: float, **kw: object) -> Clip:
    """A clip of the given length whose sample values encode their own index (for checking cuts)."""
    samples = np.arange(round(duration_s * RATE), dtype=np.float32) / RATE
    return Clip("test", samples=samples, rate=RATE, segments=list(segments), **kw)  # type: ignore[arg-type]


def assert_segments_whole(
    kept: list[tuple[float, float]], original: list[tuple[float, float]], shift: float
) -> None:
    """Every kept segment is one of the original ones, shifted, and not cut short."""
    for start, end in kept:
        assert any(
            abs(start + shift - s) < 1e-3 and abs(end + shift - e) < 1e-3 for s, e in original
        ), (start, end)


def test_trims_to_speech_plus_pad() -> None:
    clip = Trim(pad_ms=200)(clip_with([(1.0, 2.5)], 4.0))
    assert clip.samples is not None
    assert clip.duration_s == pytest.approx(1.9, abs=1e-3)
    assert clip.offset_s == pytest.approx(0.8, abs=1e-3)
    assert clip.samples[0] == pytest.approx(0.8, abs=1 / RATE)  # first kept sample's source time
    assert clip.segments == [(pytest.approx(0.2, abs=1e-3), pytest.approx(1.7, abs=1e-3))]
    assert clip.metrics["trimmed_start_s"] == pytest.approx(0.8, abs=1e-3)
    assert clip.metrics["trimmed_end_s"] == pytest.approx(1.3, abs=1e-3)
    assert clip.metrics["duration_s"] == pytest.approx(1.9, abs=1e-3)
    assert not clip.findings


def test_pad_is_clamped_to_the_clip() -> None:
    clip = Trim(pad_ms=500)(clip_with([(0.1, 3.9)], 4.0))
    assert clip.duration_s == pytest.approx(4.0)
    assert clip.offset_s == 0.0
    assert clip.metrics["trimmed_end_s"] == 0.0


def test_offset_accumulates_in_source_time() -> None:
    clip = Trim(pad_ms=100)(clip_with([(1.0, 2.0)], 3.0, offset_s=5.0))
    assert clip.offset_s == pytest.approx(5.9, abs=1e-3)


def test_no_segments_leaves_audio_alone() -> None:
    clip = Trim(pad_ms=200, min_s=5.0)(clip_with([], 3.0))
    assert clip.duration_s == pytest.approx(3.0)
    assert not clip.findings  # no_speech is analyze's to report


def test_too_short_is_an_error_with_advice() -> None:
    clip = Trim(pad_ms=200, min_s=5.0, profile="tencent-vod-voice")(clip_with([(1.0, 4.2)], 6.0))
    assert clip.failed
    [finding] = clip.findings
    assert finding.code == "too_short" and finding.severity is Severity.ERROR
    assert "3.2 s" in finding.message and "5 s" in finding.message
    assert "tencent-vod-voice" in finding.message and "record a longer" in finding.message


def test_no_minimum_for_ivr_profiles() -> None:
    assert not Trim(pad_ms=200, min_s=None)(clip_with([(1.0, 1.3)], 3.0)).findings


def test_long_clip_is_cut_at_the_last_pause_that_fits() -> None:
    original = [(1.0, 9.0), (10.0, 20.0), (21.0, 29.5), (30.5, 38.0)]
    clip = Trim(pad_ms=200, min_s=5.0, max_s=30.0)(clip_with(original, 40.0))
    assert not clip.failed
    assert clip.duration_s <= 30.0
    # start 0.8; the pause 29.5-30.5 lets it end at 29.7 (pad), inside the pause
    assert clip.offset_s == pytest.approx(0.8, abs=1e-3)
    assert clip.offset_s + clip.duration_s == pytest.approx(29.7, abs=1e-3)
    assert len(clip.segments) == 3
    assert_segments_whole(clip.segments, original, clip.offset_s)
    [finding] = clip.findings
    assert finding.code == "trimmed_to_max" and finding.severity is Severity.WARNING
    assert "at a pause" in finding.message
    # the source time of the cut, not the kept length (28.9 s)
    assert finding.message.startswith(
        "cut the source after 29.7 s (the last 8.5 s: 1 of 4 stretches of speech)"
    )


def test_cut_never_ends_past_the_middle_of_a_short_pause() -> None:
    original = [(0.5, 9.9), (10.1, 12.0)]
    clip = Trim(pad_ms=300, max_s=10.0)(clip_with(original, 13.0))
    end = clip.offset_s + clip.duration_s
    assert 9.9 <= end <= 10.0 + 1e-9  # at most the middle of the 0.2 s pause
    assert_segments_whole(clip.segments, original, clip.offset_s)


def test_cut_shortens_the_end_pad_rather_than_the_speech() -> None:
    # Only the pause after the first segment fits, and only without the full pad.
    original = [(0.2, 9.95), (11.0, 15.0)]
    clip = Trim(pad_ms=200, max_s=10.0)(clip_with(original, 16.0))
    assert not clip.failed
    assert clip.duration_s <= 10.0 + 1e-9
    assert clip.offset_s + clip.duration_s >= 9.95
    assert_segments_whole(clip.segments, original, clip.offset_s)


def test_one_long_segment_is_too_long() -> None:
    clip = Trim(pad_ms=200, max_s=30.0)(clip_with([(1.0, 35.0)], 36.0))
    assert clip.failed
    [finding] = clip.findings
    assert finding.code == "too_long" and "30 s" in finding.message
    assert "pause" in finding.message


def test_first_segment_longer_than_max_is_too_long_even_with_pauses_later() -> None:
    clip = Trim(pad_ms=200, max_s=10.0)(clip_with([(0.5, 12.0), (13.0, 14.0)], 15.0))
    assert clip.codes() == ["too_long"]


def test_too_short_after_cutting_to_max() -> None:
    original = [(0.5, 3.0), (4.0, 20.0)]
    clip = Trim(pad_ms=200, min_s=5.0, max_s=10.0)(clip_with(original, 21.0))
    assert clip.codes() == ["trimmed_to_max", "too_short"]


def test_cut_at_pause_prefers_latest_pause() -> None:
    segments = [(0.0, 2.0), (3.0, 5.0), (6.0, 8.0)]
    assert cut_at_pause(segments, start_s=0.0, max_s=7.0, pad_s=0.2) == (2, 5.2)
    assert cut_at_pause(segments, start_s=0.0, max_s=4.0, pad_s=0.2) == (1, 2.2)
    assert cut_at_pause(segments, start_s=0.0, max_s=1.0, pad_s=0.2) is None


@pytest.mark.parametrize(
    "options",
    [
        {"min_s": 10.0, "max_s": 5.0},
        {"pad_ms": float("nan")},
        {"pad_ms": -1.0},
        {"max_s": -5.0},
        {"min_s": float("inf")},
    ],
)
def test_bad_window_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Trim(**options)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 48000])
def test_vad_then_trim_gives_burst_plus_pad(rate: int) -> None:
    x = utterance(
        [("pause", 1.5), ("speech", 1.2), ("pause", 0.2), ("speech", 0.8), ("pause", 2.0)], rate
    )
    clip = Trim(pad_ms=200)(Vad()(Clip("test", samples=x, rate=rate)))
    assert len(clip.segments) == 1  # the short pause stays inside
    assert clip.offset_s == pytest.approx(1.3, abs=0.02)
    assert clip.offset_s + clip.duration_s == pytest.approx(3.9, abs=0.02)
    assert clip.metrics["speech_ratio"] == pytest.approx(2.2 / 2.6, abs=0.02)


def fluent(gap_s: float, *, seconds: float = 36.0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Speech in 1.5 s phrases with ``gap_s`` silences between them, as the VAD reports fluent
    reading: one segment over the whole of it (its hangover joins gaps under 300 ms)."""
    parts: list[tuple[str, float]] = [("pause", 0.5)]
    while sum(d for _, d in parts) < seconds - 1.0:
        parts += [("speech", 1.5), ("pause", gap_s)]
    x = utterance([*parts[:-1], ("pause", 0.5)], RATE)
    return x, [(0.5, x.shape[0] / RATE - 0.5)]


def test_fluent_speech_with_no_pause_between_segments_is_cut_at_a_gap_between_phrases() -> None:
    x, segments = fluent(0.25)
    clip = Trim(pad_ms=200, max_s=30.0)(Clip("t", samples=x, rate=RATE, segments=segments))
    assert clip.codes() == ["trimmed_to_max"]
    assert 28.0 <= clip.duration_s <= 30.0  # the latest gap that fits, not the start
    end = clip.offset_s + clip.duration_s
    phrase = 1.5 + 0.25
    into_gap = (end - 0.5) % phrase - 1.5  # where the cut lies after its phrase's end
    assert 0.0 <= into_gap <= 0.25, into_gap
    assert "short pause" in clip.findings[0].message


def test_gaps_as_short_as_stop_closures_are_not_pauses_to_cut_at() -> None:
    x, segments = fluent(0.08)
    clip = Trim(pad_ms=200, max_s=30.0)(Clip("t", samples=x, rate=RATE, segments=segments))
    assert clip.codes() == ["too_long"]


def test_gaps_filled_with_room_noise_are_not_taken_for_pauses() -> None:
    x, _ = fluent(0.25)
    assert short_pauses(x, RATE, from_s=0.0, to_s=36.0)
    assert not short_pauses(add_noise(x, 15.0), RATE, from_s=0.0, to_s=36.0)


def test_a_pause_between_segments_wins_unless_a_short_pause_keeps_a_second_more() -> None:
    x, _ = fluent(0.25)
    x[round(29.3 * RATE) : round(29.9 * RATE)] = 0.0  # a real pause, between two segments
    segments = [(0.5, 29.3), (29.9, x.shape[0] / RATE - 0.5)]
    clip = Trim(pad_ms=200, max_s=30.0)(Clip("t", samples=x, rate=RATE, segments=segments))
    # The gap between phrases at 30.0 s would end the clip at 30.125 s: only 0.6 s more.
    assert clip.codes() == ["trimmed_to_max"]
    assert "at a pause" in clip.findings[0].message
    assert clip.offset_s + clip.duration_s == pytest.approx(29.5, abs=0.01)


def test_short_pauses_of_a_stereo_take_are_those_of_its_mix() -> None:
    x, _ = fluent(0.25)
    assert short_pauses(np.stack([x, x], axis=1), RATE, from_s=0.0, to_s=36.0) == short_pauses(
        x, RATE, from_s=0.0, to_s=36.0
    )

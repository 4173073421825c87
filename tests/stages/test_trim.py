"""Tests for `stages.trim`: padding around speech, duration window, cuts only at pauses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from stages.loudness import integrated_loudness, peak_dbfs
from stages.normalize import Normalize
from stages.trim import Trim, cut_at_pause, seconds_under, short_pauses, widen
from stages.vad import Vad
from tests.stages.test_vad import add_noise, silence, speech_like, utterance

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
    clip = Trim(pad_ms=200, min_s=5.0, profile="tencent-vod-voice")(clip_with([(1.0, 4.2)], 4.5))
    assert clip.failed
    assert clip.duration_s == pytest.approx(4.5)  # all the source holds, to show what is there
    [finding] = clip.findings
    assert finding.code == "too_short" and finding.severity is Severity.ERROR
    assert finding.message == (
        "the whole source lasts 4.5 s (3.2 s of speech); tencent-vod-voice needs at least 5 s; "
        "record a longer sample"
    )


def test_short_speech_keeps_more_of_the_source_evenly_to_reach_the_minimum() -> None:
    # Speech plus 200 ms is 3.6 s; 1.4 s more is kept, 0.7 s either side.
    clip = Trim(pad_ms=200, min_s=5.0, profile="tencent-vod-voice")(clip_with([(1.0, 4.2)], 6.0))
    assert not clip.failed
    assert clip.samples is not None and clip.samples.shape[0] == 5 * RATE
    assert clip.offset_s == pytest.approx(0.1)
    assert clip.segments == [(pytest.approx(0.9), pytest.approx(4.1))]
    [finding] = clip.findings
    assert finding.code == "padded_to_min" and finding.severity is Severity.INFO
    assert "lasts 3.6 s, under tencent-vod-voice's 5 s minimum" in finding.message
    assert "0.90 s before the speech and 0.90 s after" in finding.message


def test_widening_takes_from_the_other_side_what_one_side_lacks() -> None:
    clip = Trim(pad_ms=200, min_s=5.0)(clip_with([(0.3, 4.0)], 6.0))
    assert clip.codes() == ["padded_to_min"]
    assert clip.offset_s == 0.0 and clip.duration_s == pytest.approx(5.0)


def test_speech_plus_pad_a_hair_under_the_minimum_is_not_refused() -> None:
    # The audit's 5.3 s take: speech + 200 ms came to 4.98 s, "5.0 s ... needs at least 5 s".
    clip = Trim(pad_ms=200, min_s=5.0)(clip_with([(0.2, 4.78)], 5.3))
    assert clip.codes() == ["padded_to_min"]
    assert clip.samples is not None and clip.samples.shape[0] == 5 * RATE
    assert "lasts 4.98 s, under the target platform's 5 s minimum" in clip.findings[0].message


def test_too_short_message_never_rounds_up_to_the_minimum() -> None:
    clip = Trim(pad_ms=200, min_s=5.0)(clip_with([(0.2, 4.9)], 4.98))
    assert clip.codes() == ["too_short"]
    assert "lasts 4.98 s" in clip.findings[0].message
    assert "5.0 s" not in clip.findings[0].message


@pytest.mark.parametrize(
    ("value", "shown"),
    [(4.7, "4.7"), (4.98, "4.98"), (4.9996, "4.999"), (5.0, "5.0"), (3.25, "3.2")],
)
def test_seconds_under_reads_below_the_limit(value: float, shown: str) -> None:
    assert seconds_under(value, 5.0) == shown


@pytest.mark.parametrize(
    ("room", "expected"),
    [((0, 100), (40, 60)), ((48, 100), (48, 68)), ((0, 52), (32, 52)), ((45, 55), (45, 55))],
)
def test_widen_grows_evenly_within_the_room(
    room: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert widen(50, 50, frames=20, lo=room[0], hi=room[1]) == expected
    assert widen(40, 60, frames=10, lo=0, hi=100) == (40, 60)  # long enough already


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
    # Widened over the whole start and up to the middle of the pause, never into speech.
    assert clip.offset_s == 0.0 and clip.duration_s == pytest.approx(3.5)
    assert "cut at a pause to fit the target platform's 10 s maximum" in clip.findings[1].message
    assert "keeps 3.5 s (2.5 s of speech" in clip.findings[1].message


def test_cut_to_max_leaves_a_short_first_part_widened_to_the_minimum() -> None:
    original = [(1.0, 4.0), (6.0, 20.0)]
    clip = Trim(pad_ms=200, min_s=5.0, max_s=10.0)(clip_with(original, 21.0))
    assert clip.codes() == ["trimmed_to_max", "padded_to_min"]
    assert clip.duration_s == pytest.approx(5.0)
    assert clip.offset_s + clip.duration_s <= 5.0 + 1e-9  # the middle of the pause


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


# Levelling again what trim keeps (normalize's rule; see `stages.normalize.GainRule`).

TARGET, CEILING = -16.0, -1.0


def levelled(x: np.ndarray, target: float = TARGET, **rule: Any) -> tuple[Clip, Normalize]:
    """``x`` through `Normalize` at ``RATE`` with the given loudness options (and no DC or
    rumble filter, so its output is ``x`` times its gain)."""
    normalize = Normalize(
        sample_rate=RATE, target_lufs=target, ceiling_dbfs=CEILING, remove_dc=False, **rule
    )
    return normalize(Clip("t", samples=x.copy(), rate=RATE)), normalize


def assert_describes_output(clip: Clip, source: np.ndarray) -> None:
    """``lufs``, ``peak_dbfs`` and ``gain_db`` are those of the audio trim hands on."""
    assert clip.samples is not None
    # (Not exact for a part raised from far down: a gain moves blocks across the -70 LUFS gate.)
    assert clip.metrics["lufs"] == pytest.approx(integrated_loudness(clip.samples, RATE), abs=0.2)
    assert clip.metrics["peak_dbfs"] == pytest.approx(peak_dbfs(clip.samples), abs=1e-4)
    if "limiter_gain_db" not in clip.metrics:  # a linear gain: the kept source times it
        first = round(clip.offset_s * RATE)
        kept = source[first : first + clip.samples.shape[0]]
        gain = 10.0 ** (clip.metrics["gain_db"] / 20.0)
        np.testing.assert_allclose(clip.samples, kept * gain, rtol=1e-4, atol=1e-6)


def assert_meets_the_level_bar(clip: Clip) -> None:
    """Within ±1 LU of the target, or its peak at the ceiling (and never over it)."""
    assert clip.samples is not None
    lufs, peak = integrated_loudness(clip.samples, RATE), peak_dbfs(clip.samples)
    assert peak <= CEILING + 1e-3
    assert abs(lufs - TARGET) <= 1.0 or peak >= CEILING - 0.05, (lufs, peak)


def test_a_click_cut_off_with_the_silence_no_longer_holds_the_loudness_down() -> None:
    x = utterance([("pause", 1.0), ("speech", 3.0), ("pause", 2.0)], RATE)
    x[round(5.5 * RATE)] = 1.0  # a click at full scale, far after the speech
    clip, normalize = levelled(x, target=-20.0)  # speech_like's crest factor: 15 dB
    assert clip.codes() == ["loudness_ceiling"]  # the whole take: the click sets the gain
    clip.segments = [(1.0, 4.0)]
    trimmed = Trim(pad_ms=200, gain_rule=normalize.gain_rule)(clip)
    assert trimmed.codes() == []  # its warning was about the click, now cut off
    assert trimmed.metrics["lufs"] == pytest.approx(-20.0, abs=0.1)
    assert_describes_output(trimmed, x)


def test_a_loud_end_cut_to_fit_the_maximum_no_longer_sets_the_level() -> None:
    quiet = utterance([("pause", 0.5), ("speech", 8.0), ("pause", 1.0)], RATE, seed=1)
    loud = np.clip(utterance([("speech", 8.0), ("pause", 0.5)], RATE, seed=2) * 40.0, -1, 1)
    x = np.concatenate([quiet * np.float32(0.05), loud]).astype(np.float32)
    clip, normalize = levelled(x)
    clip.segments = [(0.5, 8.5), (9.5, 17.5)]
    trimmed = Trim(pad_ms=200, max_s=10.0, gain_rule=normalize.gain_rule)(clip)
    assert trimmed.codes()[0] == "trimmed_to_max"
    assert trimmed.duration_s <= 10.0
    assert_meets_the_level_bar(trimmed)
    assert_describes_output(trimmed, x)


@pytest.mark.parametrize("limiter", [False, True])
def test_the_ceiling_warning_describes_what_trim_kept(limiter: bool) -> None:
    # Peaky speech: neither take nor kept part reaches the target without the limiter.
    x = utterance([("pause", 1.0), ("speech", 6.0), ("pause", 1.0), ("speech", 6.0)], RATE)
    x[: round(1.0 * RATE)] = 0.0
    x *= np.float32(0.5 / float(np.abs(x).max()))
    x[round(9.0 * RATE) : round(9.0 * RATE) + 40] *= 2.0  # louder peaks in the part cut off
    clip, normalize = levelled(x, limiter=limiter, max_limiting_db=1.0)
    clip.segments = [(1.0, 7.0), (8.0, 14.0)]
    trimmed = Trim(pad_ms=200, max_s=10.0, gain_rule=normalize.gain_rule)(clip)
    assert trimmed.codes().count("loudness_ceiling") <= 1
    assert_meets_the_level_bar(trimmed)
    assert_describes_output(trimmed, x)
    for finding in trimmed.findings:
        if finding.code == "loudness_ceiling":
            assert finding.stage == "normalize"
            assert f"reached {trimmed.metrics['lufs']:.1f} LUFS" in finding.message
    if limiter:
        assert -1.0 - 1e-6 <= trimmed.metrics["limiter_gain_db"] <= 0.0  # within the budget


@settings(max_examples=25, deadline=None)
@given(
    levels=st.lists(st.floats(-40.0, 0.0), min_size=2, max_size=5),
    gaps=st.lists(st.floats(0.5, 2.0), min_size=5, max_size=5),
    click=st.booleans(),
    limiter=st.booleans(),
)
def test_any_take_longer_than_the_maximum_is_levelled_after_the_cut(
    levels: list[float], gaps: list[float], click: bool, limiter: bool
) -> None:
    """Phrases at any levels, a click maybe, the end cut to fit: the kept part meets the bar."""
    parts, segments, t = [silence(0.4, RATE)], [], 0.4
    for i, (level_db, gap) in enumerate(zip(levels, gaps, strict=False)):
        phrase = speech_like(4.0, RATE, seed=i) * np.float32(10.0 ** (level_db / 20.0))
        parts += [phrase, silence(gap, RATE)]
        segments.append((t, t + 4.0))
        t += 4.0 + gap
    x = np.concatenate(parts).astype(np.float32)
    if click:
        x[-RATE // 4] = 1.0
    clip, normalize = levelled(x, limiter=limiter)
    clip.segments = segments
    trimmed = Trim(pad_ms=200, min_s=2.0, max_s=6.0, gain_rule=normalize.gain_rule)(clip)
    assert not trimmed.failed
    assert trimmed.duration_s <= 6.0
    assert_meets_the_level_bar(trimmed)
    assert_describes_output(trimmed, x)
    ceiling_warnings = [f for f in trimmed.findings if f.code == "loudness_ceiling"]
    assert len(ceiling_warnings) <= 1
    if abs(trimmed.metrics["lufs"] - TARGET) > 0.5 and not limiter:
        assert ceiling_warnings

"""`Trim`: cut the silence around speech, and fit the result into the vendor's duration window.

Keeps ``pad_ms`` of audio either side of the speech `vad` found. A clip longer than
``max_s`` is cut at the last pause between two speech segments that lets it fit — never in
the middle of a word; a clip shorter than ``min_s`` keeps more of the pauses around its speech,
and one that is still shorter (or one with no pause to cut at) is an error telling the speaker
what to record instead. What is kept is levelled again by normalize's `GainRule`.

The VAD joins speech across pauses shorter than its hangover (300 ms), and in a noisy room
across longer ones, so fluent reading can run for many seconds as one segment. The last pause
*between* segments may then lie far before ``max_s``, or nowhere: a real 169 s talk whose first
40 s were one segment was refused as ``too_long``. So the cut may also fall in a
`short_pauses` stretch inside a segment: at least ``MIN_SHORT_PAUSE_S`` at the room's floor,
which in speech is a gap between words (stop closures, even doubled ones, are shorter). It is
used when it keeps at least ``SHORT_PAUSE_GAIN_S`` more than the last pause between segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from pipeline.stage import Stage
from stages.normalize import GainRule, mono
from stages.vad import frame_energies_db, true_runs

__all__ = ["Trim", "cut_at_pause", "seconds_under", "short_pauses", "widen"]

MIN_SHORT_PAUSE_S = 0.2
SHORT_PAUSE_UNDER_LOUD_DB = 25.0  # a short pause lies this far under the clip's loud level ...
SHORT_PAUSE_OVER_FLOOR_DB = 10.0  # ... and within this of its floor (a noisy take has none)
SHORT_PAUSE_GAIN_S = 1.0


def cut_at_pause(
    segments: list[tuple[float, float]], *, start_s: float, max_s: float, pad_s: float
) -> tuple[int, float] | None:
    """Where to end a clip starting at ``start_s`` so it lasts at most ``max_s``.

    Returns ``(kept, end_s)``: keep ``segments[:kept]`` whole and end at ``end_s``, which
    lies in the pause after the last kept segment — ``pad_s`` after it, but no later than
    the middle of the pause nor than ``start_s + max_s``. The latest such pause wins.
    None when no pause lets the result fit (the first segment alone is too long).
    """
    limit = start_s + max_s
    for i in range(len(segments) - 1, 0, -1):  # one step per segment, latest pause first
        speech_end, next_start = segments[i - 1][1], segments[i][0]
        end = min(speech_end + pad_s, (speech_end + next_start) / 2.0, limit)
        if end >= speech_end:
            return i, end
    return None


def short_pauses(
    samples: np.ndarray, rate: int, *, from_s: float, to_s: float
) -> list[tuple[float, float]]:
    """Stretches at least ``MIN_SHORT_PAUSE_S`` long where ``samples`` (mixed to mono) fall to
    the room's floor, beginning after ``from_s`` and ending by ``to_s``, as ``(start_s, end_s)``
    in time order.

    "At the floor": 10 ms frames under both the clip's loud level (95th percentile of its
    frames) less ``SHORT_PAUSE_UNDER_LOUD_DB`` and its floor (10th percentile) plus
    ``SHORT_PAUSE_OVER_FLOOR_DB``.
    """
    level, hop = frame_energies_db(mono(samples), rate)
    if level.size == 0:
        return []
    floor, loud = np.percentile(level, [10.0, 95.0])
    quiet = level < min(loud - SHORT_PAUSE_UNDER_LOUD_DB, floor + SHORT_PAUSE_OVER_FLOOR_DB)
    first, last = int(from_s * rate / hop), int(to_s * rate / hop)
    return [  # whole stretches with sound on both sides, not the quiet end of a stretch
        (a * hop / rate, b * hop / rate)
        for a, b in zip(*true_runs(quiet), strict=True)
        if first < a and b <= last and (b - a) * hop / rate >= MIN_SHORT_PAUSE_S
    ]


def widen(first: int, last: int, *, frames: int, lo: int, hi: int) -> tuple[int, int]:
    """Grow ``[first, last)`` to ``frames`` long within ``[lo, hi)``: evenly either side, and
    on the other side what one side lacks room for. As wide as ``[lo, hi)`` at most."""
    grow = frames - (last - first)
    if grow <= 0:
        return first, last
    room_before, room_after = max(0, first - lo), max(0, hi - last)
    before = min(room_before, max(grow // 2, grow - room_after))
    after = min(room_after, grow - before)
    return first - before, last + after


def seconds_under(value: float, limit: float) -> str:
    """``value`` with the fewest decimals (1 to 3) that still read under ``limit`` (4.98 under
    5 reads "4.98", not "5.0"); ``limit`` itself or more reads with one decimal."""
    if value >= limit:
        return f"{value:.1f}"
    for places in (1, 2, 3):
        text = f"{value:.{places}f}"
        if float(text) < limit:
            return text
    return f"{math.floor(value * 1000) / 1000:.3f}"


@dataclass
class Trim(Stage):
    """Cut to the speech plus ``pad_ms`` each side; enforce ``min_s`` / ``max_s`` if given.

    A take whose speech plus padding is under ``min_s`` keeps more of the source around the
    speech (evenly either side where there is room, never past a cut to ``max_s``) to reach
    it; it is ``too_short`` only when even that is not enough.

    With ``gain_rule`` (normalize's), what is kept is levelled again by that rule: a cough cut
    off, or half a talk, must not decide the loudness of the rest. ``gain_db``, ``lufs``,
    ``peak_dbfs``, ``limiter_gain_db`` and ``loudness_ceiling`` then describe the kept audio.

    Metrics: ``trimmed_start_s`` and ``trimmed_end_s`` (seconds removed at each end),
    ``duration_s``, and ``speech_ratio`` recomputed for the trimmed clip. Findings:
    ``too_short`` (error), ``too_long`` (error), ``trimmed_to_max`` (warning),
    ``padded_to_min`` (info). ``profile`` only names the target in messages.
    """

    name: ClassVar[str] = "trim"

    pad_ms: float = 200.0
    min_s: float | None = None
    max_s: float | None = None
    profile: str | None = None
    gain_rule: GainRule | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.pad_ms < math.inf:
            raise ConfigurationError(f"trim pad_ms must be a number ≥ 0, got {self.pad_ms}")
        for label, value in (("min_s", self.min_s), ("max_s", self.max_s)):
            if value is not None and not 0 < value < math.inf:
                raise ConfigurationError(
                    f"trim {label} must be a number of seconds > 0, got {value}"
                )
        if self.min_s is not None and self.max_s is not None and self.min_s > self.max_s:
            raise ConfigurationError(
                f"trim min_s ({self.min_s} s) is larger than max_s ({self.max_s} s)"
            )

    def process(self, clip: Clip) -> Clip:
        if clip.samples is None or clip.rate <= 0:
            return self.error(
                clip, "no_audio", "trim received no decoded audio; run decode and vad first"
            )
        duration = clip.duration_s
        segments = sorted(
            (max(0.0, s), min(duration, e)) for s, e in clip.segments if e > s and s < duration
        )
        if not segments:  # nothing to trim around; analyze reports no_speech
            clip.metrics.update(trimmed_start_s=0.0, trimmed_end_s=0.0, duration_s=duration)
            return clip

        pad = self.pad_ms / 1000.0
        start = max(0.0, segments[0][0] - pad)
        end = min(duration, segments[-1][1] + pad)
        room_end = duration  # how far the end may move out: the source's end, or a cut's pause
        cut_note = ""
        if self.max_s is not None and end - start > self.max_s:
            cut = cut_at_pause(segments, start_s=start, max_s=self.max_s, pad_s=pad)
            short = self._cut_at_short_pause(clip, segments, start, pad)
            if short is not None and (cut is None or short[1] >= cut[1] + SHORT_PAUSE_GAIN_S):
                kept_segments, cut_end, room_end = short
                where = "a short pause inside the speech (no longer pause fits)"
            elif cut is not None:
                kept_segments, cut_end = segments[: cut[0]], cut[1]
                room_end = (segments[cut[0] - 1][1] + segments[cut[0]][0]) / 2.0
                where = "a pause"
            else:
                return self.error(
                    clip,
                    "too_long",
                    f"speech runs {segments[0][1] - segments[0][0]:.1f} s without a pause "
                    f"to cut at; {self._target()} accepts at most {self.max_s:g} s; record a "
                    "shorter take, or pause for a breath between sentences so it can be cut",
                )
            full_end, end = end, cut_end
            dropped = f"{len(segments) - len(kept_segments)} of {len(segments)} stretches of speech"
            n = len(kept_segments)
            if n and kept_segments[-1][1] < segments[n - 1][1]:
                dropped += " and the end of the one it cuts into"
            cut_note = (
                f"cut the source after {clip.offset_s + end:.1f} s (the last "
                f"{full_end - end:.1f} s: {dropped}) at "
                f"{where} to fit {self._target()}'s {self.max_s:g} s limit; listen to check the "
                "kept part says everything needed, or record a shorter take"
            )
            segments = kept_segments

        rate, frames = clip.rate, clip.samples.shape[0]
        first = round(start * rate)
        last = max(first, min(frames, round(end * rate)))
        padded_s = (last - first) / rate
        if self.min_s is not None:
            need = math.ceil(self.min_s * rate - 1e-9)  # whole frames, never a hair short
            hi = max(last, min(frames, round(room_end * rate)))
            first, last = widen(first, last, frames=need, lo=0, hi=hi)
        self._cut(clip, first, last, segments)
        if cut_note:
            self.warn(clip, "trimmed_to_max", cut_note)
        if self.gain_rule is not None and (first > 0 or last < frames):
            self.gain_rule.level_clip(clip, clip.samples.copy(), again=True)
        if self.min_s is None:
            return clip
        if clip.duration_s < self.min_s:
            return self.error(clip, "too_short", self._too_short(clip, cut=bool(cut_note)))
        if padded_s < self.min_s:
            self._note_widened(clip, padded_s)
        return clip

    def _too_short(self, clip: Clip, *, cut: bool) -> str:
        """The ``too_short`` message: the take kept, its speech, and what to record instead."""
        assert self.min_s is not None
        kept = seconds_under(clip.duration_s, self.min_s)
        speech = seconds_under(sum(e - s for s, e in clip.segments), self.min_s)
        if cut:
            what = (
                f"cut at a pause to fit {self._target()}'s {self.max_s:g} s maximum, the take "
                f"keeps {kept} s ({speech} s of speech and the pauses around it)"
            )
            fix = "record a take with a pause between its first sentences"
        else:
            what = f"the whole source lasts {kept} s ({speech} s of speech)"
            fix = "record a longer sample"
        return f"{what}; {self._target()} needs at least {self.min_s:g} s; {fix}"

    def _note_widened(self, clip: Clip, padded_s: float) -> None:
        """The ``padded_to_min`` info: how much more than ``pad_ms`` was kept, and why."""
        assert self.min_s is not None
        before = clip.segments[0][0] if clip.segments else 0.0
        after = clip.duration_s - clip.segments[-1][1] if clip.segments else 0.0
        self.info(
            clip,
            "padded_to_min",
            f"the speech with {self.pad_ms:g} ms of padding lasts "
            f"{seconds_under(padded_s, self.min_s)} s, under {self._target()}'s "
            f"{self.min_s:g} s minimum, so trim kept more of the source around it: "
            f"{before:.2f} s before the speech and {after:.2f} s after; listen that the "
            "pauses hold no other sound, or record a longer sample",
        )

    def _cut_at_short_pause(
        self, clip: Clip, segments: list[tuple[float, float]], start_s: float, pad_s: float
    ) -> tuple[list[tuple[float, float]], float, float] | None:
        """The kept segments, the end, and the middle of the pause, cutting in the latest
        `short_pauses` stretch that fits ``max_s`` (the segment it lies in ends where the
        stretch begins); None if none."""
        assert clip.samples is not None and self.max_s is not None
        limit = start_s + self.max_s
        pauses = short_pauses(
            clip.samples, clip.rate, from_s=segments[0][0], to_s=min(limit, segments[-1][1])
        )
        if not pauses:
            return None
        pause_start, pause_end = pauses[-1]
        middle = (pause_start + pause_end) / 2.0
        end = min(pause_start + pad_s, middle, limit)
        kept = [(s, min(e, pause_start)) for s, e in segments if s < pause_start]
        return kept, end, middle

    def _target(self) -> str:
        return self.profile or "the target platform"

    def _cut(self, clip: Clip, first: int, last: int, kept: list[tuple[float, float]]) -> None:
        """Keep frames ``[first, last)`` and move offset, segments and metrics with them."""
        assert clip.samples is not None
        rate = clip.rate
        before = clip.samples.shape[0]
        clip.samples = np.ascontiguousarray(clip.samples[first:last])
        shift = first / rate
        clip.offset_s += shift
        new_duration = clip.duration_s
        clip.segments = [
            (max(0.0, s - shift), min(new_duration, e - shift))
            for s, e in kept
            if min(new_duration, e - shift) > max(0.0, s - shift)
        ]
        speech = sum(e - s for s, e in clip.segments)
        clip.metrics.update(
            trimmed_start_s=shift,
            trimmed_end_s=(before - last) / rate,
            duration_s=new_duration,
            speech_ratio=speech / new_duration if new_duration > 0 else 0.0,
        )

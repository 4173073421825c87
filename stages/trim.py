"""`Trim`: cut the silence around speech, and fit the result into the vendor's duration window.

Keeps ``pad_ms`` of audio either side of the speech `vad` found. A clip longer than
``max_s`` is cut at the last pause between two speech segments that lets it fit — never in
the middle of a word; a clip shorter than ``min_s`` (or one with no pause to cut at) is an
error telling the speaker what to record instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from pipeline.stage import Stage

__all__ = ["Trim", "cut_at_pause"]


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


@dataclass
class Trim(Stage):
    """Cut to the speech plus ``pad_ms`` each side; enforce ``min_s`` / ``max_s`` if given.

    Metrics: ``trimmed_start_s`` and ``trimmed_end_s`` (seconds removed at each end),
    ``duration_s``, and ``speech_ratio`` recomputed for the trimmed clip. Findings:
    ``too_short`` (error), ``too_long`` (error), ``trimmed_to_max`` (warning).
    ``profile`` only names the target in messages.
    """

    name: ClassVar[str] = "trim"

    pad_ms: float = 200.0
    min_s: float | None = None
    max_s: float | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.pad_ms < 0:
            raise ConfigurationError(f"trim pad_ms must be ≥ 0, got {self.pad_ms}")
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
        cut_note = ""
        if self.max_s is not None and end - start > self.max_s:
            cut = cut_at_pause(segments, start_s=start, max_s=self.max_s, pad_s=pad)
            if cut is None:
                return self.error(
                    clip,
                    "too_long",
                    f"speech runs {segments[0][1] - segments[0][0]:.1f} s without a pause "
                    f"to cut at; {self._target()} accepts at most {self.max_s:g} s; record a "
                    "shorter take, or pause for a breath between sentences so it can be cut",
                )
            kept, full_end = cut[0], end
            end = cut[1]
            cut_note = (
                f"cut {full_end - end:.1f} s after {end - start:.1f} s at a pause "
                f"(kept {kept} of {len(segments)} speech segments) to fit {self._target()}'s "
                f"{self.max_s:g} s limit; listen to check the kept part says everything needed, "
                "or record a shorter take"
            )
            segments = segments[:kept]

        self._cut(clip, start, end, segments)
        if cut_note:
            self.warn(clip, "trimmed_to_max", cut_note)
        if self.min_s is not None and clip.duration_s < self.min_s:
            speech = sum(e - s for s, e in clip.segments)
            return self.error(
                clip,
                "too_short",
                f"speech lasts {speech:.1f} s ({clip.duration_s:.1f} s with "
                f"{self.pad_ms:g} ms of padding); {self._target()} needs at least "
                f"{self.min_s:g} s; record a longer sample",
            )
        return clip

    def _target(self) -> str:
        return self.profile or "the target platform"

    def _cut(
        self, clip: Clip, start_s: float, end_s: float, kept: list[tuple[float, float]]
    ) -> None:
        """Keep samples in ``[start_s, end_s)`` and move offset, segments and metrics with them."""
        assert clip.samples is not None
        rate = clip.rate
        before = clip.samples.shape[0]
        first = round(start_s * rate)
        last = max(first, min(before, round(end_s * rate)))
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

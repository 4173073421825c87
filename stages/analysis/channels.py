"""Two talkers on two channels: the dual-channel call recording, caught before the downmix.

Contact centres record calls with the agent on one channel and the caller on the other; such a
file offered as a voice sample holds two people, but once the channels are added they take
turns in one track, and the cepstral speaker check (`stages.analysis.speakers`) only catches
some of them (2 of 8 two-volunteer call takes). On the stereo source the evidence is plain:
in each frame one channel carries the voice and the other only its own room tone, so each
channel *dominates* (stands ``DOMINANT_DB`` over the other) for a while of its own. A single
talker between two microphones differs between them by a few dB, and always the same way.
A channel only counts where it stands over its own room tone (``ABOVE_FLOOR_DB``): when a noise
gate silences one microphone in the pauses, the other is louder there, but not talking.

The levels are compared over ``SMOOTH_S`` (a syllable or two), not per 20 ms frame: one talker's
reflections make the channels differ by a few dB from frame to frame, but over 0.3 s one talker
leads both ways by at most 3 dB (mid/side, spaced and XY pairs in rooms), 5.3 dB when walking
across an XY pair, while two people on their own microphones keep their separation for whole
words. That lets the check catch two people in one room, each on a
microphone that hears the other ~10 dB down (`benchmarks/call_recordings.py`, ``bleed_10dB``),
not only calls, where the other side is 25–60 dB down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.vad import true_runs

__all__ = [
    "ChannelTalkers",
    "StereoFrames",
    "detect_channel_talkers",
    "lagged_correlation",
    "stereo_frames",
]

FRAME_S = 0.02
DOMINANT_DB = 8.0  # a channel this much louder than the other, over SMOOTH_S, holds the talker
SMOOTH_S = 0.3  # the levels compared are means over this long
ACTIVE_WITHIN_DB = 35.0  # ... when it is also within this of its own loud level (95th pct)
ABOVE_FLOOR_DB = 12.0  # ... and this far over its own room tone (10th pct): not just the other
# channel falling silent (a noise gate on one microphone while the other hears the voice too)
MIN_TALK_S = 1.0  # each channel must hold its talker this long in all
MIN_RANGE_DB = 20.0  # a channel with a talker spans this much (95th over 10th pct of frames)
MERGE_GAP_S = 0.3  # dominant frames this close together make one span
MAX_DELAY_S = 0.01  # two microphones up to ~3.4 m apart hear one voice at most this far apart
LAG_SAMPLES = 2**20  # `lagged_correlation` reads at most this many frames (~22 s at 48 kHz)


@dataclass(frozen=True)
class StereoFrames:
    """Per ``FRAME_S`` frame of a two-channel source: each channel's mean power ``(n, 2)``,
    and the correlation of the two channels over the whole take (None: a silent channel)."""

    power: np.ndarray
    correlation: float | None


@dataclass(frozen=True)
class ChannelTalkers:
    """``talkers``: 2 when each channel holds its own talker, else 1. ``second_voice_s``: the
    ``(start, end)`` spans (seconds of the source) of the channel whose talker comes in second;
    ``talk_s``: seconds each channel dominates."""

    talkers: int
    second_voice_s: tuple[tuple[float, float], ...] = ()
    talk_s: tuple[float, float] = (0.0, 0.0)


def stereo_frames(samples: np.ndarray, rate: int) -> StereoFrames | None:
    """`StereoFrames` of ``(frames, 2)`` audio; None for anything but two channels.

    Sums over interleaved ``(frames, 2)`` audio run numpy's inner loop two values at a time
    (~7 ms for a 34 s 48 kHz take), so each channel is copied out once and each frame's sums
    are batched dot products over contiguous rows (~2.5 ms).
    """
    x = np.asarray(samples)
    hop = max(1, round(FRAME_S * rate))
    n = x.shape[0] // hop if x.ndim == 2 else 0
    if x.ndim != 2 or x.shape[1] != 2 or n == 0:
        return None
    left, right = (
        np.ascontiguousarray(x[: n * hop, c], dtype=np.float32).reshape(n, 1, hop) for c in (0, 1)
    )

    def frame_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.matmul(a, b.transpose(0, 2, 1)).reshape(n).astype(np.float64)

    power = np.stack([frame_dots(left, left), frame_dots(right, right)], axis=1) / hop
    total = n * hop
    cross = float(frame_dots(left, right).sum()) / total
    means = np.array([float(c.sum(axis=2).sum(dtype=np.float64)) for c in (left, right)]) / total
    variance = power.sum(axis=0) / n - means**2
    covariance = cross - means[0] * means[1]
    norm = float(np.sqrt(max(variance[0], 0.0) * max(variance[1], 0.0)))
    return StereoFrames(power, covariance / norm if norm > 0 else None)


def lagged_correlation(samples: np.ndarray, rate: int) -> float:
    """Largest correlation of two channels with one shifted by up to ``MAX_DELAY_S``.

    A spaced pair hears one voice a few ms apart, and a voice's own periodicity can make such
    channels anti-correlated *unshifted* (−0.56 for one 2 ms apart), while shifted they agree
    (near 1). Opposite polarity is most alike unshifted (−1); shifted, what agrees is the
    voice's own autocorrelation, smeared over a take, well under 1 (0.45 on a synthetic
    voice). Reads at most ``LAG_SAMPLES`` frames.
    """
    x = np.asarray(samples, dtype=np.float64)[:LAG_SAMPLES]
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 2:
        return 0.0
    left, right = (x[:, c] - x[:, c].mean() for c in (0, 1))
    norm = float(np.sqrt(np.dot(left, left) * np.dot(right, right)))
    if norm == 0.0:
        return 0.0
    max_lag = min(max(1, round(MAX_DELAY_S * rate)), x.shape[0] - 1)
    size = 1 << int(np.ceil(np.log2(x.shape[0] + max_lag)))
    cross = np.fft.irfft(np.conj(np.fft.rfft(left, size)) * np.fft.rfft(right, size), size)
    lags = np.concatenate((cross[: max_lag + 1], cross[-max_lag:]))
    return float(lags.max()) / norm


def detect_channel_talkers(frames: StereoFrames) -> ChannelTalkers | None:
    """Whether the two channels (`stereo_frames`) hold two different talkers (None: under a
    second of audio)."""
    n = frames.power.shape[0]
    if n * FRAME_S < MIN_TALK_S:
        return None
    level = 10.0 * np.log10(np.maximum(frames.power, 1e-12))
    quiet, loud = np.percentile(level, [10.0, 95.0], axis=0)
    talking = loud - quiet >= MIN_RANGE_DB  # a talker pauses; a steady noise or hum does not
    active = (level >= loud - ACTIVE_WITHIN_DB) & (level >= quiet + ABOVE_FLOOR_DB) & talking
    width = min(n, max(1, round(SMOOTH_S / FRAME_S)))
    kernel = np.full(width, 1.0 / width)
    smooth = np.stack([np.convolve(frames.power[:, c], kernel, mode="same") for c in (0, 1)], 1)
    lead_db = 10.0 * np.log10(np.maximum(smooth[:, 0], 1e-12) / np.maximum(smooth[:, 1], 1e-12))
    left = active[:, 0] & (lead_db >= DOMINANT_DB)
    right = active[:, 1] & (lead_db <= -DOMINANT_DB)
    talk_s = (float(left.sum()) * FRAME_S, float(right.sum()) * FRAME_S)
    if min(talk_s) < MIN_TALK_S:
        return ChannelTalkers(1, (), talk_s)
    second = right if np.argmax(right) > np.argmax(left) else left
    return ChannelTalkers(2, _spans(second), talk_s)


def _spans(mask: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Runs of True frames as (start, end) seconds, runs closer than ``MERGE_GAP_S`` merged."""
    starts, ends = (edge * FRAME_S for edge in true_runs(mask))
    spans: list[list[float]] = []
    for start, end in zip(starts, ends, strict=True):
        if spans and start - spans[-1][1] < MERGE_GAP_S:
            spans[-1][1] = float(end)
        else:
            spans.append([float(start), float(end)])
    return tuple((round(a, 2), round(b, 2)) for a, b in spans)

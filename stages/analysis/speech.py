"""Is what the VAD called speech really speech? Tones and music fool webrtcvad; this does not.

Speech changes its spectrum every few tens of milliseconds: the pitch glides, so each
harmonic moves, and phonemes replace each other. Tones, chords and most music hold
their spectral lines for hundreds of milliseconds. The detector measures that
*harmonic persistence*: the spectral fine structure (log spectrum minus its own
frequency-smoothed envelope, peaks only, below 4 kHz) of each loud frame, correlated with
the frame ``LAG_S`` later. Noise has no persistent fine structure, speech little (≈0.35–0.5
on real voices in quiet and in noise), sustained tones ≈1 and music mostly 0.55–0.9. The
median over the loud frames is the clip's ``persistence``; above ``MAX_PERSISTENCE`` the
clip is not speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.analysis._spectra import Spectrogram, power_spectrogram

__all__ = ["SpeechResult", "detect_speech"]

LAG_S = 0.096
MAX_PERSISTENCE = 0.65  # real and synthetic voices measured ≤ 0.6
TOP_HZ = 4000.0
SMOOTH_BINS = 9
LOUD_BELOW_TOP_DB = 40.0  # frames within this of the loudest count (and above the median)
MIN_FRAMES = 10


@dataclass(frozen=True)
class SpeechResult:
    """``is_speech`` is False when the audio is silent or tonal/musical; ``persistence`` 0..1."""

    is_speech: bool
    persistence: float | None
    frames: int


def _fine_structure(power: np.ndarray, bin_hz: float) -> np.ndarray:
    """Log spectrum minus its moving average over ``SMOOTH_BINS`` bins, peaks only, < 4 kHz."""
    top = max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz))
    log_power = 10.0 * np.log10(power[:, :top] + 1e-12)
    half = SMOOTH_BINS // 2
    padded = np.pad(log_power, ((0, 0), (half + 1, half)), mode="edge")
    csum = np.cumsum(padded, axis=1)
    envelope = (csum[:, SMOOTH_BINS:] - csum[:, :-SMOOTH_BINS]) / SMOOTH_BINS
    return np.clip(log_power - envelope, 0.0, None)


def detect_speech(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]] | None = None,
    *,
    spectrogram: Spectrogram | None = None,
    max_persistence: float = MAX_PERSISTENCE,
) -> SpeechResult:
    """Judge whether ``samples`` (within ``segments`` if given) hold speech."""
    spec = spectrogram if spectrogram is not None else power_spectrogram(samples, rate)
    power = spec.power
    n = power.shape[0]
    lag = max(1, round(LAG_S / spec.frame_s))
    if n <= lag:
        return SpeechResult(False, None, 0)
    inside = np.ones(n, dtype=bool)
    if segments:
        t = np.arange(n) * spec.frame_s
        inside[:] = False
        for start, end in segments:  # one step per segment
            inside |= (t >= start) & (t < end)
    energy = power.sum(axis=1)
    judged = energy[inside]
    if judged.size == 0 or float(judged.max()) <= 0:
        return SpeechResult(False, None, 0)
    top = float(judged.max()) * 10 ** (-LOUD_BELOW_TOP_DB / 10)
    loud = inside & (energy >= np.median(judged)) & (energy >= top)
    pair = loud[:-lag] & loud[lag:]
    if int(pair.sum()) < MIN_FRAMES:
        return SpeechResult(False, None, int(pair.sum()))
    idx = np.flatnonzero(pair)
    fine = _fine_structure(power[np.concatenate((idx, idx + lag))], spec.bin_hz)
    a, b = fine[: idx.size], fine[idx.size :]
    cos = np.einsum("ij,ij->i", a, b) / np.sqrt(
        np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b) + 1e-12
    )
    persistence = float(np.median(cos))
    return SpeechResult(persistence <= max_persistence, persistence, int(pair.sum()))

"""Do the sound's partials sit on a pitch grid? Tuned instruments do; speech glides.

Music played on tuned instruments holds each note on one pitch of a scale, and every note
of a scale lies a whole number of semitones from the others. So the frequency of each
strong partial, in cents modulo 100, takes about the same value all through a piece
(whatever the piece's reference pitch: a module tuned 37 cents flat is as tuned as one at
A = 440 Hz). A voice's pitch glides continuously within and between syllables, so the same
measure spreads evenly over the 100 cents. A harmonic of a tuned note stays near the grid
too (the 2nd, 4th and 8th exactly, the 3rd 2 cents off, the 5th 14 cents off).

`tuning_strength` reads the strongest spectral peaks (150 Hz to 2.5 kHz) of evenly spread
long frames (``FRAME_S``: fine enough that one cent is a small part of a bin at a few
hundred hertz, with parabolic interpolation of the log spectrum), maps each to cents
modulo 100 as an angle, and returns the length of the mean of those unit vectors: 0 for
pitches spread evenly, 1 when every partial lies on one grid. A bin that is a spectral
peak, or among the strongest peaks (±1 bin), in more than half the frames holds a steady
line (mains hum and its harmonics, a drone): its peaks are left out, as they would sit on
"a grid" without being music.

Measured (``benchmarks/no_speech_recall.py`` game music, ``benchmarks/false_alarms.py``
voices, the dev split, dev voices in noise, the false-alarm set's most tonal voices in
white and pink noise at 5–20 dB): game music median 0.70, voices median 0.12 and 99th
percentile 0.60; the highest are synthetic voices with quantised intonation (espeak
Mandarin, festival Hindi/Marathi/Telugu: up to 0.62), which is why the caller asks for
more than a grid (see `stages.analysis.speech`).
"""

from __future__ import annotations

import numpy as np

from stages.analysis._spectra import hann
from stages.normalize import mono

__all__ = ["FRAME_S", "MIN_FRAMES", "tuning_strength"]

FRAME_S = 0.128  # ≈ 8 Hz bins: a cent is 2–3 % of a bin at 200–300 Hz after interpolation
LOW_HZ = 150.0
HIGH_HZ = 2500.0
PEAKS = 4  # the strongest peaks of each frame ...
WITHIN_DB = 25.0  # ... within this of the frame's strongest
MAX_FRAMES = 120  # evenly spread over the frames handed in: enough for a stable mean
MIN_FRAMES = 20  # half-overlapping frames (≈ 1.3 s); fewer say little
MIN_PEAKS = 20
STEADY_SHARE = 0.5  # a bin that is a peak in more frames than this holds hum or a drone


def tuning_strength(
    samples: np.ndarray, rate: int, centers: np.ndarray, *, frame_s: float = FRAME_S
) -> float | None:
    """How closely the strongest partials around ``centers`` (sample indices) share one
    pitch grid of semitones, 0..1.

    Frames of ``frame_s`` are centred on ``centers``, at most one per half frame (at most
    ``MAX_FRAMES``, evenly spread); None under ``MIN_FRAMES`` such frames or ``MIN_PEAKS``
    peaks (a few frames land near one grid by chance).
    """
    x = mono(samples)
    n = 1 << max(6, round(np.log2(frame_s * rate)))
    centers = np.asarray(centers, dtype=np.intp)
    # One frame per half frame length: overlapping frames would repeat the same peaks.
    _, first = np.unique(centers // (n // 2), return_index=True)
    centers = centers[first]
    if x.shape[0] < n or centers.size < MIN_FRAMES:
        return None
    if centers.size > MAX_FRAMES:
        centers = centers[np.linspace(0, centers.size - 1, MAX_FRAMES).astype(np.intp)]
    starts = np.clip(centers - n // 2, 0, x.shape[0] - n)
    block = np.lib.stride_tricks.sliding_window_view(x, n)[starts]
    spec = np.fft.rfft(block * hann(n, periodic=True), axis=1)
    bin_hz = rate / n
    lo = max(1, int(LOW_HZ / bin_hz))
    hi = min(int(min(HIGH_HZ, 0.45 * rate) / bin_hz), spec.shape[1] - 2)
    if hi - lo < 3:
        return None
    band = spec[:, lo - 1 : hi + 2]
    level = 10.0 * np.log10(np.square(band.real) + np.square(band.imag) + 1e-20)
    middle = level[:, 1:-1]
    peak = (middle > level[:, :-2]) & (middle >= level[:, 2:])
    peak &= middle >= middle.max(axis=1, keepdims=True) - WITHIN_DB
    score = np.where(peak, middle, -np.inf)
    order = np.argsort(score, axis=1)[:, ::-1][:, :PEAKS]  # column in `middle`
    rows = np.arange(middle.shape[0])[:, None]
    ok = np.isfinite(score[rows, order])
    # A steady line (hum, its harmonics, a drone) holds one bin: drop a bin that is a peak in
    # most frames, and a bin (±1) that most frames pick among their strongest. A voice's
    # harmonics move and a tune's notes change, so each of their bins peaks in a few frames.
    ok &= peak.mean(axis=0)[order] <= STEADY_SHARE
    count = np.bincount(order[ok], minlength=middle.shape[1]).astype(np.float64)
    near = count.copy()
    near[1:] += count[:-1]
    near[:-1] += count[1:]
    ok &= near[order] <= STEADY_SHARE * middle.shape[0]
    if int(ok.sum()) < MIN_PEAKS:
        return None
    left, centre, right = level[rows, order], level[rows, order + 1], level[rows, order + 2]
    curve = left - 2.0 * centre + right
    safe = np.where(curve < 0, curve, -1.0)
    offset = np.where(curve < 0, 0.5 * (left - right) / safe, 0.0)  # parabola's vertex, bins
    hz = (lo + order[ok] + offset[ok]) * bin_hz
    turns = 12.0 * np.log2(hz / 440.0)  # semitones: one turn of the circle per semitone
    return float(np.abs(np.exp(2j * np.pi * turns).mean()))

"""Is what the VAD called speech really speech? Tones, music and noise fool webrtcvad.

Two independent properties of speech are checked; a clip must show both.

*Syllabic modulation.* Speech switches on and off with its syllables and words, 2–8 times a
second, in every band of its spectrum. The detector takes the amplitude envelope of eight
bands between 300 and 3400 Hz (from the shared spectrogram, frames inside the VAD
segments), and compares its modulation power density at 2–8 Hz with that at 10–20 Hz
(``modulation_db``, best band). Stationary noise (white, pink, hum, a room) has a flat
envelope spectrum, ≈ 0–2 dB on long clips, up to ≈ 4 dB on a few seconds (the estimate is
noisier); steady and slowly keyed tones (dial, busy, fax) likewise; real voices measured
≥ 8 dB even at 0 dB SNR, because in some band the voice dominates. Below
``MIN_MODULATION_DB`` the clip is not speech; under ``MIN_MODULATION_S`` of audio this check
is skipped (a false "no speech" is worse than a miss).

Speech changes its spectrum every few tens of milliseconds: the pitch glides, so each
harmonic moves, and phonemes replace each other. Tones, chords and most music hold
their spectral lines for hundreds of milliseconds. The detector measures that
*harmonic persistence* — the second check: the spectral fine structure (log spectrum minus its own
frequency-smoothed envelope, peaks only, below 4 kHz) of each loud frame, correlated with
the frame ``LAG_S`` later. Noise has no persistent fine structure, speech little (≈0.35–0.5
on real voices in quiet and in noise), sustained tones ≈1 and music mostly 0.55–0.9. The
median over the loud frames is the clip's ``persistence``; above ``MAX_PERSISTENCE`` the
clip is not speech. Tones keyed faster than ``LAG_S`` (DTMF: 100 ms on, 100 ms off) leave too
few frame pairs; then persistence is measured at ``SHORT_LAG_S`` against
``MAX_SHORT_PERSISTENCE`` (speech measured ≤ 0.76 there, DTMF ≈ 0.9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.analysis._spectra import Spectrogram, power_spectrogram

__all__ = ["SpeechResult", "detect_speech", "syllabic_modulation_db"]

LAG_S = 0.096
MAX_PERSISTENCE = 0.65  # real and synthetic voices measured ≤ 0.6
SHORT_LAG_S = 0.048
MAX_SHORT_PERSISTENCE = 0.82  # voices measured ≤ 0.76 at the short lag
# With a clear syllable rhythm, long steady vowels (tonal languages, slow or synthetic voices)
# reach 0.66; rhythmic music and keyed tones of the evaluation set sit at ≥ 0.70 (all but one
# excerpt). A false "no speech" stops a good take, so rhythm buys a little more room.
MAX_RHYTHMIC_PERSISTENCE = 0.70
RHYTHMIC_MODULATION_DB = 8.0
MIN_MODULATION_DB = 4.0  # voices ≥ 8 dB at 0 dB SNR (real, 16 kHz), noise and tones ≤ 2–4 dB
MODULATION_EDGES_HZ = (300.0, 3400.0)
MODULATION_BANDS = 8
SYLLABIC_HZ = (2.0, 8.0)
REFERENCE_HZ = (10.0, 20.0)
MIN_MODULATION_S = 2.0  # judge modulation on at least this much audio (noise varies more)
TOP_HZ = 4000.0
SMOOTH_BINS = 9
LOUD_BELOW_TOP_DB = 40.0  # frames within this of the loudest count (and above the median)
MIN_FRAMES = 10


@dataclass(frozen=True)
class SpeechResult:
    """``is_speech`` is False when the audio is silent, tonal/musical or unmodulated noise.

    ``persistence`` 0..1 (None: too few loud frames); ``modulation_db`` is the syllabic
    modulation contrast (None: under ``MIN_MODULATION_S`` of audio); ``reason`` is
    ``"speech"``, ``"silent"``, ``"tonal"`` (steady spectral lines) or ``"unmodulated"`` (no
    2–8 Hz syllable rhythm: steady noise, hum or tones).
    """

    is_speech: bool
    persistence: float | None
    frames: int
    modulation_db: float | None = None
    reason: str = "speech"


def _fine_structure(power: np.ndarray, bin_hz: float) -> np.ndarray:
    """Log spectrum minus its moving average over ``SMOOTH_BINS`` bins, peaks only, < 4 kHz.

    The log spectrum is written into the middle of one edge-padded buffer; the moving sum
    is built from shifted copies by doubling (1, 2, 4, 8 bins, then the ninth), four adds
    instead of a cumulative sum along each row.
    """
    top = min(max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz)), power.shape[1])
    half = SMOOTH_BINS // 2
    padded = np.empty((power.shape[0], top + SMOOTH_BINS - 1), dtype=np.float64)
    log_power = padded[:, half : half + top]
    np.add(power[:, :top], 1e-12, out=log_power)
    np.log10(log_power, out=log_power)
    log_power *= 10.0
    padded[:, :half] = log_power[:, :1]
    padded[:, half + top :] = log_power[:, -1:]
    total, width = padded, 1
    while 2 * width <= SMOOTH_BINS:  # sums over 2, 4, 8 neighbouring bins
        total = total[:, :-width] + total[:, width:]
        width *= 2
    if width < SMOOTH_BINS:  # the remaining bins (SMOOTH_BINS - width), summed the same way
        total = total[:, :top] + _moving_sum(padded[:, width:], SMOOTH_BINS - width, top)
    total /= SMOOTH_BINS
    np.subtract(log_power, total, out=total)
    return np.maximum(total, 0.0, out=total)


def _moving_sum(rows: np.ndarray, width: int, count: int) -> np.ndarray:
    """Sums of ``width`` neighbouring columns of ``rows``, the first ``count`` of them."""
    total = rows[:, :count].copy()
    for shift in range(1, width):  # width - 1 shifted adds (one for the default 9 bins)
        total += rows[:, shift : shift + count]
    return total


def syllabic_modulation_db(spec: Spectrogram, inside: np.ndarray) -> float | None:
    """Best band's envelope modulation density at 2–8 Hz over that at 10–20 Hz, in dB.

    None when fewer than ``MIN_MODULATION_S`` of frames are ``inside`` and the whole clip is
    shorter than that too (then all frames are used when the inside is too short).
    """
    frames_needed = MIN_MODULATION_S / spec.frame_s
    if inside.sum() < frames_needed:
        if inside.size < frames_needed:
            return None
        inside = np.ones_like(inside)
    lo, hi = MODULATION_EDGES_HZ
    hi = min(hi, 0.95 * spec.rate / 2)
    bins = np.round(np.geomspace(lo, hi, MODULATION_BANDS + 1) / spec.bin_hz)
    edges = np.unique(bins.astype(np.intp))
    # Band sums over all frames, then the inside rows: no copy of the whole spectrogram.
    bands = np.add.reduceat(spec.power, edges[:-1], axis=1)[:, : edges.size - 1][inside]
    envelope = np.sqrt(bands)
    mean = envelope.mean(axis=0)
    envelope = envelope / np.where(mean > 0, mean, 1.0) - (mean > 0)
    density = np.abs(np.fft.rfft(envelope, axis=0)) ** 2
    hz = np.fft.rfftfreq(envelope.shape[0], spec.frame_s)
    syllabic = density[(hz >= SYLLABIC_HZ[0]) & (hz <= SYLLABIC_HZ[1])].mean(axis=0)
    reference = density[(hz >= REFERENCE_HZ[0]) & (hz <= REFERENCE_HZ[1])].mean(axis=0)
    contrast = 10.0 * np.log10((syllabic + 1e-20) / (reference + 1e-20))
    return float(contrast.max())


def _persistence(
    power: np.ndarray, loud: np.ndarray, lag: int, bin_hz: float
) -> tuple[float | None, int]:
    """Median fine-structure correlation of loud frame pairs ``lag`` apart, and the pair count.

    Each frame's fine structure and its norm are computed once, however many pairs it is in.
    """
    pair = loud[:-lag] & loud[lag:]
    count = int(pair.sum())
    if count < MIN_FRAMES:
        return None, count
    needed = np.zeros(loud.shape[0], dtype=bool)
    needed[:-lag] = pair
    needed[lag:] |= pair
    row = np.cumsum(needed) - 1  # frame index -> row of `fine` (valid where needed)
    top = max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz))  # gather only the bins it reads
    fine = _fine_structure(power[needed, :top], bin_hz)
    norm = np.einsum("ij,ij->i", fine, fine)
    idx = np.flatnonzero(pair)
    first, second = row[idx], row[idx + lag]
    dot = np.einsum("ij,ij->i", fine[first], fine[second])
    cos = dot / np.sqrt(norm[first] * norm[second] + 1e-12)
    return float(np.median(cos)), count


def detect_speech(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]] | None = None,
    *,
    spectrogram: Spectrogram | None = None,
    max_persistence: float = MAX_PERSISTENCE,
    min_modulation_db: float = MIN_MODULATION_DB,
) -> SpeechResult:
    """Judge whether ``samples`` (within ``segments`` if given) hold speech."""
    spec = spectrogram if spectrogram is not None else power_spectrogram(samples, rate)
    power = spec.power
    n = power.shape[0]
    lag = max(1, round(LAG_S / spec.frame_s))
    if n <= lag:
        return SpeechResult(False, None, 0, None, "silent")
    inside = np.ones(n, dtype=bool)
    if segments:
        t = np.arange(n) * spec.frame_s
        inside[:] = False
        for start, end in segments:  # one step per segment
            inside |= (t >= start) & (t < end)
    energy = spec.energy
    judged = energy[inside]
    if judged.size == 0 or float(judged.max()) <= 0:
        return SpeechResult(False, None, 0, None, "silent")
    modulation = syllabic_modulation_db(spec, inside)
    top = float(judged.max()) * 10 ** (-LOUD_BELOW_TOP_DB / 10)
    loud = inside & (energy >= np.median(judged)) & (energy >= top)
    persistence, pairs = _persistence(power, loud, lag, spec.bin_hz)
    if modulation is not None and modulation >= RHYTHMIC_MODULATION_DB:
        max_persistence += MAX_RHYTHMIC_PERSISTENCE - MAX_PERSISTENCE
    tonal = persistence is not None and persistence > max_persistence
    if persistence is None:  # keyed tones shorter than the lag: look closer
        short = max(1, round(SHORT_LAG_S / spec.frame_s))
        short_persistence, _ = _persistence(power, loud, short, spec.bin_hz)
        limit = max_persistence + (MAX_SHORT_PERSISTENCE - MAX_PERSISTENCE)
        tonal = short_persistence is not None and short_persistence > limit
        persistence = short_persistence if tonal else None
    if tonal:
        return SpeechResult(False, persistence, pairs, modulation, "tonal")
    if modulation is not None and modulation < min_modulation_db:
        return SpeechResult(False, persistence, pairs, modulation, "unmodulated")
    return SpeechResult(True, persistence, pairs, modulation, "speech")

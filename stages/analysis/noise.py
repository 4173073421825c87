"""Noise floor and SNR: per-band noise spectra, speech level by an ITU-T P.56-style activity.

Why not "power inside VAD segments against power outside": at 0–5 dB SNR a VAD calls noise
speech, so the outside is tiny or empty, and a broadband split cannot see a hum or pink
noise hiding under speech. Here the noise is estimated *per frequency band*, from the
frames a VAD left as pauses when there are enough of them, and otherwise (or when those
pauses still hold speech) by minimum statistics: the mean of the quietest quarter of each
band's smoothed power over time, corrected for the bias of taking a minimum. Speech frames
are then those whose power clearly exceeds that noise spectrum; their level is found as in
P.56 (the threshold sits 15.9 dB under the active level, with 200 ms hangover) and the
noise power is subtracted from it.

SNR here is the *active speech level* against the mean noise power, both over the whole
band — the usual definition, and the one ``benchmarks/make_eval_set.py`` labels with.

WADA-SNR (Kim & Stern 2008) is computed too as a blind cross-check: it needs no pauses but
assumes white-ish Gaussian noise, so it is reported (``wada_snr_db``) and used only when a
clip is too short for the spectral estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from stages.analysis._spectra import Spectrogram, mono, power_spectrogram

__all__ = ["NoiseResult", "detect_noise", "wada_snr_db"]

BAND_BINS = 4  # FFT bins per band (≈ 125 Hz at 16 kHz with 32 ms frames)
QUIET_FRACTION = 0.25  # minimum statistics: mean of the quietest quarter of each band
NOISE_FRAME_FACTOR = 2.0  # a band-frame is noise while under twice the noise estimate
NOISE_ROUNDS = 4
NOISE_GUARD_S = 0.05  # frames this close to a VAD segment are not trusted as pauses
MIN_PAUSE_S = 0.3  # VAD pauses count once there is at least this much of them
MAX_PAUSE_RAISE = 4.0  # pauses may raise a band's noise estimate by 6 dB at most
ACTIVE_MARGIN_DB = 15.9  # P.56: the activity threshold lies this far under the active level
HANGOVER_S = 0.2  # P.56 hangover
OVERSUBTRACT = 2.0  # a frame is speech where power beats twice the noise spectrum
MIN_SNR_DB = -10.0  # "speech" further under the noise than this is the noise's own peaks
SILENCE_DBFS = -120.0
_TINY = 10.0 ** (SILENCE_DBFS / 10.0)


@dataclass(frozen=True)
class NoiseResult:
    """SNR (dB), noise floor (dBFS), active speech level (dBFS), WADA cross-check (dB).

    ``snr_db`` is None when there is no speech; ``method`` says which estimate it is:
    ``"spectral"`` or ``"wada"`` (clips too short for a spectrum).
    """

    snr_db: float | None
    noise_floor_dbfs: float | None
    speech_level_dbfs: float | None
    wada_snr_db: float | None
    method: str


def _db(power: float) -> float:
    return 10.0 * math.log10(max(power, _TINY))


def _bands(power: np.ndarray) -> np.ndarray:
    """Sum consecutive bins into bands of ``BAND_BINS`` (the last band takes the remainder)."""
    n_bins = power.shape[1]
    edges = np.arange(0, n_bins, BAND_BINS)
    return np.add.reduceat(power, edges, axis=1)


def _pause_mask(spec: Spectrogram, segments: list[tuple[float, float]]) -> np.ndarray:
    """Frames lying at least ``NOISE_GUARD_S`` away from every speech segment."""
    n_frames = spec.power.shape[0]
    starts = np.arange(n_frames) * spec.frame_s
    ends = starts + spec.n_fft / spec.rate
    pause = np.ones(n_frames, dtype=bool)
    for seg_start, seg_end in segments:  # one step per segment
        pause &= (ends <= seg_start - NOISE_GUARD_S) | (starts >= seg_end + NOISE_GUARD_S)
    return pause


def noise_spectrum(band_power: np.ndarray, pause: np.ndarray | None = None) -> np.ndarray:
    """Mean noise power per band, from the frames where that band holds no speech.

    Starts from minimum statistics (the mean of each band's quietest quarter, 3-frame
    smoothed), which reads low, then refines: the noise frames of a band are those whose
    smoothed power stays under ``NOISE_FRAME_FACTOR`` times the current estimate, and the
    estimate becomes their mean. A few rounds converge on the mean of stationary noise
    (Gaussian or a steady hum alike) without a bias constant, while speech, far above the
    noise in the bands it occupies, stays out.

    Noise that fluctuates like speech (babble) loses its peaks that way and reads a few dB
    low; where a VAD left ``pause`` frames (at least ``MIN_PAUSE_S`` of them), their mean is
    unbiased for any noise, so it raises the estimate — by at most ``MAX_PAUSE_RAISE`` so a
    VAD that missed speech cannot pass speech off as noise.
    """
    n = band_power.shape[0]
    padded = np.concatenate((band_power[:1], band_power, band_power[-1:]))
    smooth = (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0
    k = max(1, round(QUIET_FRACTION * n))
    estimate = np.partition(smooth, k - 1, axis=0)[:k].mean(axis=0)
    for _ in range(NOISE_ROUNDS):  # a few rounds, each vectorised over frames and bands
        noise_frames = smooth <= NOISE_FRAME_FACTOR * estimate[None, :]
        count = noise_frames.sum(axis=0)
        total = np.where(noise_frames, band_power, 0.0).sum(axis=0)
        estimate = np.where(count > 0, total / np.maximum(count, 1), estimate)
    if pause is not None and pause.any():
        from_pauses = band_power[pause].mean(axis=0)
        estimate = np.maximum(estimate, np.minimum(from_pauses, MAX_PAUSE_RAISE * estimate))
    return np.maximum(estimate, _TINY)


def _active_level(frame_power: np.ndarray, detect: np.ndarray, hangover: int) -> float | None:
    """P.56-style active level of ``frame_power`` with activity decided on ``detect``.

    Thresholds step down in 1 dB from the loudest frame; the answer is where the active level
    first sits ``ACTIVE_MARGIN_DB`` above the threshold (interpolated), as in P.56.
    """
    top = float(detect.max(initial=0.0))
    if top <= 0:
        return None
    offsets_db = np.arange(0.0, 80.0, 1.0)
    thresholds = top * 10.0 ** (-offsets_db / 10.0)
    above = detect[None, :] > thresholds[:, None]  # (thresholds, frames)
    # Hangover: a frame stays active for `hangover` frames after the last one above threshold.
    active = above.copy()
    for lag in range(1, hangover + 1):  # a handful of shifts, each over all thresholds
        active[:, lag:] |= above[:, :-lag]
    count = active.sum(axis=1)
    levels = (active * frame_power[None, :]).sum(axis=1) / np.maximum(count, 1)
    margin = np.where(count > 0, 10.0 * np.log10(np.maximum(levels, _TINY) / thresholds), -np.inf)
    idx = np.flatnonzero(margin >= ACTIVE_MARGIN_DB)
    if idx.size == 0:
        return float(levels[-1]) if count[-1] > 0 else None
    i = int(idx[0])
    if i == 0 or count[i - 1] == 0:
        return float(levels[i])
    # Interpolate in dB between threshold steps i-1 (margin under 15.9 dB) and i (over).
    m0, m1 = float(margin[i - 1]), float(margin[i])
    w = (ACTIVE_MARGIN_DB - m0) / (m1 - m0) if m1 != m0 else 1.0
    level_db = (1 - w) * _db(float(levels[i - 1])) + w * _db(float(levels[i]))
    return 10.0 ** (level_db / 10.0)


def detect_noise(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]] | None = None,
    *,
    spectrogram: Spectrogram | None = None,
) -> NoiseResult:
    """Estimate the noise floor and the SNR of speech in ``samples``.

    ``segments`` (seconds, from a VAD) mark speech; frames well outside them are taken as
    noise when there are enough of them and they agree with minimum statistics. Works
    without segments too (pure minimum statistics). Pass a shared ``spectrogram`` of the
    same samples to skip recomputing it.
    """
    x = mono(samples)
    spec = spectrogram if spectrogram is not None else power_spectrogram(x, rate)
    wada = wada_snr_db(x)
    if spec.power.shape[0] < 8:
        noise_db = None
        if wada is not None:
            total = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
            noise_db = _db(total / (1.0 + 10.0 ** (wada / 10.0)))
        return NoiseResult(wada, noise_db, None, wada, "wada")

    bands = _bands(spec.power)
    pause = _pause_mask(spec, segments) if segments else None
    if pause is not None and pause.sum() * spec.frame_s < MIN_PAUSE_S:
        pause = None
    noise = noise_spectrum(bands, pause)
    noise_power = float(noise.sum())
    frame_power = bands.sum(axis=1)
    detect = np.clip(bands - OVERSUBTRACT * noise[None, :], 0.0, None).sum(axis=1)
    hangover = round(HANGOVER_S / spec.frame_s)
    level = _active_level(frame_power, detect, hangover)
    if level is None:
        return NoiseResult(None, _db(noise_power), None, wada, "spectral")
    speech_power = level - noise_power
    if speech_power <= noise_power * 10.0 ** (MIN_SNR_DB / 10.0):  # noise peaks, not speech
        return NoiseResult(None, _db(noise_power), None, wada, "spectral")
    snr = _db(speech_power) - _db(noise_power) if noise_power > _TINY else math.inf
    return NoiseResult(snr, _db(noise_power), _db(speech_power), wada, "spectral")


# --- WADA-SNR ------------------------------------------------------------------------------

_WADA_SHAPE = 0.4  # speech amplitudes modelled as Gamma(0.4), as in the paper
_WADA_SNRS = np.arange(-20.0, 60.5, 0.5)


@cache
def _wada_table() -> np.ndarray:
    """G = log E|x| − E log|x| for Gamma-amplitude speech plus Gaussian noise, per SNR.

    Built once per process from a seeded simulation (same draws for every SNR, so the curve
    is smooth and monotone).
    """
    rng = np.random.default_rng(20080101)
    n = 200_000
    s = rng.gamma(_WADA_SHAPE, 1.0, n) * rng.choice((-1.0, 1.0), n)
    s /= np.sqrt(np.mean(s * s))
    noise = rng.standard_normal(n)
    table = np.empty(_WADA_SNRS.shape[0])
    for i, snr in enumerate(_WADA_SNRS):  # 161 steps, each vectorised over the draws
        z = np.abs(s * 10.0 ** (snr / 20.0) + noise) + 1e-20
        table[i] = math.log(float(z.mean())) - float(np.log(z).mean())
    return table


def wada_snr_db(samples: np.ndarray) -> float | None:
    """Blind SNR by waveform amplitude distribution analysis (Kim & Stern, 2008).

    None for silence or too few samples; clamped to the table's −20…60 dB range.
    """
    x = np.abs(np.asarray(samples, dtype=np.float64))
    x = x[x > 0]
    if x.size < 1000:
        return None
    x /= float(x.max())
    g = math.log(float(x.mean())) - float(np.log(x).mean())
    table = _wada_table()
    # G rises with SNR; clamp outside the table.
    return float(np.interp(g, table, _WADA_SNRS))

"""Mel-frequency cepstra and frame pitch in plain numpy, for the speaker detector.

librosa computes the same features but importing it costs about a second (numba), which a
batch of short clips cannot afford; a mel filterbank, a log and a DCT are a few lines of
numpy. One FFT per 25 ms frame (10 ms hop) feeds both the cepstra and an autocorrelation
pitch estimate, so the whole pass costs well under a millisecond per second of audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["Cepstra", "cepstra", "dct_matrix", "hz_to_mel", "mel_filterbank", "mel_to_hz"]

MIN_PITCH_HZ = 75.0
MAX_PITCH_HZ = 400.0
OCTAVE_TOLERANCE = 0.85
MAX_RATE = 16000  # higher rates are resampled to this first
VOICED_CORRELATION = 0.45  # normalised autocorrelation peak above which a frame counts as voiced


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@cache
def mel_filterbank(
    *, rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float
) -> np.ndarray:
    """Triangular mel filters, shape ``(n_mels, n_fft // 2 + 1)``, each summing to one.

    Cached: a batch at one rate builds it once. Filters narrower than a bin still get the
    nearest bin, so no band is empty at 8 kHz.
    """
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2))
    bins_hz = np.arange(n_fft // 2 + 1) * (rate / n_fft)
    lo, mid, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    falling = (hi - bins_hz[None, :]) / np.maximum(hi - mid, 1e-9)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    empty = bank.sum(axis=1) == 0
    if empty.any():
        nearest = np.abs(bins_hz[None, :] - mid[empty]).argmin(axis=1)
        bank[np.flatnonzero(empty), nearest] = 1.0
    bank /= bank.sum(axis=1, keepdims=True)
    bank.setflags(write=False)
    return bank


@cache
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II basis, shape ``(n_in, n_out)``: ``log_mel @ dct`` gives cepstra."""
    k = np.arange(n_out)[None, :]
    n = np.arange(n_in)[:, None]
    basis = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    basis[:, 0] /= np.sqrt(2.0)
    basis.setflags(write=False)
    return basis


@cache
def _hamming(n: int) -> np.ndarray:
    window = np.hamming(n)
    window.setflags(write=False)
    return window


@dataclass(frozen=True)
class Cepstra:
    """Per-frame features of one clip; frame ``t`` is centred at ``(t * hop + win / 2) / rate``.

    ``mfcc`` has shape ``(frames, n_mfcc)`` and includes c0; ``log_mel`` is the (noise
    subtracted) log mel power; ``energy_db`` the frame level in dBFS; ``pitch_hz`` the F0 of
    voiced frames and 0 elsewhere.
    """

    mfcc: np.ndarray
    log_mel: np.ndarray
    energy_db: np.ndarray
    pitch_hz: np.ndarray
    hop_s: float
    win_s: float

    @property
    def times_s(self) -> np.ndarray:
        """Centre of each frame, in seconds from the first sample."""
        return np.arange(self.mfcc.shape[0]) * self.hop_s + self.win_s / 2.0


def cepstra(
    samples: np.ndarray,
    rate: int,
    *,
    n_mfcc: int = 20,
    n_mels: int = 32,
    win_s: float = 0.025,
    hop_s: float = 0.020,
    fmin_hz: float = 100.0,
    fmax_hz: float = 7600.0,
    noise_mask: np.ndarray | None = None,
) -> Cepstra:
    """MFCCs, log-mel power, level and pitch of mono ``samples`` in ``win_s`` frames.

    Audio above 16 kHz is resampled to 16 kHz first.
    ``fmax_hz`` is capped just under Nyquist, so 8 kHz audio uses 100–3800 Hz. When
    ``noise_mask`` (one bool per frame, True = no speech) is given, the mean mel power of
    those frames is subtracted before the log (floored at 1/20 of the original): stationary
    noise then shapes the features far less, so a noisy clip does not look like two voices.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate > MAX_RATE:  # speaker cues live below 8 kHz; a smaller FFT is much cheaper
        import soxr

        x, rate = soxr.resample(x, rate, MAX_RATE, quality="LQ").astype(np.float32), MAX_RATE
    win = max(16, round(win_s * rate))
    hop = max(1, round(hop_s * rate))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    n_bins = n_fft // 2 + 1
    if x.shape[0] < win:
        empty = np.zeros((0, n_mfcc))
        return Cepstra(
            empty, np.zeros((0, n_mels)), np.zeros(0), np.zeros(0), hop / rate, win / rate
        )
    block = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    window = _hamming(win)
    # float64 on purpose: numpy's pocketfft is several times slower on float32 rows.
    padded = np.zeros((block.shape[0], n_fft))
    padded[:, :win] = block * window  # numpy's own zero padding is several times slower
    spec = np.fft.rfft(padded, axis=1)
    power = spec.real**2 + spec.imag**2
    energy = power.sum(axis=1) / (n_fft * float(np.sum(window**2)) / 2.0)
    energy_db = 10.0 * np.log10(np.maximum(energy, 1e-12))

    bank = mel_filterbank(
        rate=rate, n_fft=n_fft, n_mels=n_mels, fmin_hz=fmin_hz, fmax_hz=min(fmax_hz, 0.475 * rate)
    )
    mel = power @ bank.T + 1e-10
    if noise_mask is not None and noise_mask.shape[0] == mel.shape[0] and noise_mask.any():
        noise = mel[noise_mask].mean(axis=0)
        mel = np.maximum(mel - noise, mel / 20.0)
    log_mel = np.log(mel)
    mfcc = log_mel @ dct_matrix(n_mels, n_mfcc)

    # Pitch: the autocorrelation is the inverse FFT of the power spectrum (circular, but the
    # zero padding and the window's taper keep the wrap-around small at pitch lags).
    acf = np.fft.irfft(power, n=n_fft, axis=1)[:, : win // 2 + 1]
    lo = max(1, int(rate / MAX_PITCH_HZ))
    hi = min(acf.shape[1] - 1, int(np.ceil(rate / MIN_PITCH_HZ)))
    pitch = np.zeros(mel.shape[0])
    if hi > lo:
        # Unbias the windowed autocorrelation (fewer overlapping samples at long lags).
        overlap = np.correlate(window, window, mode="full")[win - 1 : win - 1 + acf.shape[1]]
        norm = acf[:, lo:hi] / np.maximum(acf[:, :1], 1e-12) * (overlap[0] / overlap[lo:hi])
        rows = np.arange(norm.shape[0])
        top = norm.max(axis=1, keepdims=True)
        # The shortest lag that nearly matches the best one: multiples of the period score
        # as high as the period itself, so taking the plain maximum halves the pitch.
        near = norm >= OCTAVE_TOLERANCE * top
        first = near.argmax(axis=1)
        gaps = np.cumsum(~near, axis=1)
        run = near & (gaps == gaps[rows, first][:, None])
        best = np.where(run, norm, -np.inf).argmax(axis=1)
        peak = norm[rows, best]
        voiced = (peak > VOICED_CORRELATION) & (n_bins > 0)
        pitch = np.where(voiced, rate / (lo + best), 0.0)
    return Cepstra(
        mfcc.astype(np.float64),
        log_mel.astype(np.float64),
        energy_db.astype(np.float64),
        pitch,
        hop / rate,
        win / rate,
    )

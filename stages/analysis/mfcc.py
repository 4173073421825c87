"""Mel-frequency cepstra and frame pitch in plain numpy, for the speaker detector.

librosa computes the same features but importing it costs about a second (numba), which a
batch of short clips cannot afford; a mel filterbank, a log and a DCT are a few lines of
numpy. One FFT per 25 ms frame (20 ms hop) feeds both the cepstra and an autocorrelation
pitch estimate, so the whole pass costs well under a millisecond per second of audio; a
caller that needs only some frames (`grid_cepstra`'s ``frames``) pays only for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

__all__ = [
    "Cepstra",
    "FrameGrid",
    "cepstra",
    "dct_matrix",
    "frame_grid",
    "grid_cepstra",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
]

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


@cache
def _lag_weights(win: int, lo: int, hi: int) -> np.ndarray:
    """``overlap[0] / overlap[lo:hi]`` of the window's autocorrelation: unbiases long lags."""
    window = _hamming(win)
    overlap = np.correlate(window, window, mode="full")[win - 1 :]
    weights = overlap[0] / overlap[lo:hi]
    weights.setflags(write=False)
    return weights


@dataclass(frozen=True)
class Cepstra:
    """Per-frame features of one clip; frame ``t`` is centred at ``(t * hop + win / 2) / rate``.

    ``mfcc`` has shape ``(frames, n_mfcc)`` and includes c0; ``log_mel`` is the (noise
    subtracted) log mel power; ``energy_db`` the frame level in dBFS; ``pitch_hz`` the F0 of
    voiced frames and 0 elsewhere. Frames left out by `grid_cepstra`'s ``frames`` have NaN
    ``mfcc`` and ``log_mel`` and pitch 0 (their ``energy_db`` is always measured).
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


@dataclass(frozen=True)
class FrameGrid:
    """The analysis frames of one clip: mono float32 ``samples`` at ``rate`` (≤ 16 kHz),
    ``win``-sample Hamming frames every ``hop`` samples, each zero-padded to ``n_fft``.
    """

    samples: np.ndarray
    rate: int
    win: int
    hop: int
    n_fft: int

    @property
    def count(self) -> int:
        """Number of whole frames (0 when the clip is shorter than one frame)."""
        n = self.samples.shape[0]
        return 0 if n < self.win else (n - self.win) // self.hop + 1

    @property
    def hop_s(self) -> float:
        return self.hop / self.rate

    @property
    def win_s(self) -> float:
        return self.win / self.rate

    @cached_property
    def windowed(self) -> np.ndarray:
        """Every frame times the window, float64 ``(count, win)`` (computed once, read-only)."""
        if self.count == 0:
            return np.zeros((0, self.win))
        block = np.lib.stride_tricks.sliding_window_view(self.samples, self.win)[:: self.hop]
        xw = block * _hamming(self.win)
        xw.setflags(write=False)
        return xw

    def energy_db(self) -> np.ndarray:
        """Each frame's level in dBFS, as the one-sided FFT power would give it (no FFT).

        Parseval: the ``rfft`` bins of an ``n_fft``-point frame sum to
        ``(n_fft * Σ(xw)² + X₀² + X_{n/2}²) / 2``, with ``X₀ = Σ xw`` and
        ``X_{n/2} = Σ (−1)ʲ xw``; three dot products per frame instead of a transform.
        """
        xw = self.windowed
        window = _hamming(self.win)
        alternating = np.where(np.arange(self.win) % 2 == 0, 1.0, -1.0)
        squares = np.einsum("ij,ij->i", xw, xw)
        dc = xw.sum(axis=1)
        nyquist = xw @ alternating
        energy = (self.n_fft * squares + dc * dc + nyquist * nyquist) / (
            self.n_fft * float(np.sum(window**2))
        )
        return np.asarray(10.0 * np.log10(np.maximum(energy, 1e-12)))


def frame_grid(
    samples: np.ndarray, rate: int, *, win_s: float = 0.025, hop_s: float = 0.020
) -> FrameGrid:
    """The frame grid `cepstra` analyses mono ``samples`` on (audio above 16 kHz resampled)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate > MAX_RATE:  # speaker cues live below 8 kHz; a smaller FFT is much cheaper
        import soxr

        x, rate = soxr.resample(x, rate, MAX_RATE, quality="LQ").astype(np.float32), MAX_RATE
    win = max(16, round(win_s * rate))
    hop = max(1, round(hop_s * rate))
    return FrameGrid(x, rate, win, hop, 1 << int(np.ceil(np.log2(win))))


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
    grid = frame_grid(samples, rate, win_s=win_s, hop_s=hop_s)
    return grid_cepstra(
        grid, n_mfcc=n_mfcc, n_mels=n_mels, fmin_hz=fmin_hz, fmax_hz=fmax_hz, noise_mask=noise_mask
    )


def grid_cepstra(
    grid: FrameGrid,
    *,
    n_mfcc: int = 20,
    n_mels: int = 32,
    fmin_hz: float = 100.0,
    fmax_hz: float = 7600.0,
    noise_mask: np.ndarray | None = None,
    frames: np.ndarray | None = None,
    energy_db: np.ndarray | None = None,
) -> Cepstra:
    """`cepstra` on a `frame_grid`, computing spectra only where they are needed.

    ``frames`` (one bool per frame): compute cepstra and pitch for these frames only (the
    others get NaN cepstra and pitch 0); the transform then runs on these frames and the
    ``noise_mask`` frames alone. Each computed frame has the value `cepstra` gives it.
    ``energy_db``: the grid's `FrameGrid.energy_db`, when the caller already has it.
    """
    rate, win, n_fft = grid.rate, grid.win, grid.n_fft
    n = grid.count
    if n == 0:
        empty = np.zeros((0, n_mfcc))
        return Cepstra(
            empty, np.zeros((0, n_mels)), np.zeros(0), np.zeros(0), grid.hop_s, grid.win_s
        )
    xw = grid.windowed
    if energy_db is None:
        energy_db = grid.energy_db()
    use_noise = noise_mask is not None and noise_mask.shape[0] == n and bool(noise_mask.any())
    wanted = np.ones(n, dtype=bool) if frames is None else np.asarray(frames, dtype=bool)
    needed = wanted | noise_mask if use_noise and noise_mask is not None else wanted
    everything = bool(needed.all())
    # float64 like the rest of the features (a float32 FFT is no faster once freed buffers are
    # reused: `pipeline.allocator`; in isolation page faults made it look several times slower).
    spec = np.fft.rfft(xw if everything else xw[needed], n=n_fft, axis=1)
    power = np.square(spec.real)
    power += np.square(spec.imag)

    bank = mel_filterbank(
        rate=rate, n_fft=n_fft, n_mels=n_mels, fmin_hz=fmin_hz, fmax_hz=min(fmax_hz, 0.475 * rate)
    )
    mel = power @ bank.T + 1e-10
    keep = wanted if everything else wanted[needed]  # rows of `mel`/`power` that are wanted
    if use_noise and noise_mask is not None:
        noise = mel[noise_mask if everything else noise_mask[needed]].mean(axis=0)
        mel = mel if keep.all() else mel[keep]
        mel = np.maximum(mel - noise, mel / 20.0)
    elif not keep.all():
        mel = mel[keep]
    if not keep.all():
        power = power[keep]
    log_mel = np.log(mel)
    mfcc = log_mel @ dct_matrix(n_mels, n_mfcc)
    pitch = _pitch(power, rate, win, n_fft)

    if frames is None or wanted.all():
        return Cepstra(mfcc, log_mel, energy_db, pitch, grid.hop_s, grid.win_s)
    full_mfcc = np.full((n, n_mfcc), np.nan)
    full_mfcc[wanted] = mfcc
    full_mel = np.full((n, n_mels), np.nan)
    full_mel[wanted] = log_mel
    full_pitch = np.zeros(n)
    full_pitch[wanted] = pitch
    return Cepstra(full_mfcc, full_mel, energy_db, full_pitch, grid.hop_s, grid.win_s)


def _pitch(power: np.ndarray, rate: int, win: int, n_fft: int) -> np.ndarray:
    """F0 in Hz of each row of one-sided ``power`` spectra (0 where unvoiced)."""
    pitch = np.zeros(power.shape[0])
    width = win // 2 + 1
    lo = max(1, int(rate / MAX_PITCH_HZ))
    hi = min(width - 1, int(np.ceil(rate / MIN_PITCH_HZ)))
    if hi <= lo or power.shape[0] == 0:
        return pitch
    # The autocorrelation is the inverse FFT of the power spectrum (circular, but the zero
    # padding and the window's taper keep the wrap-around small at pitch lags).
    acf = np.fft.irfft(power, n=n_fft, axis=1)
    # Unbias the windowed autocorrelation (fewer overlapping samples at long lags).
    norm = acf[:, lo:hi] / np.maximum(acf[:, :1], 1e-12) * _lag_weights(win, lo, hi)
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
    voiced = peak > VOICED_CORRELATION
    return np.where(voiced, rate / (lo + best), 0.0)

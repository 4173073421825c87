"""Shared spectral helpers of the detectors: framing and a power spectrogram, all vectorised."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from stages.normalize import mono

__all__ = ["Spectrogram", "evenly", "hann", "power_spectrogram"]


@lru_cache(maxsize=32)
def hann(length: int, *, periodic: bool = False) -> np.ndarray:
    """Hann window of ``length`` as read-only float32, cached (each detector reuses its own)."""
    window = (np.hanning(length + 1)[:-1] if periodic else np.hanning(length)).astype(np.float32)
    window.flags.writeable = False
    return window


@dataclass(frozen=True)
class Spectrogram:
    """Power per frame and bin, scaled so each row sums to the frame's mean-square level.

    ``power`` has shape ``(frames, bins)``; bin ``k`` is centred on ``k * bin_hz``; frame
    ``t`` starts at sample ``t * hop``. ``energy`` (each frame's total power) is computed
    once on first use and shared by the detectors that read it.
    """

    power: np.ndarray
    rate: int
    n_fft: int
    hop: int

    @property
    def bin_hz(self) -> float:
        return self.rate / self.n_fft

    @property
    def frame_s(self) -> float:
        return self.hop / self.rate

    @cached_property
    def energy(self) -> np.ndarray:
        """Total power of each frame (``power.sum(axis=1)``), read-only."""
        energy = self.power.sum(axis=1)
        energy.flags.writeable = False
        return energy


def evenly(indices: np.ndarray, count: int) -> np.ndarray:
    """At most ``count`` of ``indices``, spread evenly over them (all of them when fewer)."""
    if indices.size <= count:
        return indices
    return indices[np.linspace(0, indices.size - 1, count).astype(np.intp)]


def frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Overlapping frames of a 1-D array as a strided view, shape ``(n, length)`` (n may be 0)."""
    if x.shape[0] < length:
        return np.empty((0, length), dtype=x.dtype)
    return np.lib.stride_tricks.sliding_window_view(x, length)[::hop]


def power_spectrogram(samples: np.ndarray, rate: int, *, frame_s: float = 0.032) -> Spectrogram:
    """Hann-windowed power spectrogram with 50 % overlap and a power-of-two FFT near ``frame_s``.

    One float32 FFT of all frames; the power is formed in place and returned as float64
    (the detectors sum many frames of it).
    """
    x = mono(samples)
    n_fft = 1 << max(6, round(np.log2(max(frame_s * rate, 64))))
    hop = n_fft // 2
    window = hann(n_fft, periodic=True)  # periodic Hann: sums flat at 50 %
    block = frames(x, n_fft, hop)
    if block.shape[0] == 0:
        return Spectrogram(np.zeros((0, n_fft // 2 + 1)), rate, n_fft, hop)
    spec = np.fft.rfft(block * window, axis=1)
    power = np.square(spec.real)
    power += np.square(spec.imag)
    power[:, 1:-1] *= 2.0  # one-sided: fold negative frequencies in
    power /= float(np.sum(np.square(window))) * n_fft
    return Spectrogram(power.astype(np.float64), rate, n_fft, hop)

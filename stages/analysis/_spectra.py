"""Shared spectral helpers of the detectors: framing and a power spectrogram, all vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Spectrogram", "mono", "power_spectrogram"]


def mono(samples: np.ndarray) -> np.ndarray:
    """Mono float32 view/copy of ``(frames,)`` or ``(frames, ch)`` audio (channel mean).

    Adds the channel columns: ``mean(axis=1)`` on interleaved audio is 30–50× slower.
    """
    x = np.asarray(samples)
    if x.ndim == 2:
        if x.shape[1] == 1:
            x = x[:, 0]
        else:
            total = x[:, 0].astype(np.float32)
            for channel in range(1, x.shape[1]):
                total += x[:, channel]
            x = total * np.float32(1.0 / x.shape[1])
    return np.asarray(x, dtype=np.float32)


@dataclass(frozen=True)
class Spectrogram:
    """Power per frame and bin, scaled so each row sums to the frame's mean-square level.

    ``power`` has shape ``(frames, bins)``; bin ``k`` is centred on ``k * bin_hz``; frame
    ``t`` starts at sample ``t * hop``.
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


def frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Overlapping frames of a 1-D array as a strided view, shape ``(n, length)`` (n may be 0)."""
    if x.shape[0] < length:
        return np.empty((0, length), dtype=x.dtype)
    return np.lib.stride_tricks.sliding_window_view(x, length)[::hop]


def power_spectrogram(samples: np.ndarray, rate: int, *, frame_s: float = 0.032) -> Spectrogram:
    """Hann-windowed power spectrogram with 50 % overlap and a power-of-two FFT near ``frame_s``."""
    x = mono(samples)
    n_fft = 1 << max(6, round(np.log2(max(frame_s * rate, 64))))
    hop = n_fft // 2
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann: sums flat at 50 %
    block = frames(x, n_fft, hop)
    if block.shape[0] == 0:
        return Spectrogram(np.zeros((0, n_fft // 2 + 1)), rate, n_fft, hop)
    spec = np.fft.rfft(block * window, axis=1)
    power = spec.real**2 + spec.imag**2
    power[:, 1:-1] *= 2.0  # one-sided: fold negative frequencies in
    power /= float(np.sum(window**2)) * n_fft
    return Spectrogram(power.astype(np.float64), rate, n_fft, hop)

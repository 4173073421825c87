"""Biquad filters applied as a frequency response in the FFT domain, without scipy.

Importing ``scipy.signal`` costs ~250 ms in every worker and every ``voiceprep check``; the
few biquads the pipeline needs (BS.1770 K-weighting in `stages.loudness`, the rumble
high-pass of `stages.normalize`) are applied here by overlap-add: each chunk carries a tail
long enough for the filters' impulse response to die out, so the circular wrap-around of
the FFT stays far below float32 precision and the result is the causal IIR filter's.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["Biquad", "apply_biquads", "highpass", "remove_rumble"]

RUMBLE_HZ = 20.0  # below every voice's fundamental; takes DC, drift and handling noise
START_S = 0.01  # `remove_rumble` starts from the mean level of this much of the take

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]


def highpass(cutoff_hz: float, rate: int, *, q: float = 1.0 / math.sqrt(2.0)) -> Biquad:
    """Second-order high-pass ``((b0, b1, b2), (1, a1, a2))``: pre-warped bilinear transform.

    With the default ``q`` it is a Butterworth: flat pass band, unity gain at Nyquist,
    −3 dB at ``cutoff_hz``.
    """
    if not 0.0 < cutoff_hz < rate / 2.0:
        raise ValueError(f"cutoff must lie between 0 and {rate / 2:g} Hz, got {cutoff_hz:g}")
    k = math.tan(math.pi * cutoff_hz / rate)
    norm = 1.0 / (1.0 + k / q + k * k)
    return (norm, -2.0 * norm, norm), (
        1.0,
        2.0 * (k * k - 1.0) * norm,
        (1.0 - k / q + k * k) * norm,
    )


def response(filters: tuple[Biquad, ...], n_fft: int) -> np.ndarray:
    """Complex frequency response of cascaded biquads on the ``rfft`` grid of ``n_fft``."""
    z1 = np.exp(-2j * np.pi * np.arange(n_fft // 2 + 1) / n_fft)  # z^-1
    z2 = z1 * z1
    h = np.ones_like(z1)
    for (b0, b1, b2), (a0, a1, a2) in filters:
        h *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
    return h


@lru_cache(maxsize=32)
def _cached_response(filters: tuple[Biquad, ...], n_fft: int) -> np.ndarray:
    """`response` as complex64, read-only, kept per filter set and FFT size."""
    h = response(filters, n_fft).astype(np.complex64)
    h.flags.writeable = False
    return h


def apply_biquads(
    channels: np.ndarray, filters: tuple[Biquad, ...], *, rate: int, settle_s: float
) -> np.ndarray:
    """Filter ``channels`` (``(ch, frames)``) through ``filters``; float32 of the same shape.

    ``settle_s``: how long the slowest pole takes to decay by e⁻³⁰ (each chunk's tail is at
    least that long). Overlap-add FFT convolution in single precision.
    """
    n_ch, n = channels.shape
    tail = 1 << max(6, math.ceil(math.log2(settle_s * rate)))
    n_fft = 8 * tail
    hop = n_fft - tail
    n_chunks = max(1, -(-n // hop))
    # Each chunk is laid out zero-padded to n_fft here: numpy's own padding (``n=n_fft``)
    # copies row by row and makes the float32 transform ~1.4x slower; same result.
    padded = np.zeros((n_ch, n_chunks, n_fft), dtype=np.float32)
    whole = n // hop
    if whole:
        padded[:, :whole, :hop] = channels[:, : whole * hop].reshape(n_ch, whole, hop)
    if whole < n_chunks:
        padded[:, whole, : n - whole * hop] = channels[:, whole * hop :]
    spec = np.fft.rfft(padded, axis=-1)
    spec *= _cached_response(filters, n_fft)
    y = np.fft.irfft(spec, n=n_fft, axis=-1)
    out = np.ascontiguousarray(y[..., :hop])
    out[:, 1:, :tail] += y[:, :-1, hop:]
    return out.reshape(n_ch, -1)[:, :n]


def remove_rumble(x: np.ndarray, rate: int, *, cutoff_hz: float = RUMBLE_HZ) -> np.ndarray:
    """Mono ``x`` through a Butterworth high-pass at ``cutoff_hz``: DC, drift and rumble go.

    Subtracting the mean removes a constant offset only. A bias present only while the voice
    sounds (prompts with their own DC joined by silence, GSM decoders) then leaves every pause
    at a constant offset, which the noise estimate reads as a loud noise floor; a high-pass
    takes the offset out wherever it is. 20 Hz is under any voice's fundamental (the
    response is within 0.1 dB from 70 Hz up).

    The filter starts as if the take had always sat at the level of its first ``START_S``:
    from rest, a take that begins at an offset (silence the mean subtraction moved off zero)
    is a step, and the filter's answer rings for ~40 ms at −30 to −45 dBFS, which the VAD
    took for speech at 0 s.
    """
    if x.size == 0 or rate <= 2 * cutoff_hz:
        return np.asarray(x, dtype=np.float32)
    # A Butterworth pole pair decays with time constant 1 / (ω₀ sin 45°): e⁻³⁰ after 30 of them.
    settle_s = 30.0 / (2.0 * math.pi * cutoff_hz * math.sqrt(0.5))
    samples = np.asarray(x, dtype=np.float32)
    start = float(samples[: max(1, round(START_S * rate))].mean(dtype=np.float64))
    channels = (samples - np.float32(start))[np.newaxis, :]
    return apply_biquads(channels, (highpass(cutoff_hz, rate),), rate=rate, settle_s=settle_s)[0]

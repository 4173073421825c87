"""Synthetic signals with known answers for the detector tests."""

from __future__ import annotations

import numpy as np

RATE = 16000


def voice(dur_s: float, rate: int = RATE, *, seed: int = 0, top_hz: float = 7000.0) -> np.ndarray:
    """Speech-like: gliding-pitch harmonics in ~4 Hz syllables, pauses, some fricative noise."""
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    t = np.arange(n) / rate
    f0 = 130.0 * (1 + 0.2 * np.sin(2 * np.pi * 2.7 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    k = np.arange(1, 40)[:, None]
    amp = (k * 130.0 < min(top_hz, rate / 2 - 200)) / k
    voiced = (np.sin(k * phase[None, :]) * amp).sum(axis=0)
    syllables = np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 0.5
    words = (np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 6)) > -0.6).astype(float)  # pauses
    freqs = np.fft.rfftfreq(n, 1 / rate)
    hiss = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * (freqs > 3000), n)
    out = (voiced + 0.3 * hiss) * syllables * words
    if top_hz < rate / 2:
        spec = np.fft.rfft(out)
        spec[np.fft.rfftfreq(n, 1 / rate) > top_hz] = 0
        out = np.fft.irfft(spec, n)
    return (0.5 * out / float(np.max(np.abs(out)))).astype(np.float32)


def active_power(x: np.ndarray, rate: int = RATE) -> float:
    """Mean power of the 10 ms frames within 30 dB of the loudest (a simple active level)."""
    step = rate // 100
    n = x.shape[0] // step
    power = (x[: n * step].astype(np.float64).reshape(n, step) ** 2).mean(axis=1)
    return float(power[power > power.max() * 1e-3].mean())


def white(n: int, *, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def pink(n: int, rate: int = RATE, *, seed: int = 2) -> np.ndarray:
    spec = np.fft.rfft(white(n, seed=seed))
    spec /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / rate), 20.0))
    return np.fft.irfft(spec, n)


def hum(n: int, hz: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(n) / rate
    return sum(np.sin(2 * np.pi * hz * k * t + k) / k for k in (1, 2, 3, 5))  # type: ignore[return-value]


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled so active speech power / noise power is ``snr_db``."""
    noise = noise * np.sqrt(active_power(speech) / 10 ** (snr_db / 10) / np.mean(noise**2))
    return (speech + noise).astype(np.float32)

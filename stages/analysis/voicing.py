"""How much of a sound is voiced: a voice's vowels repeat at a pitch period; noise never does.

Speech, even deep in noise, has vowels: stretches where the vocal folds make the waveform
repeat every pitch period (2.5–16.7 ms: 60–400 Hz). Hiss that swells at a syllable pace,
footsteps, a hi-hat pattern alone or gusts of wind pass every level cue of
`stages.analysis.speech`, but almost none of their frames repeats.

`voiced_share` is the share of the loud frames whose autocorrelation, in the band
``BAND_HZ`` where a voice's harmonics are strongest, peaks at ``VOICED_CORRELATION`` or more
at a pitch period. Each frame's autocorrelation is divided by its window's own (Boersma's
correction, as Praat does), so a periodic frame scores near 1 at its period whatever the lag,
and frames are ``FRAME_S`` long (three periods of the lowest pitch): shorter frames let
noise reach the threshold at the long lags, at 8 kHz most.

Measured through the chain (twelfth session; benchmarks/README.md "No vowels"): clean voices
of the dev, test and false-alarm sets 0.24 and up; the dev voices in 0 dB white, pink, brown
or babble noise 0.085 and up (at −5 dB white or pink they fall to 0.003); swelling hiss,
footsteps and hi-hats 0.00–0.03; wind rumble under ~250 Hz is narrow enough to repeat and
may read 0.1–0.3 (missed). Under ``MIN_VOICED_SHARE`` the clip is not speech. A whisper has
no vowels either.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from stages.analysis._spectra import Spectrogram, evenly, hann

__all__ = ["MIN_VOICED_SHARE", "PITCH_HZ", "voiced_pitches", "voiced_share"]

PITCH_HZ = (60.0, 400.0)
BAND_HZ = (150.0, 3000.0)
VOICED_CORRELATION = 0.7
MIN_VOICED_SHARE = 0.04
FRAME_S = 0.05  # three periods of the lowest pitch
MAX_FRAMES = 300  # an evenly spread subset of the loud frames is plenty for a share
BATCHES = 6
OCTAVE_TOLERANCE = 0.9  # a peak this close to the highest is the period's (the shortest)
MIN_FRAMES = 20


@lru_cache(maxsize=16)
def _fast_length(n: int) -> int:
    """The smallest length >= ``n`` with no prime factor over 5 (a fast FFT size)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


@lru_cache(maxsize=8)
def _window_autocorrelation(length: int) -> np.ndarray:
    """Autocorrelation of the Hann window of ``length``, 1 at lag 0 (read-only)."""
    window = hann(length).astype(np.float64)
    acf = np.fft.irfft(np.abs(np.fft.rfft(window, 2 * length)) ** 2, 2 * length)[:length]
    acf /= acf[0]
    acf.flags.writeable = False
    return acf


def _frame_starts(samples: np.ndarray, spec: Spectrogram, loud: np.ndarray) -> np.ndarray:
    """Where the ``FRAME_S`` frames around the loud frames' centres start (at most
    ``MAX_FRAMES``, spread evenly)."""
    length = round(FRAME_S * spec.rate)
    starts = np.flatnonzero(loud) * spec.hop + spec.n_fft // 2 - length // 2
    return evenly(starts[(starts >= 0) & (starts + length <= samples.shape[0])], MAX_FRAMES)


def _lags(rate: int) -> tuple[int, int]:
    """The lags of the pitch periods, one more at each end: a period between two lags peaks
    at the nearer one, which must still be seen as a peak."""
    return int(rate // PITCH_HZ[1]), int(np.ceil(rate / PITCH_HZ[0])) + 1


def voiced_share(samples: np.ndarray, spec: Spectrogram, loud: np.ndarray) -> float | None:
    """Share of the ``loud`` frames of ``spec`` that are periodic at a pitch period.

    ``samples`` is the mono signal ``spec`` was computed from. Each frame is read again as
    ``FRAME_S`` of samples around its centre: three periods of the lowest pitch, so even
    that period lies where the window's own autocorrelation is large. Up to ``MAX_FRAMES``
    frames spread evenly over the sound are judged, in ``BATCHES`` interleaved batches; it
    stops as soon as enough are voiced to prove a voice (a voice usually after the first),
    and the share is of the frames judged. None with fewer than ``MIN_FRAMES`` loud frames.
    """
    length = round(FRAME_S * spec.rate)
    starts = _frame_starts(samples, spec, loud)
    if starts.size < MIN_FRAMES:
        return None
    proof = MIN_VOICED_SHARE * starts.size  # this many voiced frames: a voice, whatever the rest
    voiced = judged = 0
    for batch in range(BATCHES):
        rows = samples[starts[batch::BATCHES, None] + np.arange(length)]
        peaks, _ = _periodicity(rows, spec.rate)
        voiced += int(np.count_nonzero(peaks >= VOICED_CORRELATION))
        judged += peaks.size
        if voiced >= proof:
            break
    return voiced / judged if judged else None


def voiced_pitches(
    samples: np.ndarray, spec: Spectrogram, loud: np.ndarray
) -> tuple[np.ndarray, int]:
    """The pitch (Hz) of each voiced one of the loud frames, and how many frames were judged
    (at most ``MAX_FRAMES``; frames with no sound in ``BAND_HZ`` are not).

    The period is the shortest lag whose peak comes within ``OCTAVE_TOLERANCE`` of the
    highest: twice the period repeats as well as the period itself.
    """
    length = round(FRAME_S * spec.rate)
    starts = _frame_starts(samples, spec, loud)
    if starts.size == 0:
        return np.empty(0), 0
    peaks, lags = _periodicity(samples[starts[:, None] + np.arange(length)], spec.rate)
    pitches = np.asarray(spec.rate / lags[peaks >= VOICED_CORRELATION], dtype=np.float64)
    return pitches, int(peaks.size)


def _periodicity(rows: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Each audible frame's highest autocorrelation peak at a pitch period, and its lag.

    Frames with no sound in ``BAND_HZ`` are left out.
    """
    length = rows.shape[1]
    lo, hi = _lags(rate)
    frames = rows - rows.mean(axis=1, keepdims=True, dtype=np.float64)
    frames *= hann(length)
    n_fft = _fast_length(length + hi + 2)  # linear, not circular, up to the longest lag
    spectrum = np.fft.rfft(frames, n_fft, axis=1)
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    bin_hz = rate / n_fft
    power[:, : int(BAND_HZ[0] / bin_hz)] = 0.0
    power[:, int(np.ceil(BAND_HZ[1] / bin_hz)) :] = 0.0
    acf = np.fft.irfft(power, n_fft, axis=1)[:, : hi + 2]
    audible = acf[:, 0] > 0
    window_acf = _window_autocorrelation(length)[lo - 1 : hi + 2]
    norm = acf[audible, lo - 1 : hi + 2] / acf[audible, :1] / window_acf
    middle = norm[:, 1:-1]
    is_peak = (middle >= norm[:, :-2]) & (middle >= norm[:, 2:])
    peaks = np.where(is_peak, middle, -np.inf)
    best = peaks.max(axis=1) if peaks.shape[0] else np.empty(0)
    first = np.argmax(peaks >= OCTAVE_TOLERANCE * best[:, None], axis=1)
    return best, (lo + first).astype(np.float64)

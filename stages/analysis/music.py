"""A second opinion on "speech": a small learned speech/music discriminator.

`stages.analysis.speech.detect_speech` judges speech with hand-set cues. Music that slips
past all of them (held-out game and hold music: recall ≈ 0.90) is called speech. This module
is a classic Scheirer & Slaney style discriminator on top: a handful of clip-level features,
most of them read off what the detector has computed already (the spectrogram, the eight
modulation bands, the persistence and modulation cues), scored by a regularised logistic
regression. It only ever *adds doubt*: `detect_speech` asks it on its "speech" outcome, and a
probability of at least ``MUSIC_THRESHOLD`` sets ``SpeechResult.music_like``, which the caller
reports as a ``no_speech`` warning, never as an error.

Features (`music_features`, in ``FEATURES`` order):

- ``modulation_db``, ``persistence``, ``dip_db``, ``beat``, ``lines``, ``peak_spread_db``:
  the detector's own cues (`stages.analysis.speech`); a missing value takes a neutral fill.
- ``mod4``: each modulation band's envelope modulation depth at 3–6 Hz (the syllable
  rate), median over bands (Scheirer & Slaney's 4 Hz modulation energy).
- ``flux_mean``, ``flux_std``: spectral flux, the RMS change (dB) of the level-normalised
  log spectrum in ``CEPSTRAL_BANDS`` log-spaced bands between 100 and 3800 Hz (every sample
  rate has them) from one frame to the next, mean and standard deviation over the loud frames.
- ``centroid_std``, ``rolloff_std``: how much the spectral centroid and the 85 % roll-off
  (in band steps) move over the loud frames.
- ``low_energy``: the share of frames under half the mean energy of their second.
- ``c1_std`` … ``c6_std``: how much the cepstra (a DCT of those log band levels, an MFCC
  without the mel warp) vary over the loud frames. Their means were dropped: they describe
  the channel and codec as much as the source, and cross-validation liked them less.

The weights were fitted offline by ``benchmarks/train_music_check.py``: features through
the real chain under profiles ``tencent-vod-voice`` and ``aliyun-voice`` (analysis at 24 and
8 kHz); positives: the old no-speech set of ``benchmarks/no_speech_recall.py`` (190 clips of
game music and generated tones) and 160 generated clips (chords, arpeggios, a tune over a
drone, a drum loop with a bass, a vibrato lead), 700 rows; negatives: every voice of the dev
split (200), the false-alarm set's 300 takes and the SNR sweep's 432 noisy dev voices, 1,864
rows; never the test split or the held-out no-speech set. L2 weight 1 and the threshold's
margin were chosen by cross-validation on those rows alone: leaving one source of music out
at a time, 32 of the 61 music rows the cues call speech were flagged; in five random folds,
44 of 61, and 2 of 1,799 voice rows the cues call speech (one voice under hum at 0 dB
SNR, under both profiles).
The threshold sits half a logit above the top training negative (a dev voice under hum at
0 dB SNR, 0.985); the false-alarm takes score ≤ 0.04, dev-split voices ≤ 0.78. Of the
training music the cues call speech (61 rows), 41 reach it.

Dropped: zero-crossing-rate variance (a pass over the samples, ≈ the whole budget of
≈ 1 ms per 15 s clip; the spectral features carry the same information).
"""

from __future__ import annotations

import numpy as np

from stages.analysis._spectra import Spectrogram

__all__ = ["FEATURES", "MUSIC_THRESHOLD", "music_features", "music_probability"]

FEATURES = (
    "modulation_db",
    "persistence",
    "dip_db",
    "beat",
    "lines",
    "peak_spread_db",
    "mod4",
    "flux_mean",
    "flux_std",
    "centroid_std",
    "rolloff_std",
    "low_energy",
    "c1_std",
    "c2_std",
    "c3_std",
    "c4_std",
    "c5_std",
    "c6_std",
)
# Neutral fills for cues the detector could not measure (short or sparse clips).
FILL = {"modulation_db": 10.0, "persistence": 0.45, "dip_db": 25.0, "beat": 0.3}
FILL |= {"lines": 6.0, "peak_spread_db": 6.0, "mod4": 0.2}
CEPSTRAL_BANDS = 20
CEPSTRAL_EDGES_HZ = (100.0, 3800.0)
MOD4_HZ = (3.0, 6.0)
FLOOR_DB = 100.0
ROLLOFF = 0.85
LOW_ENERGY_WINDOW_S = 1.0

# Fitted by benchmarks/train_music_check.py: standardisation and logistic weights.
MEAN = np.array(
    [
        14.3131,
        0.588542,
        33.315,
        0.28053,
        12.6917,
        9.73842,
        0.560008,
        5.05619,
        2.93656,
        1.99688,
        2.79932,
        0.38899,
        16.9931,
        14.2335,
        13.4458,
        9.52192,
        9.38035,
        8.66858,
    ]
)
SCALE = np.array(
    [
        3.42596,
        0.172674,
        19.1106,
        0.228863,
        5.69083,
        8.33979,
        0.300572,
        1.58863,
        1.33905,
        0.955071,
        1.14508,
        0.223429,
        8.59671,
        6.37155,
        6.70788,
        4.58859,
        4.42543,
        4.06418,
    ]
)
WEIGHTS = np.array(
    [
        -0.944285,
        1.81126,
        -0.756245,
        3.78108,
        -1.63793,
        1.1135,
        -1.33008,
        1.51279,
        0.712238,
        0.602412,
        -1.16247,
        -3.12675,
        -0.0196177,
        -0.157147,
        -1.80584,
        0.173199,
        0.754259,
        0.290259,
    ]
)
BIAS = -3.12309
# The top training negative (a dev voice under hum at 0 dB SNR) scored 0.985 (logit
# 4.176); the threshold sits 0.5 logit above it.
MUSIC_THRESHOLD = 0.9908


def _band_power(spec: Spectrogram, rows: np.ndarray) -> np.ndarray:
    """Power of ``rows`` in ``CEPSTRAL_BANDS`` log-spaced bands over 100–3800 Hz.

    Floored ``FLOOR_DB`` under the loudest, so digital silence has a level.
    """
    lo, hi = CEPSTRAL_EDGES_HZ
    hi = min(hi, 0.97 * spec.rate / 2)
    bins = np.round(np.geomspace(lo, hi, CEPSTRAL_BANDS + 1) / spec.bin_hz).astype(np.intp)
    edges = np.unique(np.maximum(bins, 1))
    block = spec.power[rows, edges[0] : edges[-1]]  # only the bins the bands read
    power = np.add.reduceat(block, edges[:-1] - edges[0], axis=1)
    floor = max(float(power.max(initial=0.0)), 1e-30) * 10 ** (-FLOOR_DB / 10)
    return np.asarray(np.maximum(power, floor))


def _dct_matrix(bands: int, count: int) -> np.ndarray:
    """DCT-II basis, coefficients 1..count (c0, the level, left out), shape (bands, count)."""
    k = np.arange(1, count + 1)
    n = np.arange(bands) + 0.5
    return np.asarray(np.cos(np.pi * np.outer(n, k) / bands) * np.sqrt(2.0 / bands))


def _mod4(band_power: np.ndarray, frame_s: float) -> float:
    """Median over bands of the envelope's modulation depth at 3–6 Hz (RMS over the mean).

    By Parseval, twice the 3–6 Hz power of the mean-normalised envelope's spectrum over the
    squared frame count is that band's share of the envelope's variance: 0 for a steady
    tone, ≈ 0.07 for white noise's 32 ms frames, ≈ 0.3–0.5 for a voice's syllables.
    """
    n = band_power.shape[0]
    if n < round(2.0 / frame_s):
        return FILL["mod4"]
    envelope = np.sqrt(band_power)
    mean = envelope.mean(axis=0)
    envelope = envelope / np.where(mean > 0, mean, 1.0) - (mean > 0)
    density = np.abs(np.fft.rfft(envelope, axis=0)) ** 2
    hz = np.fft.rfftfreq(n, frame_s)
    mid = density[(hz >= MOD4_HZ[0]) & (hz < MOD4_HZ[1])].sum(axis=0)
    return float(np.median(np.sqrt(2.0 * mid) / n))


def _low_energy(energy: np.ndarray, frame_s: float) -> float:
    """Share of frames under half the mean energy of their ``LOW_ENERGY_WINDOW_S`` window."""
    width = max(2, round(LOW_ENERGY_WINDOW_S / frame_s))
    windows = energy.size // width
    if windows < 1:
        return float(np.mean(energy < 0.5 * energy.mean()))
    block = energy[: windows * width].reshape(windows, width)
    return float(np.mean(block < 0.5 * block.mean(axis=1, keepdims=True)))


def music_features(
    spec: Spectrogram,
    band_power: np.ndarray,
    inside: np.ndarray,
    loud: np.ndarray,
    *,
    modulation_db: float | None,
    persistence: float | None,
    dip_db: float | None,
    beat: float | None,
    lines: float | None,
    peak_spread_db: float | None,
) -> np.ndarray:
    """The clip's features in ``FEATURES`` order (float64, shape (len(FEATURES),)).

    ``band_power`` is the detector's modulation bands (`speech.modulation_bands(...).power`);
    ``inside`` the frames within the VAD segments, ``loud`` the detector's loud frames.
    """
    cues = {"modulation_db": modulation_db, "persistence": persistence, "dip_db": dip_db}
    cues |= {"beat": beat, "lines": lines, "peak_spread_db": peak_spread_db}
    head = [FILL[k] if v is None else float(v) for k, v in cues.items()]
    frame_s = spec.frame_s
    rows = np.flatnonzero(loud)
    if rows.size < 3:
        rows = np.flatnonzero(inside)
    if rows.size < 3:
        rows = np.arange(spec.power.shape[0])
    linear = _band_power(spec, rows)
    level = 10.0 * np.log10(linear)
    centred = level - level.mean(axis=1, keepdims=True)
    step = np.sqrt(np.mean(np.diff(centred, axis=0) ** 2, axis=1)) if rows.size > 1 else [0.0]
    share = linear / linear.sum(axis=1, keepdims=True)
    index = np.arange(level.shape[1])
    centroid = share @ index
    rolloff = np.argmax(np.cumsum(share, axis=1) >= ROLLOFF, axis=1)
    cepstra = centred @ _dct_matrix(level.shape[1], 6)
    energy = spec.energy[inside] if inside.any() else spec.energy
    tail = [
        _mod4(band_power[inside] if inside.sum() > 2 else band_power, frame_s),
        float(np.mean(step)),
        float(np.std(step)),
        float(np.std(centroid)),
        float(np.std(rolloff)),
        _low_energy(energy, frame_s),
        *cepstra.std(axis=0).tolist(),
    ]
    return np.asarray(head + tail, dtype=np.float64)


def music_probability(features: np.ndarray) -> float:
    """Logistic probability (0..1) that ``features`` (`music_features`) describe music."""
    z = (np.asarray(features, dtype=np.float64) - MEAN) / SCALE
    score = float(np.clip(z, -8.0, 8.0) @ WEIGHTS + BIAS)
    return float(1.0 / (1.0 + np.exp(-score)))

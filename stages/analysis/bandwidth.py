"""Audio bandwidth: the highest frequency that still carries signal, to catch upsampled audio.

A clip recorded at 8 kHz and upsampled to 24 kHz has nothing above 4 kHz: the resampler's
stop band leaves 60–120 dB less there than in the speech band. Speech that is merely dark
(a muffled microphone, a deep voice) falls off gradually and keeps fricative energy up to
8 kHz and beyond, 20–50 dB down. So the test is level, not shape: per 250 Hz band, the
90th percentile of frame power (fricatives are brief, a mean would hide them) against the
loudest band; the bandwidth is the top of the highest band within ``FLOOR_DB`` of it. A
steep cliff (``CLIFF_DB`` lost within one band, never regained) also marks the edge, which
catches band-limited audio whose empty top was later filled with a little broadband noise.

When that noise is stronger (speech 20–40 dB over a wide-band floor added after the
upsampling), neither test sees an edge: the floor is within ``FLOOR_DB`` and the speech's
own roll-off towards 4 kHz leaves less than a cliff. Then the voice's edge is where it sinks
into the floor: per band, the loud frames (90th percentile) over the quiet ones (20th, the
pauses); a band whose speech stands ``OVER_NOISE_DB`` clear, with every band above it within
``NOISE_ONLY_DB`` (the spread of noise alone), ends the voice. Speech buried gradually in a
strong floor (a noisy wide-band take) never shows so sharp a step, so it is not cut there.
Measured on band-limited and wide-band takes with white and pink noise at 10–40 dB SNR:
``benchmarks/README.md``.

Audio upsampled from 8 kHz *without* an anti-imaging filter (linear interpolation, as
pydub's ``set_frame_rate`` and ``np.interp`` do, or repeated samples) is not empty above
4 kHz: it holds a mirror image of the band below, 5–20 dB down. Such a band above
``FOLD_HZ`` rises and falls with its mirror band frame by frame, at a fixed loss, while a
voice's 5 kHz fricatives and 3 kHz formants move independently. So, per 250 Hz band pair
around 4 kHz, the spread of the level difference to the mirror band is set against the spread
to a band two bands further off; images give a ratio of ~0.25, real voices (clean, noisy,
clipped, two of them) ~1 (`MIRROR_RATIO`). Such audio also counts as ending at 4 kHz.

A steep low-pass *filter* (FIR, Chebyshev, 8th-order Butterworth at 3.4 kHz) empties the top
as an 8 kHz path does. A gentler one at 3.4–4 kHz, written at the full rate (a telephone
band-pass, a Butterworth at 4 kHz), can leave no edge either test trusts: its skirt falls
15–50 dB over the next 2 kHz, and a voice's fricatives there stay within ``FLOOR_DB``. What it
changes is the tilt: the 90th-percentile level of 5–7 kHz against 2–3.5 kHz (``tilt_db``).
Voices read about −11 dB (median), −29 at the darkest we measured: a synthetic Finnish
festival voice coded as MP3, among the false-alarm set's 273 wide-band takes
(`benchmarks/false_alarms.py` prints the figure); 186 real and synthetic wide-band voices
under white floors 30–80 dB down, and the test split's takes, read −27 at the darkest. The
same 186 voices low-pass filtered at 3.4–4 kHz read −9…−66 (median −33 with the floor 80 dB
down, −28 at 40 dB; a 4th-order Butterworth at 4 kHz is the gentlest filter tried, and a
bright voice filtered at 44.1/48 kHz keeps the most). The tilt is only a number here;
`analyze` judges it (a warning under ``MUFFLED_TILT_DB``, the profile's severity under
``FILTERED_TILT_DB``).

Measure on the *source* (before `normalize` resamples): after resampling to 8 kHz every
clip is band-limited to 4 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.analysis._spectra import hann
from stages.normalize import mono

__all__ = [
    "FILTERED_TILT_DB",
    "MUFFLED_TILT_DB",
    "VOICE_DARKEST_TILT_DB",
    "BandwidthResult",
    "detect_bandwidth",
    "mirror_ratio",
]

BAND_HZ = 250.0
FLOOR_DB = 60.0  # bands this far under the loudest band carry nothing
CLIFF_DB = 25.0  # a drop this deep within one band edge is a filter, not a voice
FRAME_S = 0.04
LEVEL_PERCENTILE = 90.0
QUIET_PERCENTILE = 20.0  # the pauses' level per band: the noise floor
OVER_NOISE_DB = 15.0  # a band whose loud frames stand this far over its floor carries voice
NOISE_ONLY_DB = 6.0  # noise alone: its 90th percentile sits ~4 dB over its 20th
MAX_FRAMES = 160  # long clips: an evenly spread subset of frames is plenty for a spectrum
FOLD_HZ = 4000.0  # the Nyquist of telephone audio, where an unfiltered upsampling mirrors it
MIRROR_RATIO = 0.7  # images 0.14-0.55 (linear, zero-order hold); voices 0.90-1.22
MIRROR_RANGE_DB = 15.0  # a band below the fold must swing this much (90th over 20th pct) ...
MIRROR_WITHIN_DB = 20.0  # ... and is compared in its frames this close to its loud level
MIN_MIRROR_FRAMES = 8
MIN_MIRROR_PAIRS = 4  # fewer comparable band pairs (a narrow voice, a 9 kHz rate): no verdict
TILT_LOW_HZ = (2000.0, 3500.0)  # the tilt: 5-7 kHz against 2-3.5 kHz, by band centre
TILT_HIGH_HZ = (5000.0, 7000.0)
VOICE_DARKEST_TILT_DB = -29.0  # the darkest wide-band voice measured (module docstring)
MUFFLED_TILT_DB = VOICE_DARKEST_TILT_DB - 3.0
FILTERED_TILT_DB = VOICE_DARKEST_TILT_DB - 13.0  # only a filter or a narrow path reads so low


@dataclass(frozen=True)
class BandwidthResult:
    """``bandwidth_hz``: top of the highest band carrying signal (≤ ``rate / 2``)."""

    bandwidth_hz: float
    nyquist_hz: float
    cliff: bool  # True when a steep filter edge (or the voice's edge over noise) set it
    imaged: bool = False  # True when what lies above FOLD_HZ mirrors the band below it
    tilt_db: float | None = None  # 5-7 kHz over 2-3.5 kHz (dB); None under a 14 kHz rate


def _band_sums(power: np.ndarray, per_band: int) -> np.ndarray:
    """Sums of ``per_band`` neighbouring bins per row (the last band may be narrower).

    ``np.add.reduceat`` takes one short inner loop per band; adding the bins of all bands
    column by column is a few strided passes, ~4x cheaper here. (It sums left to right where
    reduceat sums pairwise: the sums differ in the last bit of float32, the bandwidth not.)
    """
    n_rows, n_bins = power.shape
    whole = n_bins // per_band
    groups = power[:, : whole * per_band].reshape(n_rows, whole, per_band)
    sums = groups[:, :, 0].copy()
    for k in range(1, per_band):  # one step per bin of a band (~10), not per sample
        sums += groups[:, :, k]
    if whole * per_band < n_bins:
        rest = power[:, whole * per_band :]
        last = rest[:, 0].copy()
        for k in range(1, rest.shape[1]):
            last += rest[:, k]
        sums = np.concatenate([sums, last[:, None]], axis=1)
    return sums


def detect_bandwidth(samples: np.ndarray, rate: int) -> BandwidthResult:
    """Estimate where the signal's spectrum ends (see the module docstring for how)."""
    x = np.asarray(samples)
    nyquist = rate / 2.0
    n_fft = 1 << max(6, round(np.log2(FRAME_S * rate)))
    # Non-overlapping frames (only a long-term spectrum is wanted); pick the subset first and
    # downmix only those frames, not the whole multichannel clip.
    n_frames = x.shape[0] // n_fft
    pick: slice | np.ndarray = slice(None)
    if n_frames > MAX_FRAMES:
        pick = np.linspace(0, n_frames - 1, MAX_FRAMES).astype(int)
    block = x[: n_frames * n_fft].reshape(n_frames, n_fft, *x.shape[1:])[pick]
    if block.ndim == 3:
        block = mono(block.reshape(-1, block.shape[2])).reshape(block.shape[0], n_fft)
    block = np.asarray(block, dtype=np.float32)
    if block.shape[0] == 0:
        return BandwidthResult(nyquist, nyquist, False)
    sounding = np.einsum("ij,ij->i", block, block) > 0
    if not sounding.all():  # most takes: no digital silence among the frames, no copy
        block = block[sounding]
    if block.shape[0] == 0:
        return BandwidthResult(nyquist, nyquist, False)
    own = block.flags.owndata and block.flags.writeable  # a copy already: window it in place
    spec = np.fft.rfft(np.multiply(block, hann(n_fft), out=block if own else None), axis=1)
    power = spec.real**2 + spec.imag**2
    bin_hz = rate / n_fft
    per_band = max(1, round(BAND_HZ / bin_hz))
    band_power = _band_sums(power, per_band)
    percentiles = np.percentile(band_power, [QUIET_PERCENTILE, LEVEL_PERCENTILE], axis=0)
    quiet, level = 10.0 * np.log10(np.maximum(percentiles, 1e-30))
    n_bands = level.shape[0]
    tops = np.minimum((np.arange(n_bands) + 1) * per_band * bin_hz, nyquist)
    above_1k = tops[:-1] >= 1000.0
    tilt = _tilt_db(level, tops - per_band * bin_hz / 2.0, nyquist)

    alive = np.flatnonzero(level >= level.max() - FLOOR_DB)
    top = int(alive[-1])
    # Cliff: band b+1 lies CLIFF_DB under band b and nothing above comes back within that.
    drop = level[:-1] - _max_from(level)[1:]
    cliffs = np.flatnonzero((drop >= CLIFF_DB) & above_1k)
    if cliffs.size and int(cliffs[0]) < top:
        top = int(cliffs[0])
    # The voice's edge over a noise floor: band b clear of its floor, nothing above it. A
    # ragged last band of a few bins (the Nyquist bin alone, at 16 kHz) spreads like a voice.
    over_noise = level - quiet
    if (power.shape[1] - (n_bands - 1) * per_band) * 2 < per_band:
        over_noise[-1] = -np.inf
    edges = np.flatnonzero(
        (over_noise[:-1] >= OVER_NOISE_DB) & (_max_from(over_noise)[1:] <= NOISE_ONLY_DB) & above_1k
    )
    if edges.size and int(edges[-1]) < top:
        top = int(edges[-1])
    if tops[top] > FOLD_HZ:
        ratio = mirror_ratio(power, bin_hz, nyquist)
        if ratio is not None and ratio < MIRROR_RATIO:
            return BandwidthResult(FOLD_HZ, nyquist, False, imaged=True, tilt_db=tilt)
    return BandwidthResult(float(tops[top]), nyquist, top < int(alive[-1]), tilt_db=tilt)


def _tilt_db(level: np.ndarray, centres: np.ndarray, nyquist: float) -> float | None:
    """The summed band levels of `TILT_HIGH_HZ` over those of `TILT_LOW_HZ` (dB).

    ``level`` is each band's 90th-percentile level (dB), ``centres`` the bands' centres.
    None when the rate cannot hold the upper range.
    """
    if nyquist < TILT_HIGH_HZ[1]:
        return None

    def power(low_hz: float, high_hz: float) -> float:
        inside = (centres >= low_hz) & (centres < high_hz)
        return float(np.sum(10.0 ** (level[inside] / 10.0)))

    low, high = power(*TILT_LOW_HZ), power(*TILT_HIGH_HZ)
    if low <= 0.0:
        return None
    return float(10.0 * np.log10(max(high, 1e-30) / low))


def mirror_ratio(power: np.ndarray, bin_hz: float, nyquist: float) -> float | None:
    """How much more closely the bands above `FOLD_HZ` follow their mirror bands than others.

    ``power`` is frames x FFT bins. Per 250 Hz band below the fold that carries a signal
    (swings `MIRROR_RANGE_DB` over time), in its loud frames: the spread (standard deviation,
    dB) of the level of its mirror band above the fold minus its own level, over the smaller
    spread against the bands two bands off the mirror. The median over band pairs, or None
    when fewer than `MIN_MIRROR_PAIRS` pairs can be compared.
    """
    n_pairs = int(min(FOLD_HZ, nyquist - FOLD_HZ) // BAND_HZ)
    if n_pairs < MIN_MIRROR_PAIRS:
        return None
    offsets = np.arange(n_pairs + 1) * BAND_HZ
    edges = np.round(np.concatenate([FOLD_HZ - offsets[::-1], FOLD_HZ + offsets[1:]]) / bin_hz)
    index = np.clip(edges.astype(int), 0, power.shape[1])
    # Only the bins the bands read: a cumulative sum up to the last band's edge.
    cumulative = np.zeros((power.shape[0], int(index[-1]) + 1))
    np.cumsum(power[:, : index[-1]], axis=1, out=cumulative[:, 1:])
    bands = 10.0 * np.log10(np.maximum(np.diff(cumulative[:, index], axis=1), 1e-30))
    below = bands[:, n_pairs - 1 :: -1]  # column j: FOLD - 250(j+1) .. FOLD - 250j
    above = bands[:, n_pairs:]  # column j: FOLD + 250j .. FOLD + 250(j+1)
    quiet, loud = np.percentile(below, [QUIET_PERCENTILE, LEVEL_PERCENTILE], axis=0)
    frames = below >= loud - MIRROR_WITHIN_DB  # per pair, its loud frames
    usable = (loud - quiet >= MIRROR_RANGE_DB) & (frames.sum(axis=0) >= MIN_MIRROR_FRAMES)
    weight = frames / np.maximum(frames.sum(axis=0), 1)

    def spread(shift: int) -> np.ndarray:
        """Per pair j, the std over its loud frames of above[:, j + shift] - below[:, j]."""
        out = np.full(n_pairs, np.nan)
        lo, hi = max(0, -shift), min(n_pairs, n_pairs - shift)
        diff = above[:, lo + shift : hi + shift] - below[:, lo:hi]
        w = weight[:, lo:hi]
        mean = (diff * w).sum(axis=0)
        out[lo:hi] = np.sqrt(((diff - mean) ** 2 * w).sum(axis=0))
        return out

    control = np.fmin(spread(-2), spread(2))
    usable &= control > 0.0
    ratios = spread(0)[usable] / control[usable]
    return float(np.median(ratios)) if ratios.size >= MIN_MIRROR_PAIRS else None


def _max_from(values: np.ndarray) -> np.ndarray:
    """``out[b] = max(values[b:])``."""
    return np.maximum.accumulate(values[::-1])[::-1]

"""Is there a bass line? Music has one; a voice carries almost nothing below 75 Hz.

A voice's lowest component is its fundamental, 85 Hz and up for deep male voices, and its
power lies in the harmonics above it. Mixed music has a bass line and a kick drum in
30–75 Hz, often half the power of its loud moments. Full-mix game music that every other
cue called speech (a voice-like syllable rhythm, fast notes, no silence and no beat grid)
put a median of −3.7 to −7.1 dB of its loud frames' power there; voices stayed at −11 dB and
under, clean or in white, pink, babble and hum noise (`benchmarks/false_alarms.py`,
the dev split, `benchmarks/snr_sweep.py`), and the real recordings of
`benchmarks/real_recordings.py` show nothing there.

`bass_share_db` reads that band at 4 Hz resolution from the clip resampled to
``BASS_RATE`` (soxr), in ``FRAME_S`` frames: per frame, the band's power over the frame's
total power (from the shared spectrogram), in the loud frames of the speech. Two things
that are not a bass line are taken out first: the mains lines (±``MAINS_GUARD_HZ`` around
50 and 60 Hz) and the band's own floor (its ``FLOOR_PERCENTILE`` over the speech), which is
what steady rumble, traffic and brown noise leave. Brown noise at 0 dB SNR still reached
−10.5 dB there: the margin, and why a voice buried that deep in rumble may be called music
(it fails ``low_snr`` as well).

Most voices show no sign of a bass band in the shared spectrogram's lowest bins
(``GATE_DB``); they skip the resampling.
"""

from __future__ import annotations

import math

import numpy as np

from stages.analysis._spectra import Spectrogram, power_spectrogram

__all__ = ["BASS_HZ", "MIN_BASS_DB", "bass_share_db"]

BASS_HZ = (30.0, 75.0)
MIN_BASS_DB = -7.5  # missed music -3.7 ... -7.1 dB; voices <= -11.0; brown noise at 0 dB -10.5
BASS_RATE = 500  # Hz: the band and its neighbours, nothing above
FRAME_S = 0.256  # 4 Hz bins at BASS_RATE: the mains lines stay narrow
MAINS_HZ = (50.0, 60.0)
MAINS_GUARD_HZ = 4.0
FLOOR_PERCENTILE = 10.0
GATE_DB = -20.0  # the spectrogram's bins under the band's top: a bass line shows here first
MIN_FRAMES = 10  # loud frames needed (1.3 s of loud sound at the frame step)


def bass_share_db(
    samples: np.ndarray,
    spec: Spectrogram,
    inside: np.ndarray,
    loud: np.ndarray,
    *,
    without_hz: tuple[float, float] | None = None,
) -> float | None:
    """Median share (dB) of the loud frames' power in `BASS_HZ`, over the band's own floor.

    ``samples`` is the mono clip `spec` was computed from; ``inside`` and ``loud`` mark the
    spectrogram's frames of speech and its loud ones; ``without_hz`` leaves a range of the
    band out (a deep voice's own fundamental). None when the spectrogram already shows no
    bass (``GATE_DB``), when nothing of the band is left, or with fewer than `MIN_FRAMES`
    loud frames.
    """
    low_bins = max(1, math.floor(BASS_HZ[1] / spec.bin_hz))
    if not loud.any() or spec.rate <= 2 * BASS_RATE:
        return None
    gate = spec.power[loud, 1 : low_bins + 1].sum(axis=1) / np.maximum(spec.energy[loud], 1e-30)
    if 10.0 * math.log10(max(float(np.median(gate)), 1e-30)) < GATE_DB:
        return None
    import soxr

    low = power_spectrogram(
        soxr.resample(samples, spec.rate, BASS_RATE), BASS_RATE, frame_s=FRAME_S
    )
    if low.power.shape[0] == 0:
        return None
    bins = _band_bins(low, without_hz)
    if bins.size == 0:
        return None
    bass = low.power[:, bins].sum(axis=1)
    # Each bass frame's total power: the mean of the spectrogram frames centred in its middle
    # half (bass frame r spans r to r + 2 steps).
    centres = (np.arange(spec.power.shape[0]) * spec.hop + spec.n_fft / 2) / spec.rate
    step = low.hop / BASS_RATE
    owner = np.clip(np.floor(centres / step - 0.5).astype(np.intp), 0, low.power.shape[0] - 1)
    count = np.bincount(owner, minlength=low.power.shape[0])
    total = np.bincount(owner, weights=spec.energy, minlength=low.power.shape[0])
    judged = np.bincount(owner, weights=inside, minlength=low.power.shape[0]) > count / 2
    lit = np.bincount(owner, weights=loud, minlength=low.power.shape[0]) > count / 2
    lit &= judged & (count > 0)
    if int(lit.sum()) < MIN_FRAMES:
        return None
    floor = float(np.percentile(bass[judged], FLOOR_PERCENTILE))
    share = np.maximum(bass[lit] - floor, 0.0) / np.maximum(total[lit] / count[lit], 1e-30)
    return 10.0 * math.log10(max(float(np.median(share)), 1e-10))


def _band_bins(spec: Spectrogram, without_hz: tuple[float, float] | None = None) -> np.ndarray:
    """The bins of `BASS_HZ`, without those within `MAINS_GUARD_HZ` of a mains line (and
    without ``without_hz``)."""
    hz = np.arange(spec.power.shape[1]) * spec.bin_hz
    keep = (hz >= BASS_HZ[0]) & (hz < BASS_HZ[1])
    if without_hz is not None:
        keep &= (hz < without_hz[0]) | (hz > without_hz[1])
    for mains in MAINS_HZ:
        keep &= np.abs(hz - mains) > MAINS_GUARD_HZ
    return np.flatnonzero(keep)

"""Bandwidth: wideband speech reads wide, audio upsampled from 8 kHz reads ~4 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from stages.analysis.bandwidth import (
    FILTERED_TILT_DB,
    VOICE_DARKEST_TILT_DB,
    detect_bandwidth,
)
from tests.stages.analysis._signals import RATE, mix, pink, voice, white


@pytest.mark.parametrize("rate", [16000, 24000, 48000])
def test_upsampled_telephone_audio_ends_near_4khz(rate: int) -> None:
    import soxr

    narrow = soxr.resample(voice(5.0, seed=1), RATE, 8000)
    result = detect_bandwidth(soxr.resample(narrow, 8000, rate), rate)
    assert 3000.0 <= result.bandwidth_hz <= 4250.0


def test_wideband_speech_reads_wide() -> None:
    result = detect_bandwidth(voice(5.0, seed=2), RATE)
    assert result.bandwidth_hz >= 6500.0


def test_dark_voice_is_not_band_limited() -> None:
    # A dull microphone is a slope, not a wall.
    result = detect_bandwidth(_dull(voice(5.0, seed=2), RATE), RATE)
    assert result.bandwidth_hz >= 6500.0


def _dull(x: np.ndarray, rate: int) -> np.ndarray:
    """A dull microphone: −18 dB per octave above 2 kHz, 36 dB down at 8 kHz."""
    spec = np.fft.rfft(x.astype(np.float64))
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    spec *= np.minimum(1.0, (2000.0 / np.maximum(freqs, 1.0)) ** 3)
    return np.fft.irfft(spec, x.size).astype(np.float32)


def _filtered(**design: object) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(**design, fs=RATE, output="sos")
    return sosfilt(sos, voice(5.0, seed=2)).astype(np.float32)


@pytest.mark.parametrize(
    "design",
    [
        {"N": 8, "Wn": 4000.0},  # an 8th-order Butterworth low-pass
        {"N": 4, "Wn": [300.0, 3400.0], "btype": "bandpass"},  # a telephone band-pass
    ],
)
def test_a_low_pass_filter_leaves_no_edge_but_a_steep_tilt(design: dict) -> None:
    # The skirt keeps fricatives within FLOOR_DB and makes no cliff, so the level tests
    # read content up to 5.5 kHz and more; 5-7 kHz still sinks under any voice measured
    # (this synthetic voice is brighter than most: +1 dB unfiltered).
    result = detect_bandwidth(_filtered(**design), RATE)
    assert result.bandwidth_hz >= 5500.0
    assert result.tilt_db is not None and result.tilt_db < VOICE_DARKEST_TILT_DB


def test_a_steep_low_pass_tilts_like_no_voice() -> None:
    tilt = detect_bandwidth(_filtered(N=8, Wn=3400.0), RATE).tilt_db
    assert tilt is not None and tilt < FILTERED_TILT_DB


def test_wideband_and_dull_voices_tilt_gently() -> None:
    x = voice(5.0, seed=2)
    for samples in (x, _dull(x, RATE)):
        tilt = detect_bandwidth(samples, RATE).tilt_db
        assert tilt is not None and tilt > VOICE_DARKEST_TILT_DB


def test_no_tilt_under_a_rate_that_holds_7khz() -> None:
    import soxr

    narrow = soxr.resample(voice(3.0, seed=2), RATE, 8000)
    assert detect_bandwidth(narrow, 8000).tilt_db is None
    assert detect_bandwidth(np.zeros(RATE, dtype=np.float32), RATE).tilt_db is None


def test_noise_filled_top_after_a_cliff_is_still_band_limited() -> None:
    import soxr

    narrow = soxr.resample(voice(5.0, seed=1), RATE, 8000)
    up = soxr.resample(narrow, 8000, RATE) + 1e-3 * white(narrow.size * 2)  # −60 dBFS
    result = detect_bandwidth(up.astype(np.float32), RATE)
    assert result.bandwidth_hz <= 4250.0 and result.cliff


@pytest.mark.parametrize(("noise", "snr_db"), [("white", 30.0), ("white", 40.0), ("pink", 30.0)])
def test_upsampled_voice_under_a_later_wideband_floor_is_still_band_limited(
    noise: str, snr_db: float
) -> None:
    # Noise added after the upsampling fills 4-8 kHz well within FLOOR_DB and leaves no
    # cliff; the voice's own edge over that floor gives the bandwidth away.
    import soxr

    narrow = soxr.resample(voice(6.0, seed=3), RATE, 8000)
    up = soxr.resample(narrow, 8000, RATE)
    floor = white(up.size, seed=4) if noise == "white" else pink(up.size, seed=4)
    result = detect_bandwidth(mix(up, floor, snr_db), RATE)
    assert result.bandwidth_hz <= 4250.0 and result.cliff


@pytest.mark.parametrize(("noise", "snr_db"), [("white", 5.0), ("white", 10.0), ("pink", 10.0)])
def test_wideband_voice_in_strong_noise_is_not_called_band_limited(
    noise: str, snr_db: float
) -> None:
    # The voice sinks into the floor gradually above a few kHz: no sharp edge, no cut.
    x = voice(6.0, seed=3)
    floor = white(x.size, seed=4) if noise == "white" else pink(x.size, seed=4)
    assert detect_bandwidth(mix(x, floor, snr_db), RATE).bandwidth_hz >= 6000.0


def test_silence_reports_the_nyquist() -> None:
    assert detect_bandwidth(np.zeros(RATE), RATE).bandwidth_hz == RATE / 2


def test_stereo_reads_as_its_downmix() -> None:
    # Frames are picked before the downmix: the answer must equal the mono downmix's.
    left = voice(3.0)
    right = 0.5 * voice(3.0, seed=1)
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    mono = (stereo[:, 0] + stereo[:, 1]) * np.float32(0.5)
    assert detect_bandwidth(stereo, RATE) == detect_bandwidth(mono, RATE)


@pytest.mark.parametrize("per_band", [1, 3, 11, 16])
def test_band_sums_equal_reduceat(per_band: int) -> None:
    from stages.analysis.bandwidth import _band_sums

    power = np.random.default_rng(per_band).random((7, 1025)).astype(np.float32) ** 4
    expected = np.add.reduceat(power, np.arange(0, power.shape[1], per_band), axis=1)
    np.testing.assert_allclose(_band_sums(power, per_band), expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("seconds", [2.0, 30.0])  # under and over MAX_FRAMES frames
def test_the_callers_samples_are_left_untouched(seconds: float) -> None:
    x = (0.1 * white(int(seconds * 48000), seed=3)).astype(np.float32)
    before = x.copy()
    detect_bandwidth(x, 48000)
    np.testing.assert_array_equal(x, before)


def _independent_bands(seconds: float, rate: int, top_hz: float, *, seed: int) -> np.ndarray:
    """Noise in 250 Hz bands up to ``top_hz``, each with its own syllable-rate envelope.

    Like a voice's formants and fricatives, every band rises and falls on its own (the
    `voice` helper moves all bands together, which hides an image as well as a voice).
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    hops = np.arange(n) * 8.0 / rate  # an envelope value every 125 ms, interpolated
    pauses = np.where(rng.random(int(hops[-1]) + 2) < 0.25, -60.0, 0.0)  # all bands at once
    out = np.zeros(n)
    for low in np.arange(0.0, top_hz, 250.0):
        spec = np.fft.rfft(rng.standard_normal(n)) * ((freqs >= low) & (freqs < low + 250.0))
        steps = 10 ** ((rng.uniform(-30, 0, pauses.size) + pauses) / 20)
        out += np.fft.irfft(spec, n) * np.interp(hops, np.arange(steps.size), steps)
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def _interpolated(narrow: np.ndarray, rate: int) -> np.ndarray:
    """Upsampled from 8 kHz by linear interpolation, as pydub's ``set_frame_rate`` does."""
    n_out = narrow.size * rate // 8000
    return np.interp(np.arange(n_out) * 8000 / rate, np.arange(narrow.size), narrow).astype(
        np.float32
    )


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_unfiltered_upsampling_from_8khz_is_band_limited(rate: int) -> None:
    # Interpolation leaves a mirror image of 0-4 kHz above 4 kHz: not absent, but not signal.
    narrow = _independent_bands(6.0, 8000, 3900.0, seed=5)
    up = _interpolated(narrow, rate)
    result = detect_bandwidth(up + 1e-4 * white(up.size), rate)
    assert result.bandwidth_hz == 4000.0 and result.imaged


@pytest.mark.parametrize("factor", [2, 3, 6])
def test_repeated_samples_from_8khz_are_band_limited(factor: int) -> None:
    narrow = _independent_bands(6.0, 8000, 3900.0, seed=6)
    result = detect_bandwidth(np.repeat(narrow, factor), 8000 * factor)
    assert result.bandwidth_hz == 4000.0 and result.imaged


@pytest.mark.parametrize("snr_db", [None, 30.0, 10.0])
def test_bands_moving_on_their_own_are_not_mirror_images(snr_db: float | None) -> None:
    wide = _independent_bands(6.0, 24000, 11000.0, seed=7)
    if snr_db is not None:
        wide = mix(wide, white(wide.size, seed=8), snr_db)
    result = detect_bandwidth(wide, 24000)
    assert not result.imaged and result.bandwidth_hz >= 10000.0

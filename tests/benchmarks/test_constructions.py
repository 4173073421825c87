"""benchmarks/constructions.py: each way of building a defect builds it, on synthetic signals."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.benchmarks._scripts import load_script

RATE = 44_100


@pytest.fixture(scope="module")
def cons() -> ModuleType:
    return load_script("constructions")


def speechlike(seconds: float = 3.0, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Harmonic bursts (f0 130 Hz, 1/k up to 7 kHz) with a 3 Hz syllable envelope, peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * 130.0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 54))
    x = np.asarray(x) * np.abs(np.sin(2 * np.pi * 1.5 * t)) ** 2
    x += 1e-3 * rng.standard_normal(t.size)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def band_db(x: np.ndarray, rate: int, lo_hz: float, hi_hz: float) -> float:
    """Energy of ``x`` between ``lo_hz`` and ``hi_hz`` in dB (Hann window, edges cut)."""
    cut = x[rate // 10 : -rate // 10].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(cut * np.hanning(cut.size))) ** 2
    freqs = np.fft.rfftfreq(cut.size, 1 / rate)
    return 10 * math.log10(float(spectrum[(freqs >= lo_hz) & (freqs < hi_hz)].sum()) + 1e-30)


def peak_hz(x: np.ndarray, rate: int, lo_hz: float = 0.0, hi_hz: float = 1e9) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    spectrum[(freqs < lo_hz) | (freqs > hi_hz)] = 0
    return float(freqs[int(np.argmax(spectrum))])


# --- clipping -----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(share=st.floats(0.001, 0.05), seed=st.integers(0, 1000))
def test_hard_clipping_flattens_the_share_asked_for(
    cons: ModuleType, share: float, seed: int
) -> None:
    x = np.random.default_rng(seed).laplace(0, 0.1, 40_000).astype(np.float32)
    y = cons.clip_hard(x, share)
    assert float(np.max(np.abs(y))) == 1.0
    assert float(np.mean(np.abs(y) >= 1.0)) == pytest.approx(share, rel=0.05, abs=5e-5)


def test_clipping_at_099_has_its_flat_tops_there(cons: ModuleType) -> None:
    y = cons.clip_hard(speechlike(), 0.01, ceiling=0.99)
    assert float(np.max(np.abs(y))) == pytest.approx(0.99)
    assert float(np.mean(np.abs(y) >= np.float32(0.99))) == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("drop_db", [3.0, 7.5, 12.0])
def test_hidden_clipping_peaks_at_the_chosen_gain(cons: ModuleType, drop_db: float) -> None:
    y = cons.hide(cons.clip_hard(speechlike(), 0.01), drop_db)
    peak = float(np.max(np.abs(y)))
    assert 20 * math.log10(peak) == pytest.approx(-drop_db, abs=1e-4)
    assert float(np.mean(np.abs(y) >= peak * (1 - 1e-6))) == pytest.approx(0.01, rel=0.05)


def test_hidden_drop_stays_in_3_to_12_db(cons: ModuleType) -> None:
    rng = np.random.default_rng(0)
    drops = [cons.hidden_drop(rng) for _ in range(200)]
    assert 3.0 <= min(drops) < 4.0 and 11.0 < max(drops) <= 12.0


def test_one_sided_clipping_hits_the_positive_rail_only(cons: ModuleType) -> None:
    y = cons.clip_one_sided(speechlike(), 0.01)
    assert float(np.max(y)) == 1.0
    assert float(np.mean(y >= 1.0)) == pytest.approx(0.01, rel=0.05)
    assert float(np.min(y)) >= -0.9 - 1e-6
    assert int(np.sum(y <= np.min(y) + 1e-7)) == 1  # no flat bottom


def test_pydub_gain_saturates_at_the_int16_rails(cons: ModuleType) -> None:
    x = speechlike()  # peak 0.5: +12 dB drives it to ~2
    y = cons.clip_pydub_gain(x, RATE, 12.0)
    rails = np.abs(y) >= 32767 / 32768
    assert 0.001 < float(np.mean(rails)) < 0.5
    quiet = np.abs(x) < 0.1
    gain = np.median(y[quiet & (np.abs(x) > 0.01)] / x[quiet & (np.abs(x) > 0.01)])
    assert 20 * math.log10(gain) == pytest.approx(12.0, abs=0.1)


def test_soft_clipping_has_no_flat_top(cons: ModuleType) -> None:
    y = cons.clip_soft(speechlike())
    peak = float(np.max(np.abs(y)))
    assert peak < 0.98
    assert int(np.sum(np.abs(y) >= peak - 1e-6)) <= 2


# --- band_limited -------------------------------------------------------------------------------

FILTERED = ["band_soxr", "band_ffmpeg", "band_resample_poly", "band_librosa", "band_mp3"]
IMAGING = ["band_pydub", "band_pydub_ulaw", "band_interp", "band_hold"]


def two_tones(rate: int, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 1000 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(
        np.float32
    )


@pytest.mark.parametrize("path", FILTERED + IMAGING)
@pytest.mark.parametrize("rate", [16_000, 24_000, 48_000])
def test_8k_paths_keep_length_and_the_band_under_4k(cons: ModuleType, path: str, rate: int) -> None:
    x = two_tones(rate)
    y = getattr(cons, path)(x, rate)
    assert y.shape == x.shape and y.dtype == np.float32
    # the 1 kHz tone survives within 1.5 dB (linear interpolation attenuates a little)
    assert band_db(y, rate, 900, 1100) == pytest.approx(band_db(x, rate, 900, 1100), abs=1.5)


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_filtered_8k_paths_leave_nothing_above_4k(cons: ModuleType, path: str, rate: int) -> None:
    t = np.arange(2 * rate) / rate
    x = (two_tones(rate) + 0.2 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    y = getattr(cons, path)(x, rate)
    inside = band_db(y, rate, 500, 3700)
    assert band_db(y, rate, 4300, rate / 2) < inside - 40.0


@pytest.mark.parametrize("path", IMAGING)
@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_imaging_8k_paths_leave_images_above_4k(cons: ModuleType, path: str, rate: int) -> None:
    x = two_tones(rate)
    y = getattr(cons, path)(x, rate)
    inside = band_db(y, rate, 500, 3700)
    images = band_db(y, rate, 4300, rate / 2)
    assert images > inside - 30.0  # the 3 kHz tone's image at 5 kHz alone is ~ −10 dB
    assert peak_hz(y, rate, 4300, 6000) == pytest.approx(5000.0, abs=20.0)


def test_sample_hold_refuses_a_rate_that_is_no_multiple_of_8k(cons: ModuleType) -> None:
    with pytest.raises(ValueError, match="multiple of 8000"):
        cons.band_hold(two_tones(44_100), 44_100)


FILTERS: dict[str, Callable[[ModuleType], Callable[[np.ndarray, int], np.ndarray]]] = {
    "butter8_4k": lambda cons: cons.band_butter,
    "butter8_3k4": lambda cons: cons.low_pass(8, 3400.0),
    "cheby6_3k8": lambda cons: cons.low_pass(6, 3800.0, ftype="cheby1", rp=1.0),
    "fir_4k": lambda cons: cons.band_fir,
    "tel_bandpass": lambda cons: cons.band_telephone,
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_cut_above_4k(cons: ModuleType, name: str) -> None:
    rate = 44_100
    t = np.arange(2 * rate) / rate
    x = (two_tones(rate) + 0.2 * np.sin(2 * np.pi * 8000 * t)).astype(np.float32)
    y = FILTERS[name](cons)(x, rate)
    assert band_db(y, rate, 7900, 8100) < band_db(x, rate, 7900, 8100) - 30.0


# --- hum ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("under_db", [10.0, 20.0, 30.0])
def test_hum_sits_at_the_level_asked_for_under_the_speech(
    cons: ModuleType, under_db: float
) -> None:
    x = speechlike()
    hum = cons.hum_wave(x.size, RATE, 50.0, cons.HARMONICS_5, np.random.default_rng(0))
    assert cons.rms_db(hum) == pytest.approx(0.0, abs=1e-3)
    y = cons.add_hum(x, RATE, hum, under_db)
    level = cons.mes.active_level_db(x, RATE)
    assert cons.rms_db(y - x) == pytest.approx(level - under_db, abs=0.01)


def test_rectified_hum_has_no_fundamental(cons: ModuleType) -> None:
    y = cons.rectified_hum(4 * RATE, RATE, 50.0, np.random.default_rng(1))
    assert band_db(y, RATE, 45, 55) < band_db(y, RATE, 95, 105) - 40.0
    assert peak_hz(y, RATE) == pytest.approx(100.0, abs=0.5)


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_buzz_has_odd_harmonics_only(cons: ModuleType, hz: float) -> None:
    y = cons.hum_wave(4 * RATE, RATE, hz, cons.ODD_BUZZ, np.random.default_rng(2))
    odd, even = band_db(y, RATE, 3 * hz - 3, 3 * hz + 3), band_db(y, RATE, 2 * hz - 3, 2 * hz + 3)
    assert even < odd - 40.0


def test_drifting_hum_swings_0_2_hz_around_the_mains(cons: ModuleType) -> None:
    rate = 8000
    y = cons.hum_wave(21 * rate, rate, 50.0, ((1, 1.0),), np.random.default_rng(3), drift_hz=0.2)
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    exact = up + y[up] / (y[up] - y[up + 1])  # crossing times by linear interpolation
    periods = np.diff(exact) / rate
    per_second = [1 / periods[int(a) : int(a) + 50].mean() for a in range(0, periods.size - 50, 50)]
    assert np.mean(per_second) == pytest.approx(50.0, abs=0.03)
    assert 0.3 < max(per_second) - min(per_second) < 0.42


# --- no speech ----------------------------------------------------------------------------------


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
@pytest.mark.parametrize("level", [-50.0, -25.0])
def test_noise_has_its_stated_level(cons: ModuleType, color: str, level: float) -> None:
    y = cons.colored_noise(10 * 16000, 16000, color, level, np.random.default_rng(4))
    assert cons.rms_db(y) == pytest.approx(level, abs=0.01)


@pytest.mark.parametrize(("color", "slope_db"), [("white", 0.0), ("pink", 10.0), ("brown", 20.0)])
def test_noise_colours_fall_at_their_slope(cons: ModuleType, color: str, slope_db: float) -> None:
    rate = 16000
    y = cons.colored_noise(10 * rate, rate, color, -30.0, np.random.default_rng(5))
    # equal-width bands a decade apart: the power density ratio is the slope per decade
    low, high = band_db(y, rate, 180, 220), band_db(y, rate, 1980, 2020)
    assert low - high == pytest.approx(slope_db, abs=2.0)


def test_dither_sits_at_minus_90_dbfs(cons: ModuleType) -> None:
    y = cons.white_floor(160_000, -90.0, np.random.default_rng(6))
    assert cons.rms_db(y) == pytest.approx(-90.0, abs=0.1)


@pytest.mark.parametrize("freqs", [(1000.0,), (350.0, 440.0)])
def test_tones_have_their_stated_level(cons: ModuleType, freqs: tuple[float, ...]) -> None:
    assert cons.rms_db(cons.tones(16000 * 10, 16000, freqs, -20.0)) == pytest.approx(-20, abs=0.02)


@pytest.mark.parametrize(
    ("name", "on_share", "pair"),
    [
        ("busy_us", 0.5, (480.0, 620.0)),
        ("busy_eu", 0.5, (425.0, 425.0)),
        ("ringback_us", 1 / 3, (440.0, 480.0)),
        ("ringback_eu", 0.2, (425.0, 425.0)),
        ("dial_us", 1.0, (350.0, 440.0)),
    ],
)
def test_call_tones_have_their_cadence_and_frequencies(
    cons: ModuleType, name: str, on_share: float, pair: tuple[float, float]
) -> None:
    rate = 8000
    y = cons.call_tone(30 * rate, rate, name)
    frames = np.abs(y[: y.size // 80 * 80].reshape(-1, 80)).max(axis=1)
    assert float(np.mean(frames > 1e-3)) == pytest.approx(on_share, abs=0.02)
    assert peak_hz(y, rate, 0, (pair[0] + pair[1]) / 2 + 1) == pytest.approx(pair[0], abs=1.0)
    assert peak_hz(y, rate, (pair[0] + pair[1]) / 2 - 1) == pytest.approx(pair[1], abs=1.0)


def test_dtmf_digits_are_one_low_and_one_high_tone(cons: ModuleType) -> None:
    rate = 8000
    y = cons.dtmf(10 * rate, rate, np.random.default_rng(7))
    on = np.flatnonzero(np.abs(y) > 0)
    assert 0.1 < on.size / y.size < 0.6
    first = y[on[0] : on[0] + round(0.06 * rate)]
    assert min(abs(peak_hz(first, rate, 600, 1000) - f) for f in cons.DTMF_LOW) < 20
    assert min(abs(peak_hz(first, rate, 1150, 1600) - f) for f in cons.DTMF_HIGH) < 20


def test_beeps_are_1k_and_gated(cons: ModuleType) -> None:
    rate = 16000
    y = cons.beeps(10 * rate, rate, np.random.default_rng(8))
    assert peak_hz(y, rate) == pytest.approx(1000.0, abs=2.0)
    assert 0.03 < float(np.mean(np.abs(y) > 0)) < 0.5


@pytest.mark.parametrize("fn", ["chords", "arpeggio"])
def test_music_has_its_stated_level(cons: ModuleType, fn: str) -> None:
    y = getattr(cons, fn)(10 * 16000, 16000, np.random.default_rng(9))
    assert cons.rms_db(y) == pytest.approx(-20.0, abs=0.01)
    assert float(np.max(np.abs(y))) < 1.0


def test_clicks_are_short_and_in_silence(cons: ModuleType) -> None:
    rate = 16000
    y = cons.clicks(10 * rate, rate, np.random.default_rng(10))
    assert float(np.mean(y != 0)) < 0.01
    assert -21.0 < 20 * math.log10(float(np.max(np.abs(y)))) < 3.0


def test_chirp_sweeps_the_band_at_its_level(cons: ModuleType) -> None:
    rate = 16000
    y = cons.chirp(10 * rate, rate)
    assert cons.rms_db(y) == pytest.approx(-15.0, abs=0.05)
    assert peak_hz(y[: rate // 2], rate) < 500 and peak_hz(y[-rate // 2 :], rate) > 6500


# --- takes, the table and building --------------------------------------------------------------


def fake_prompts(rate: int = RATE) -> list[np.ndarray]:
    return [speechlike(1.0 + 0.1 * k, rate, seed=k) for k in range(12)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_voice_take_is_6_to_10_s_with_quiet_edges(cons: ModuleType, seed: int) -> None:
    x = cons.voice_take(fake_prompts(), RATE, np.random.default_rng(seed))
    assert 6.0 <= x.size / RATE <= 10.0
    assert 20 * math.log10(float(np.max(np.abs(x)))) == pytest.approx(cons.TAKE_PEAK_DBFS, abs=1e-3)
    level = cons.mes.active_level_db(x, RATE)
    edge = round(cons.EDGE_S * RATE)
    for quiet in (x[: edge - 10], x[-edge + 10 :]):  # room tone only
        assert cons.rms_db(quiet) == pytest.approx(level - cons.ROOM_TONE_UNDER_DB, abs=3.0)


def test_construction_table_is_complete_and_unique(cons: ModuleType) -> None:
    names = [(c.check, c.name) for c in cons.CONSTRUCTIONS]
    assert len(names) == len(set(names))
    assert {c.check for c in cons.CONSTRUCTIONS} == set(cons.CHECKS)
    band = {c.name for c in cons.CONSTRUCTIONS if c.check == "band_limited"}
    assert {"soxr", "pydub", "pydub_ulaw", "np_interp", "sample_hold", "mp3_8k"} <= band
    informative = {c.name for c in cons.CONSTRUCTIONS if c.informative}
    assert informative == {
        "butter8_4k",
        "butter4_4k",
        "butter8_3k4",
        "cheby6_3k8",
        "fir_4k",
        "tel_bandpass",
        "tanh_soft",
    }
    # a control is written like its construction: same rates, format and floor
    for c in cons.CONSTRUCTIONS:
        ctl = c.control()
        if c.check == "no_speech":
            assert (ctl.subtype, ctl.variant_kind) == ("PCM_16", "")
            continue
        assert (ctl.subtype, ctl.floor_dbfs) == (c.subtype, c.floor_dbfs)
        written = {ctl.output_rate(v, RATE) for v in ctl.variants}
        assert {c.output_rate(c.variant(i), RATE) for i in range(6)} <= written


def test_every_construction_writes_the_promised_rate_and_format(
    cons: ModuleType, tmp_path: Path
) -> None:
    takes = [cons.voice_take(fake_prompts(), RATE, np.random.default_rng(k)) for k in range(2)]
    bank = cons.Bank(["va", "vb"], takes, RATE)
    subtypes = {"PCM_16": "PCM_16", "PCM_24": "PCM_24", "FLOAT": "FLOAT", "MP3": "MPEG_LAYER_III"}
    for c in [
        *cons.CONSTRUCTIONS,
        *{c.control().name: c.control() for c in cons.CONSTRUCTIONS}.values(),
    ]:
        control = c.name if c.check == "control" else ""
        folder = str(tmp_path / c.check / c.name)
        rows = cons.build_construction(c, bank, folder, 5, control_of=control)
        assert len(rows) == 2 * (len(set(c.variants)) if control else 1)
        for row in rows:
            path = cons.take_path(row["file"])
            info = sf.info(str(path))
            assert info.samplerate == c.output_rate(row["variant"], RATE), c.name
            assert info.subtype == subtypes[c.subtype], c.name
            y, _ = sf.read(str(path), dtype="float32")
            assert (np.all(np.isfinite(y)) and np.any(y != 0)) or c.name == "silence", c.name


def test_snr_takes_are_labelled_both_ways(cons: ModuleType, tmp_path: Path) -> None:
    takes = [cons.voice_take(fake_prompts(), RATE, np.random.default_rng(k)) for k in range(2)]
    rows = cons.snr_takes(cons.Bank(["va", "vb"], takes, RATE), 16000, str(tmp_path), 3)
    assert len(rows) == 2 * 2 * len(cons.SNR_LEVELS_DB)
    for row in rows:
        assert row["snr_a"] == pytest.approx(row["nominal_db"], abs=0.01)
        assert row["snr_b"] < row["snr_a"] - 0.5  # the take's pauses dilute its plain RMS
        y, rate = sf.read(cons.take_path(row["file"]), dtype="float32")
        assert rate == 16000 and float(np.max(np.abs(y))) < 1.0


def test_variants_rotate_over_the_voices_from_row_to_row(cons: ModuleType) -> None:
    hum = [c for c in cons.CONSTRUCTIONS if c.check == "hum"]
    firsts = {c.variant(0 + cons.shift_of(c)) for c in hum}
    assert firsts == set(cons.HUM_UNDER_DB)  # voice 0 meets every level somewhere
    for c in hum:
        plan = [c.variant(i + cons.shift_of(c)) for i in range(12)]
        assert sorted(set(plan)) == sorted(cons.HUM_UNDER_DB) and plan.count(plan[0]) == 4


def test_twins_are_the_same_voices_at_the_same_rates(cons: ModuleType) -> None:
    soxr = next(c for c in cons.CONSTRUCTIONS if c.name == "soxr")
    takes = [{"voice": "a", "variant": 16000.0}, {"voice": "b", "variant": 48000.0}]
    control = [{"voice": v, "variant": r} for v in "abc" for r in (16000.0, 24000.0, 48000.0)]
    assert cons.twins(control, takes, soxr) == [control[0], control[5]]


def test_check_table_counts_catches_errors_and_control_false_alarms(cons: ModuleType) -> None:
    profile = "tencent-vod-voice"
    soxr = next(c for c in cons.CONSTRUCTIONS if c.name == "soxr")
    pydub = next(c for c in cons.CONSTRUCTIONS if c.name == "pydub")
    ctl = soxr.control().name
    caught = [("band_limited", "error")]

    def row(c: Any, voice: str, findings: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "profile": profile,
            "check": "band_limited",
            "construction": c.name,
            "variant": 16000.0,
            "voice": voice,
            "findings": findings,
            "control_of": "",
        }

    scored = [
        row(soxr, "a", caught),
        row(soxr, "b", [("band_limited", "warning")]),
        row(pydub, "a", [("too_short", "error")]),
        row(pydub, "b", []),
        {**row(soxr, "a", caught), "check": "control", "construction": ctl, "control_of": ctl},
        {**row(soxr, "b", []), "check": "control", "construction": ctl, "control_of": ctl},
    ]
    lines = cons.check_table(scored, profile, "band_limited")
    soxr_line = next(line for line in lines if line.startswith("soxr"))
    assert soxr_line.split()[1:5] == ["2", "2/2", "1", "1/2"]
    pydub_line = next(line for line in lines if line.startswith("pydub"))
    assert pydub_line.split()[1:5] == ["2", "0/2", "0", "1/2"]
    assert pydub_line.endswith("| too_short 1")
    assert "worst pydub 0/2 caught" in lines[-1] and "controls 1/2" in lines[-1]

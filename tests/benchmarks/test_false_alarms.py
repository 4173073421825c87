"""benchmarks/false_alarms.py: its transformations and take recipe, on synthetic signals."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.benchmarks._scripts import load_script

RATE = 16000


@pytest.fixture(scope="module")
def fa() -> ModuleType:
    return load_script("false_alarms")


def tone(hz: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spectrum))])


def fake_prompts(rate: int = RATE) -> list[np.ndarray]:
    """Three 'prompts': harmonic bursts with a syllable envelope, cut to their sound."""
    prompts = []
    for f0 in (120.0, 150.0, 180.0):
        t = np.arange(round(1.5 * rate)) / rate
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
        prompts.append((0.2 * x * np.abs(np.sin(2 * np.pi * 2.0 * t))).astype(np.float32))
    return prompts


@pytest.mark.parametrize("factor", [0.75, 1.25])
def test_time_stretch_changes_duration_not_pitch(fa: ModuleType, factor: float) -> None:
    x = tone(440.0, 2.0)
    y = fa.time_stretch(x, RATE, factor)
    assert abs(y.size - x.size / factor) <= 0.02 * x.size
    assert abs(peak_hz(y[2000:-2000]) - 440.0) < 8.0


@pytest.mark.parametrize("semitones", [-3.0, 3.0])
def test_pitch_shift_moves_pitch_not_duration(fa: ModuleType, semitones: float) -> None:
    x = tone(440.0, 2.0)
    y = fa.pitch_shift(x, RATE, semitones)
    assert y.size == x.size
    assert abs(peak_hz(y[2000:-2000]) - 440.0 * 2 ** (semitones / 12)) < 8.0


@pytest.mark.parametrize("rt60_s", [0.2, 0.5])
def test_reverb_tail_decays_60_db_in_rt60(fa: ModuleType, rt60_s: float) -> None:
    impulse = np.zeros(RATE, np.float32)
    impulse[0] = 1.0
    ir = fa.reverb(impulse, RATE, rt60_s, np.random.default_rng(0)).astype(np.float64)
    tail = ir[1:]  # the direct sound apart
    # Schroeder backward integration: the decay slope between -5 and -25 dB, extrapolated.
    energy = np.cumsum(tail[::-1] ** 2)[::-1]
    db = 10 * np.log10(energy / energy[0] + 1e-30)
    t5, t25 = np.argmax(db <= -5.0), np.argmax(db <= -25.0)
    measured = 3.0 * (t25 - t5) / RATE
    assert measured == pytest.approx(rt60_s, rel=0.2)
    assert ir[0] == pytest.approx(1.0)


def test_low_cut_removes_rumble_and_keeps_the_voice_band(fa: ModuleType) -> None:
    low, voice = tone(30.0, 2.0), tone(1000.0, 2.0)
    y_low, y_voice = fa.low_cut(low, RATE, 100.0), fa.low_cut(voice, RATE, 100.0)
    rms = lambda x: float(np.sqrt(np.mean(np.square(x[RATE // 2 :], dtype=np.float64))))  # noqa: E731
    assert 20 * math.log10(rms(y_low) / rms(low)) < -35.0  # 4th order, 1.7 octaves under
    assert 20 * math.log10(rms(y_voice) / rms(voice)) == pytest.approx(0.0, abs=0.1)


@given(peak_dbfs=st.floats(-40.0, -6.0))
@settings(max_examples=20, deadline=None)
def test_peak_to_sets_the_peak(fa: ModuleType, peak_dbfs: float) -> None:
    y = fa.peak_to(tone(300.0, 0.5), peak_dbfs)
    assert 20 * math.log10(float(np.max(np.abs(y)))) == pytest.approx(peak_dbfs, abs=1e-3)


@pytest.mark.parametrize("codec", ["mp3", "ogg"])
def test_lossy_round_trip_lands_near_the_bit_rate(
    fa: ModuleType, codec: str, tmp_path: Path
) -> None:
    import soundfile as sf

    x = np.concatenate(fake_prompts(44100)) * np.float32(2.0)
    path = str(tmp_path / f"take.{codec}")
    kbps = fa.write_take(path, x, 44100, codec=codec, kbps=96.0)
    low = 48.0 if codec == "mp3" else 30.0  # Vorbis is variable-rate: simple content costs less
    assert kbps is not None and low <= kbps <= 160.0
    y, rate = sf.read(path, dtype="float32")
    assert rate == 44100 and abs(y.shape[0] - x.size) < 0.1 * x.size


def test_quiet_takes_are_written_in_24_bits(fa: ModuleType, tmp_path: Path) -> None:
    import soundfile as sf

    fa.write_take(str(tmp_path / "q.wav"), fa.peak_to(tone(300.0, 0.5), -36.0), RATE, codec=None)
    fa.write_take(str(tmp_path / "n.wav"), fa.peak_to(tone(300.0, 0.5), -12.0), RATE, codec=None)
    assert sf.info(str(tmp_path / "q.wav")).subtype == "PCM_24"
    assert sf.info(str(tmp_path / "n.wav")).subtype == "PCM_16"


def test_ac_coupling_removes_a_bias(fa: ModuleType) -> None:
    x = tone(200.0, 1.0) + np.float32(0.05)
    y = fa.ac_coupled(x, RATE)
    assert abs(float(y[RATE // 4 : -RATE // 4].mean())) < 1e-3


@pytest.mark.parametrize(
    "transforms", [["none"], ["dc"], ["gated_dc"], ["rate48", "quiet"], ["lowcut", "reverb"]]
)
def test_takes_are_clean_by_construction(fa: ModuleType, transforms: list[str]) -> None:
    voice = fa.Voice("fake", "espeak", "x", "en")
    x, rate, label = fa.build_take(voice, fake_prompts(), RATE, transforms, (1, 2))
    assert rate == (48000 if "rate48" in transforms else RATE)
    assert 50.0 <= label["floor_under_speech_db"] <= 70.0
    peak = 20 * math.log10(float(np.max(np.abs(x - np.median(x)))))
    low, high = (-40.0, -30.0) if "quiet" in transforms else (-30.0, -10.0)
    assert low - 0.5 <= peak <= high + 0.5
    lead = x[: round(0.25 * rate)]  # the lead-in: noise floor (and a constant DC) only
    if "dc" in transforms:
        assert float(lead.mean()) == pytest.approx(label["dc"], abs=2e-4)
    else:
        assert abs(float(lead.mean())) < 1e-4
    if "gated_dc" in transforms:  # the bias sits inside the prompts, not in the pauses
        sound = np.abs(x) > 0.1 * float(np.max(np.abs(x)))
        assert float(x[sound].mean()) * label["gated_dc"] > 0


def test_transforms_never_pair_exclusive_ones(fa: ModuleType) -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        picked = set(fa.plan_transforms(rng))
        assert picked <= set(fa.TRANSFORMS)
        for pair in ({"quiet", "loud"}, {"mp3", "ogg"}, {"rate44", "rate48"}):
            assert not pair <= picked
        assert "none" not in picked or picked == {"none"}


def test_band_limited_is_expected_only_above_the_source_edge(fa: ModuleType) -> None:
    narrow = {"source_band_hz": 3600.0}
    assert fa.expected(narrow, "tencent-vod-voice", "band_limited")  # limit 5500 Hz
    assert not fa.expected(narrow, "aliyun-voice", "band_limited")  # 8 kHz: limit 3200 Hz
    assert not fa.expected(narrow, "tencent-vod-voice", "no_speech")
    assert not fa.expected({"source_band_hz": None}, "tencent-vod-voice", "band_limited")

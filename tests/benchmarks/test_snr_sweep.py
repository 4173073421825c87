"""benchmarks/snr_sweep.py: its clip builder labels SNR exactly, on synthetic voices."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

from tests.benchmarks._scripts import load_script

RATE = 16000


@pytest.fixture(scope="module")
def sweep() -> ModuleType:
    return load_script("snr_sweep")


def fake_voice(sweep: ModuleType, name: str, f0: float) -> object:
    """Harmonic bursts with a syllable-rate envelope, cut to their sound: a stand-in voice."""
    prompts = []
    for k in range(4):
        t = np.arange(round((1.0 + 0.2 * k) * RATE)) / RATE
        x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 12))
        prompts.append((0.2 * x * np.abs(np.sin(2 * np.pi * 3.0 * t))).astype(np.float32))
    return sweep.Voice(name, name, tuple(prompts))


@pytest.fixture(scope="module")
def voices(sweep: ModuleType) -> list[object]:
    return [fake_voice(sweep, f"v{k}", 100.0 + 23.0 * k) for k in range(6)]


@pytest.mark.parametrize("noise", ["white", "pink", "brown", "babble", "babble3", "hum"])
@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_clip_is_labelled_with_the_snr_it_was_built_at(
    sweep: ModuleType, voices: list[object], noise: str, rate: int
) -> None:
    rng = np.random.default_rng([1, rate, len(noise)])
    audio, label = sweep.build_clip(rng, voices[0], voices, noise=noise, snr_db=5.0, rate=rate)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert label["rate"] == rate and label["noise_type"] == noise
    assert label["duration_s"] == pytest.approx(audio.size / rate, abs=1e-3)
    # The label is measured, not assumed: it equals the nominal SNR by construction.
    assert label["snr_db"] == pytest.approx(5.0, abs=0.01)
    assert float(np.max(np.abs(audio))) <= 0.9 + 1e-6
    lead = round(label["speech_start_s"] * rate)
    assert 0.1 <= label["speech_start_s"] <= 2.0 + 1e-6
    # Before the speech there is noise only, at the labelled noise level (within the
    # fluctuation of a short stretch; hum and babble are not steady, so only a loose check).
    if noise in ("white", "pink") and lead > rate // 5:
        lead_db = 10 * math.log10(float(np.mean(np.square(audio[:lead], dtype=np.float64))))
        assert lead_db == pytest.approx(label["noise_level_dbfs"], abs=1.5)


def test_babble_never_holds_the_speakers_own_voice(sweep: ModuleType, voices: list[object]) -> None:
    # With only the speaker's own family to draw from, babble has nobody to use: an error.
    own = [voices[0], sweep.Voice("v0-copy", "v0", voices[0].prompts)]  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        sweep.build_clip(rng, voices[0], own, noise="babble", snr_db=0.0, rate=RATE)


def test_brown_noise_power_falls_6_db_per_octave(sweep: ModuleType) -> None:
    y = sweep.brown(np.random.default_rng(0), 8 * RATE, RATE)
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.size, 1 / RATE)

    def band(lo: float) -> float:
        return float(spec[(freqs >= lo) & (freqs < 2 * lo)].mean())

    assert 10 * math.log10(band(200.0) / band(400.0)) == pytest.approx(6.0, abs=1.0)
    # Nothing under BROWN_LOW_HZ: the chain's rumble high-pass would remove it unseen.
    assert float(spec[freqs < sweep.BROWN_LOW_HZ].sum()) < 1e-9 * float(spec.sum())
    assert float(np.mean(y * y)) == pytest.approx(1.0, rel=1e-3)


def test_plan_rotates_rates_and_fills_every_cell(sweep: ModuleType) -> None:
    items = sweep.plan(["white", "hum"], [0.0, 5.0], 3)
    assert len(items) == 2 * 2 * 3
    assert {rate for _, _, rate in items} == set(sweep.RATES)
    assert {(n, s) for n, s, _ in items} == {(n, s) for n in ("white", "hum") for s in (0.0, 5.0)}


def test_table_reports_per_cell_medians(sweep: ModuleType) -> None:
    rows = [
        {
            "noise_type": "white",
            "nominal_snr_db": 0.0,
            "snr_db": 0.2,
            "rate": 8000,
            "metrics": {"snr_db": 0.2 + e},
            "codes": codes,
        }
        for e, codes in ((-2.0, ["low_snr"]), (-1.0, ["hum"]), (3.0, ["multiple_speakers"]))
    ]
    text = sweep.table(rows)
    assert "white       0 dB" in text
    assert "median  -1.00" in text
    assert "  2/3" in text  # low_snr or multiple_speakers: two of the three clips

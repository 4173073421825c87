"""Known answers for the learned speech/music check's features, and that it separates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis import music, speech
from stages.analysis._spectra import power_spectrogram
from tests.conftest import tone
from tests.stages.analysis._signals import RATE, voice, white
from tests.stages.analysis.test_speech import chords, stressed_voice


def features(x: np.ndarray, rate: int = RATE) -> dict[str, float]:
    """`music.music_features` of the whole of ``x``, cues measured as the detector does."""
    spec = power_spectrogram(x, rate)
    bands = speech.modulation_bands(spec)
    inside = np.ones(spec.power.shape[0], dtype=bool)
    energy = spec.energy
    loud = (energy >= np.median(energy)) & (energy >= energy.max() * 1e-4)
    lag = max(1, round(speech.LAG_S / spec.frame_s))
    persistence, _ = speech._persistence(spec.power, loud, lag, spec.bin_hz)
    values = music.music_features(
        spec,
        bands.power,
        inside,
        loud,
        modulation_db=speech.syllabic_modulation_db(bands, inside),
        persistence=persistence,
        dip_db=speech.syllabic_dip_db(bands, inside),
        beat=speech.beat_strength(bands, inside),
        lines=speech.spectral_lines(spec.power, loud, spec.bin_hz),
        peak_spread_db=speech.peak_spread_db(bands, inside),
    )
    assert values.shape == (len(music.FEATURES),)
    assert np.all(np.isfinite(values))
    return dict(zip(music.FEATURES, values.tolist(), strict=True))


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_a_steady_tone_has_no_flux_and_no_low_energy_frames(rate: int) -> None:
    f = features(tone(440.0, 8.0, rate), rate)
    # Only window leakage far under the line flickers: flux and cepstra barely move, where
    # white noise measured ≈ 4.8 dB and ≈ 4-5.
    assert f["flux_mean"] < 1.0
    assert max(f[f"c{k}_std"] for k in range(1, 7)) < 2.0
    assert f["centroid_std"] < 0.01
    assert f["rolloff_std"] == 0.0
    assert f["low_energy"] == 0.0
    assert f["mod4"] < 0.05  # no modulation at the syllable rate


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_white_noise_has_a_flat_envelope_spectrum(seed: int) -> None:
    f = features(0.1 * white(8 * RATE, seed=seed))
    # Frame-to-frame scatter modulates the envelope a little at every rate, 3-6 Hz included.
    assert 0.03 < f["mod4"] < 0.15
    assert f["low_energy"] < 0.05  # frames scatter ±1-2 dB around the mean, never -3 dB
    assert f["flux_mean"] > 1.0  # the periodogram of noise changes every frame (dB)


def test_a_synthetic_voice_stops_between_syllables() -> None:
    v = features(voice(8.0, seed=3))
    tone_f = features(tone(440.0, 8.0, RATE))
    noise_f = features(0.1 * white(8 * RATE))
    assert v["low_energy"] > 0.2  # pauses and stops: many frames under half the mean
    assert v["mod4"] > 2 * noise_f["mod4"]  # syllables at 2-8 Hz
    assert v["flux_mean"] > tone_f["flux_mean"] + 1.0


def probability(x: np.ndarray) -> float:
    return music.music_probability(np.array(list(features(x).values())))


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_the_check_separates_a_chord_sequence_from_a_voice(seed: int) -> None:
    assert probability(voice(10.0, seed=seed)) < 0.5
    assert probability(stressed_voice(6.0, seed=seed)) < 0.5
    assert probability(chords(10.0)) >= music.MUSIC_THRESHOLD


def test_probability_is_a_logistic_of_the_standardised_features() -> None:
    assert music.music_probability(music.MEAN) == pytest.approx(1 / (1 + np.exp(-music.BIAS)))
    assert 0.5 < music.MUSIC_THRESHOLD < 1.0
    assert music.MEAN.shape == music.SCALE.shape == music.WEIGHTS.shape == (len(music.FEATURES),)


@settings(max_examples=25, deadline=None)
@given(
    dur_s=st.floats(0.1, 3.0),
    rate=st.sampled_from([8000, 16000, 44100]),
    gap=st.booleans(),
    seed=st.integers(0, 3),
)
def test_features_are_finite_on_short_gapped_clips(
    dur_s: float, rate: int, gap: bool, seed: int
) -> None:
    x = voice(dur_s, rate, seed=seed)
    if gap:  # digital silence in the middle
        x[x.size // 3 : 2 * x.size // 3] = 0.0
    f = features(x, rate)
    assert 0.0 <= f["low_energy"] <= 1.0
    assert 0.0 <= music.music_probability(np.array(list(f.values()))) <= 1.0

"""The bass-line cue: music's power under 75 Hz, which a voice does not have."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis._spectra import power_spectrogram
from stages.analysis.bass import MIN_BASS_DB, bass_share_db
from stages.analysis.speech import detect_speech
from tests.stages.analysis._signals import RATE, hum, mix, voice


def bass_line(dur_s: float, rate: int = RATE, *, seed: int = 0) -> np.ndarray:
    """Bass notes of 41-73 Hz (two overtones each) changing twice a second, and a kick."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(dur_s * rate)) / rate
    notes = rng.choice([41.2, 49.0, 55.0, 61.7, 65.4, 73.4], size=int(dur_s * 2) + 1)
    phase = 2 * np.pi * np.cumsum(notes[(t * 2).astype(int)]) / rate
    kick = np.sin(2 * np.pi * 50 * t) * np.exp(-((t * 2) % 1.0) * 12)
    return sum(np.sin(k * phase) / k for k in (1, 2, 3)) + kick


def band_song(
    dur_s: float, rate: int = RATE, *, seed: int = 0, bass_gain: float = 1.5
) -> np.ndarray:
    """`bass_line` under a melody of syllable-like 4 Hz notes."""
    rng = np.random.default_rng(seed + 1)
    t = np.arange(round(dur_s * rate)) / rate
    lead_hz = rng.choice([262, 294, 330, 392, 440], size=int(dur_s * 4) + 1)[(t * 4).astype(int)]
    lead_phase = 2 * np.pi * np.cumsum(lead_hz) / rate
    lead = sum(np.sin(k * lead_phase) / k for k in range(1, 6))
    lead *= np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 0.5
    out = bass_gain * bass_line(dur_s, rate, seed=seed) + 0.6 * lead
    return (0.5 * out / float(np.max(np.abs(out)))).astype(np.float32)


def share(x: np.ndarray, rate: int = RATE) -> float | None:
    """`bass_share_db` of the whole of ``x``, loud frames picked as `detect_speech` does."""
    spec = power_spectrogram(x, rate)
    inside = np.ones(spec.power.shape[0], dtype=bool)
    loud = spec.energy >= np.median(spec.energy)
    return bass_share_db(x, spec, inside, loud)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_a_bass_line_is_found_at_every_rate(rate: int) -> None:
    found = share(band_song(12.0, rate), rate)
    assert found is not None and found >= MIN_BASS_DB


def test_a_bass_line_under_a_voice_rhythm_is_not_speech() -> None:
    """The other cues find speech in this rhythm; the bass line settles it."""
    x = voice(12.0)
    song = x + 0.5 * (bass_line(12.0) * np.float32(np.max(np.abs(x)))).astype(np.float32)
    result = detect_speech(song, RATE)
    assert not result.is_speech
    assert result.reason == "bass"
    assert "75 Hz" in result.why and f"{result.bass_db:.1f} dB" in result.why


def test_a_faint_bass_is_not_enough() -> None:
    found = share(band_song(12.0, bass_gain=0.05))
    assert found is None or found < MIN_BASS_DB


def test_a_voice_skips_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing under 75 Hz in the shared spectrogram: no resampling, no value."""
    import soxr

    def fail(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the gate should have skipped the resampling")

    monkeypatch.setattr(soxr, "resample", fail)
    assert share(voice(10.0)) is None
    result = detect_speech(voice(10.0), RATE)
    assert result.reason != "bass" and result.bass_db is None


@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_mains_hum_under_a_voice_is_not_a_bass_line(hz: float) -> None:
    x = voice(12.0)
    noisy = mix(x, hum(x.size, hz), 0.0)  # hum as loud as the voice
    found = share(noisy)
    assert found is None or found < MIN_BASS_DB - 10
    assert detect_speech(noisy, RATE).reason != "bass"


def test_steady_rumble_is_a_floor_not_a_bass_line() -> None:
    """Brown-ish noise under 75 Hz at 10 dB under the voice: the band's floor is taken out."""
    rng = np.random.default_rng(3)
    x = voice(12.0)
    rumble = np.cumsum(rng.standard_normal(x.size))
    rumble -= np.convolve(rumble, np.ones(801) / 801, mode="same")  # keep it off DC
    found = share(mix(x, rumble.astype(np.float32), 10.0))
    assert found is None or found < MIN_BASS_DB


def test_too_little_sound_says_nothing() -> None:
    assert share(band_song(1.0)) is None
    empty = np.zeros(RATE * 4, dtype=np.float32)
    spec = power_spectrogram(empty, RATE)
    none = np.zeros(spec.power.shape[0], dtype=bool)
    assert bass_share_db(empty, spec, none, none) is None


@settings(max_examples=15, deadline=None)
@given(gain_db=st.floats(-40.0, 0.0), seed=st.integers(0, 1000))
def test_the_share_does_not_depend_on_the_level(gain_db: float, seed: int) -> None:
    x = band_song(8.0, seed=seed)
    reference = share(x)
    scaled = share(x * np.float32(10.0 ** (gain_db / 20.0)))
    assert reference is not None and scaled is not None
    assert scaled == pytest.approx(reference, abs=0.05)


def deep_voice(dur_s: float, rate: int = RATE, *, f0_hz: float = 68.0, seed: int = 0) -> np.ndarray:
    """A deep man's voice: F0 near ``f0_hz`` with a strong fundamental, in syllables and words."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(dur_s * rate)) / rate
    f0 = f0_hz * (1 + 0.05 * np.sin(2 * np.pi * 1.7 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    count = int(min(3500.0, rate / 2 - 200) // (1.1 * f0_hz))
    out = sum(np.sin(k * phase) / k**0.7 for k in range(1, count + 1))
    syllables = np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 0.5
    words = (np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 6)) > -0.6).astype(float)
    return (0.4 * out * syllables * words / np.max(np.abs(out))).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_deep_voice_is_not_a_bass_line(rate: int) -> None:
    """Its fundamental lies in the band; the band under its lowest pitch holds nothing."""
    x = deep_voice(12.0, rate)
    found = share(x, rate)
    assert found is not None and found >= MIN_BASS_DB  # the band alone would call it music
    result = detect_speech(x, rate)
    assert result.reason != "bass", result


def test_low_rumble_between_words_is_not_a_bass_line() -> None:
    """Rumble 30 dB under the voice, after each word, is no part of its loud moments."""
    x = voice(12.0).astype(np.float64)
    t = np.arange(x.size) / RATE
    rng = np.random.default_rng(5)
    rumble = np.fft.irfft(
        np.fft.rfft(rng.standard_normal(x.size))
        * ((np.fft.rfftfreq(x.size, 1 / RATE) > 55) & (np.fft.rfftfreq(x.size, 1 / RATE) < 75)),
        x.size,
    )
    gaps = np.abs(np.sin(2 * np.pi * 2.0 * t)) < 0.3  # between syllables
    rumble *= gaps * np.max(np.abs(x)) * 10 ** (-30 / 20) / np.max(np.abs(rumble))
    result = detect_speech((x + rumble).astype(np.float32), RATE)
    assert result.is_speech, result

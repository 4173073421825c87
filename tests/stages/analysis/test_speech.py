"""No speech: tones and music are told apart from voices that the VAD would accept alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stages.analysis.speech as speech_module
from stages.analysis.speech import detect_speech
from tests.conftest import tone
from tests.stages.analysis._signals import RATE, hum, mix, pink, voice, white


def chords(dur_s: float, rate: int = RATE) -> np.ndarray:
    """Sustained three-note chords with harmonics, changing every 0.6 s, plus a drum hit."""
    rng = np.random.default_rng(7)
    t = np.arange(round(dur_s * rate)) / rate
    out = np.zeros_like(t)
    step = round(0.6 * rate)
    for start in range(0, t.size, step):  # one chord per step
        seg = slice(start, min(start + step, t.size))
        for note in 220.0 * 2 ** (rng.integers(0, 12, 3) / 12):
            for h in range(1, 5):
                out[seg] += np.sin(2 * np.pi * note * h * t[seg]) / h
        hit = min(400, t.size - start)
        out[start : start + hit] += rng.standard_normal(hit) * np.exp(-np.arange(hit) / 80)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize("snr_db", [None, 20.0, 5.0])
def test_voice_is_speech_quiet_or_noisy(snr_db: float | None) -> None:
    x = voice(6.0, seed=9)
    if snr_db is not None:
        x = mix(x, white(x.size), snr_db)
    result = detect_speech(x, RATE)
    assert result.is_speech
    assert result.persistence is not None and result.persistence < 0.6


def test_steady_tone_is_not_speech() -> None:
    result = detect_speech(tone(440.0, 4.0, RATE), RATE)
    assert not result.is_speech
    assert result.persistence is not None and result.persistence > 0.9


def test_sustained_chords_are_not_speech() -> None:
    assert not detect_speech(chords(8.0), RATE).is_speech


def test_silence_is_not_speech() -> None:
    result = detect_speech(np.zeros(RATE * 2, dtype=np.float32), RATE)
    assert not result.is_speech and result.persistence is None


def test_only_frames_inside_segments_are_judged() -> None:
    x = np.concatenate([tone(440.0, 3.0, RATE), voice(5.0, seed=2)])
    assert detect_speech(x, RATE, [(3.0, 8.0)]).is_speech
    assert not detect_speech(x, RATE, [(0.0, 3.0)]).is_speech


def dtmf(dur_s: float, rate: int = RATE) -> np.ndarray:
    """Keyed DTMF digits: 100 ms on, 100 ms off — shorter than the persistence lag."""
    rng = np.random.default_rng(3)
    t = np.arange(round(dur_s * rate)) / rate
    digit = (t // 0.2).astype(int)
    rows = np.array([697.0, 770.0, 852.0, 941.0])[rng.integers(0, 4, digit.max() + 1)][digit]
    cols = np.array([1209.0, 1336.0, 1477.0])[rng.integers(0, 3, digit.max() + 1)][digit]
    on = (t % 0.2) < 0.1
    return (0.2 * (np.sin(2 * np.pi * rows * t) + np.sin(2 * np.pi * cols * t)) * on).astype(
        np.float32
    )


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
@pytest.mark.parametrize("kind", ["white", "pink", "hum"])
@pytest.mark.parametrize("seed", [0, 1])
def test_stationary_noise_is_not_speech(kind: str, rate: int, seed: int) -> None:
    n = 5 * rate
    if kind == "white":
        x = white(n, seed=seed)
    elif kind == "pink":
        x = pink(n, rate, seed=seed)
    else:  # a room: hum over a pink floor
        x = hum(n, 50.0, rate) + 0.3 * pink(n, rate, seed=seed)
    result = detect_speech((0.01 * x / np.std(x)).astype(np.float32), rate)
    assert not result.is_speech
    if kind != "hum":  # hum is also tonal; the noise itself must lack the syllable rhythm
        assert result.reason == "unmodulated"
        assert result.modulation_db is not None and result.modulation_db < 4.0


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_voice_in_pink_noise_is_speech_at_any_rate(rate: int, snr_db: float) -> None:
    x = voice(8.0, rate, seed=4)
    x = mix(x, pink(x.size, rate, seed=5), snr_db)
    result = detect_speech(x, rate)
    assert result.is_speech, result
    assert result.modulation_db is not None and result.modulation_db > 4.0


def test_keyed_dtmf_is_tonal() -> None:
    result = detect_speech(dtmf(6.0), RATE)
    assert not result.is_speech and result.reason == "tonal"


def test_busy_tone_has_no_syllable_rhythm() -> None:
    t = np.arange(6 * RATE) / RATE
    busy = (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)) * ((t % 1.0) < 0.5)
    result = detect_speech((0.1 * busy).astype(np.float32), RATE)
    assert not result.is_speech


def test_short_clips_are_not_judged_on_modulation() -> None:
    result = detect_speech((0.01 * white(RATE)).astype(np.float32), RATE)
    assert result.modulation_db is None


def test_steady_vowels_with_a_syllable_rhythm_are_still_speech():
    """espeak's Mandarin voice holds its vowels (persistence ~0.66) but keeps the rhythm."""
    from pipeline.runner import Pipeline

    clip = Pipeline.for_profile("yeastar-prompt").process("fixtures/session/voicemail_zh_16k.m4a")
    assert "no_speech" not in clip.codes()
    assert clip.metrics["speech_persistence"] > 0.65
    assert clip.metrics["speech_modulation_db"] >= 8.0


# --- the vectorised internals against their plain definitions --------------------------------


def _reference_fine_structure(power: np.ndarray, bin_hz: float) -> np.ndarray:
    """Log spectrum minus its 9-bin moving average (edge-padded cumulative sum), peaks only."""
    top = max(speech_module.SMOOTH_BINS + 1, round(speech_module.TOP_HZ / bin_hz))
    log_power = 10.0 * np.log10(power[:, :top] + 1e-12)
    half = speech_module.SMOOTH_BINS // 2
    padded = np.pad(log_power, ((0, 0), (half + 1, half)), mode="edge")
    csum = np.cumsum(padded, axis=1)
    width = speech_module.SMOOTH_BINS
    return np.clip(log_power - (csum[:, width:] - csum[:, :-width]) / width, 0.0, None)


@settings(max_examples=30, deadline=None)
@given(
    n_frames=st.integers(1, 40),
    n_bins=st.integers(11, 600),
    bin_hz=st.sampled_from([7.8125, 15.625, 23.4375, 31.25, 125.0, 400.0]),
    seed=st.integers(0, 2**16),
)
def test_fine_structure_equals_the_moving_average_definition(
    n_frames: int, n_bins: int, bin_hz: float, seed: int
) -> None:
    power = np.random.default_rng(seed).random((n_frames, n_bins)) ** 6
    got = speech_module._fine_structure(power, bin_hz)
    want = _reference_fine_structure(power, bin_hz)
    assert got.shape == want.shape
    assert np.allclose(got, want, rtol=0.0, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(lag=st.integers(1, 8), loud_share=st.floats(0.2, 1.0), seed=st.integers(0, 2**16))
def test_persistence_equals_pairwise_correlation(lag: int, loud_share: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    power = rng.random((200, 129)) ** 4
    loud = rng.random(200) < loud_share
    got, pairs = speech_module._persistence(power, loud, lag, 31.25)
    pair = loud[:-lag] & loud[lag:]
    assert pairs == int(pair.sum())
    if pairs < speech_module.MIN_FRAMES:
        assert got is None
        return
    idx = np.flatnonzero(pair)
    a = _reference_fine_structure(power[idx], 31.25)
    b = _reference_fine_structure(power[idx + lag], 31.25)
    cos = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1) + 1e-12)
    assert got == pytest.approx(float(np.median(cos)), abs=1e-9)

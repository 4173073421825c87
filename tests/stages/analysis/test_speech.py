"""No speech: tones and music are told apart from voices that the VAD would accept alike."""

from __future__ import annotations

from typing import Any

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


def stressed_voice(
    dur_s: float, rate: int = RATE, *, seed: int = 0, stress_db: float = 12.0
) -> np.ndarray:
    """`voice` whose syllables (0.25 s each) differ in level by up to ``stress_db``.

    The plain synthetic voice repeats one syllable at one level and dips only ~16 dB: no
    real voice holds its peaks that still (dev and false-alarm voices vary ≥ 4 dB between
    half-seconds), and the music-bed cue may call it music.
    """
    x = voice(dur_s, rate, seed=seed).astype(np.float64)
    rng = np.random.default_rng([seed, 99])
    syllable = (np.arange(x.size) / rate / 0.25).astype(np.intp)
    gains_db = rng.uniform(-stress_db, 0.0, size=int(syllable[-1]) + 1)
    return (x * 10 ** (gains_db[syllable] / 20)).astype(np.float32)


@pytest.mark.parametrize("snr_db", [None, 20.0, 5.0])
def test_voice_is_speech_quiet_or_noisy(snr_db: float | None) -> None:
    x = stressed_voice(6.0, seed=9)
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
    x = np.concatenate([tone(440.0, 3.0, RATE), stressed_voice(5.0, seed=2)])
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
    x = stressed_voice(8.0, rate, seed=4)
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


# --- syllabic dips: steady voices (level tones, slow or child-like talkers) stay speech --------

VOWELS_HZ = ((800.0, 1200.0), (300.0, 2300.0), (350.0, 800.0), (500.0, 1900.0), (500.0, 900.0))


def vowel_train(
    dur_s: float, rate: int = RATE, *, f0_hz: float = 300.0, seed: int = 0
) -> np.ndarray:
    """Glide-free vowels (one level pitch each, five formant patterns), 0.3 s syllables.

    Each syllable holds its pitch exactly, like a level tone of a slow or child-like talker;
    80–120 ms of silence (a stop consonant) separate syllables and 0.35 s every fourth (a
    word). A white floor 60 dB under the peak keeps the log spectrum finite.
    """
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    out = np.zeros(n)
    pos, k = round(0.2 * rate), 0
    ramp = round(0.01 * rate)
    while pos < n - round(0.4 * rate):
        length = round(0.3 * rate)
        t = np.arange(length) / rate
        f0 = f0_hz * 2 ** (rng.choice([-2, 0, 2, 3]) / 12)
        f1, f2 = VOWELS_HZ[int(rng.integers(len(VOWELS_HZ)))]
        harmonics = np.arange(1, int(min(4000.0, rate / 2 - 200) // f0) + 1) * f0
        # A vowel's envelope: -6 dB per octave (glottal source and lip radiation) with two
        # formant resonances ~120 Hz wide on top.
        gain_db = -6 * np.log2(harmonics / f0) + 15 / (1 + ((harmonics - f1) / 120) ** 2)
        gain_db += 12 / (1 + ((harmonics - f2) / 120) ** 2)
        gain = 10 ** (gain_db / 20)
        syllable = (gain[:, None] * np.sin(2 * np.pi * harmonics[:, None] * t)).sum(axis=0)
        envelope = np.minimum(1.0, np.minimum(np.arange(length), length - np.arange(length)) / ramp)
        out[pos : pos + length] = syllable * envelope
        k += 1
        gap = 0.35 if k % 4 == 0 else rng.uniform(0.08, 0.12)
        pos += length + round(gap * rate)
    out = 0.5 * out / np.abs(out).max()
    return (out + 0.5e-3 * white(n, seed=seed + 1)).astype(np.float32)


def legato_chords(dur_s: float, rate: int = RATE, *, step_s: float = 0.4) -> np.ndarray:
    """Hold music: three-note chords with harmonics, one every ``step_s``, each ringing on.

    Every chord starts with an accent and decays while the next one begins, and a bass note
    sustains under them, so the level swings with the beat but never falls silent.
    """
    rng = np.random.default_rng(11)
    t = np.arange(round(dur_s * rate)) / rate
    out = np.zeros_like(t)
    bass = 110.0 * 2 ** (rng.integers(0, 7) / 12)
    out += sum(np.sin(2 * np.pi * bass * h * t) / h for h in range(1, 4))
    step = round(step_s * rate)
    for start in range(0, t.size, step):
        seg = slice(start, min(start + 2 * step, t.size))
        tt = t[seg] - t[start]
        for note in 262.0 * 2 ** (rng.choice([0, 4, 7, 9, 12], 3) / 12):
            for h in range(1, 6):
                out[seg] += np.sin(2 * np.pi * note * h * tt) / h * np.exp(-tt / (1.5 * step_s))
    out = 0.5 * out / np.abs(out).max()
    return (out + 0.5e-3 * white(t.size, seed=5)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("f0_hz", [120.0, 300.0, 380.0])
def test_a_glide_free_vowel_train_with_syllable_rhythm_is_a_doubtful_voice(
    rate: int, f0_hz: float
) -> None:
    x = vowel_train(9.0, rate, f0_hz=f0_hz, seed=int(f0_hz))
    result = detect_speech(x, rate)
    # Persistence alone calls it tonal: that is the case the dips are there for.
    assert result.persistence is not None
    assert result.persistence > speech_module.MAX_RHYTHMIC_PERSISTENCE
    assert (result.is_speech, result.reason, result.voice_like) == (False, "tonal", True)
    assert result.dip_db is not None and result.dip_db >= speech_module.MIN_DIP_DB
    assert result.lines is not None and result.lines >= speech_module.MIN_VOICE_LINES


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("step_s", [0.25, 0.4, 0.6])
def test_a_chord_sequence_with_a_beat_is_not_speech(rate: int, step_s: float) -> None:
    result = detect_speech(legato_chords(9.0, rate, step_s=step_s), rate)
    assert not result.is_speech and not result.voice_like, result
    assert result.reason == "tonal"
    if result.dip_db is not None:  # measured only when the rhythm asked for it
        assert result.dip_db < speech_module.MIN_DIP_DB


@pytest.mark.parametrize("rate", [8000, 24000])
@pytest.mark.parametrize("freqs_hz", [(1100.0,), (480.0, 620.0), (852.0, 1336.0)])
def test_fast_keyed_tones_dip_deeply_but_are_not_a_voice(
    rate: int, freqs_hz: tuple[float, ...]
) -> None:
    """Beeps keyed at 4 per second dip like syllables; one or two lines are not a voice."""
    t = np.arange(8 * rate) / rate
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs_hz) * ((t % 0.25) < 0.15)
    x = (0.2 * y + 1e-4 * white(t.size)).astype(np.float32)
    result = detect_speech(x, rate)
    assert not result.is_speech and not result.voice_like, result
    if result.lines is not None:
        assert result.lines <= len(freqs_hz)


@settings(max_examples=25, deadline=None)
@given(depth_db=st.floats(8.0, 50.0), period_s=st.sampled_from([0.2, 0.25, 0.33]))
def test_dip_depth_measures_how_far_the_level_falls(depth_db: float, period_s: float) -> None:
    """Band-limited noise whose level steps between two values: the dip is the step."""
    from stages.analysis._spectra import power_spectrogram

    rate = 16000
    n = 6 * rate
    t = np.arange(n) / rate
    gain = np.where((t % period_s) < period_s / 2, 1.0, 10 ** (-depth_db / 20))
    x = (0.1 * white(n, seed=3) * gain).astype(np.float32)
    spec = power_spectrogram(x, rate)
    dip = speech_module.syllabic_dip_db(
        speech_module.modulation_bands(spec), np.ones(spec.power.shape[0], dtype=bool)
    )
    assert dip is not None
    # Per band, the windows' loudest and quietest frames add the noise's own spread (a few
    # dB) to the step; frames straddling a step sit between the two levels.
    assert depth_db - 1.0 <= dip <= depth_db + 9.0


def test_dip_depth_needs_two_windows() -> None:
    from stages.analysis._spectra import power_spectrogram

    spec = power_spectrogram(voice(2.0), RATE)
    inside = np.zeros(spec.power.shape[0], dtype=bool)
    inside[:40] = True  # ~0.6 s of frames: one window
    assert speech_module.syllabic_dip_db(speech_module.modulation_bands(spec), inside) is None


@pytest.mark.parametrize("count", [1, 2, 3, 6, 10])
def test_spectral_lines_counts_the_lines_of_a_steady_tone(count: int) -> None:
    from stages.analysis._spectra import power_spectrogram

    rate = 16000
    t = np.arange(2 * rate) / rate
    freqs = 300.0 + 350.0 * np.arange(count)  # well apart, all under 4 kHz
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs) + 1e-5 * white(t.size)
    spec = power_spectrogram(np.asarray(x, dtype=np.float32), rate)
    loud = np.ones(spec.power.shape[0], dtype=bool)
    assert speech_module.spectral_lines(spec.power, loud, spec.bin_hz) == count
    assert speech_module.spectral_lines(spec.power, ~loud, spec.bin_hz) is None


def struck_notes(dur_s: float, rate: int = RATE, *, seed: int = 0) -> np.ndarray:
    """Marimba-like music: harmonic notes that start at once and ring out (τ 80–150 ms),
    two or three a second, silent in between once they have decayed."""
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    out = np.zeros(n)
    start = 0.2
    while start < dur_s - 0.6:
        f0 = 262.0 * 2 ** (rng.integers(0, 15) / 12)
        length = round(0.6 * rate)
        t = np.arange(length) / rate
        tau = rng.uniform(0.08, 0.15)
        note = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 7)) * np.exp(-t / tau)
        a = round(start * rate)
        out[a : a + length] += note * np.minimum(t / 0.003, 1.0)
        start += rng.uniform(0.35, 0.55)
    out = 0.4 * out / np.abs(out).max()
    return (out + 1e-5 * white(n, seed=seed + 2)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("seed", [0, 1])
def test_struck_notes_that_ring_out_are_not_a_voice(rate: int, seed: int) -> None:
    """Deep dips and a harmonic series, but every dip is a note decaying, not a voice stopping."""
    from stages.analysis._spectra import power_spectrogram

    x = struck_notes(9.0, rate, seed=seed)
    result = detect_speech(x, rate)
    assert not result.is_speech and not result.voice_like, result
    spec = power_spectrogram(x, rate)
    inside = np.ones(spec.power.shape[0], dtype=bool)
    ratio = speech_module.fall_over_rise(speech_module.modulation_bands(spec), inside)
    assert ratio is not None and ratio < speech_module.MIN_FALL_OVER_RISE


@pytest.mark.parametrize("rate", [8000, 24000])
def test_a_voice_stops_about_as_fast_as_it_starts(rate: int) -> None:
    from stages.analysis._spectra import power_spectrogram

    x = vowel_train(9.0, rate, f0_hz=250.0, seed=3)
    spec = power_spectrogram(x, rate)
    ratio = speech_module.fall_over_rise(
        speech_module.modulation_bands(spec), np.ones(spec.power.shape[0], dtype=bool)
    )
    assert ratio is not None and ratio >= speech_module.MIN_FALL_OVER_RISE
    assert (
        speech_module.fall_over_rise(
            speech_module.modulation_bands(spec), np.zeros(spec.power.shape[0], dtype=bool)
        )
        is None
    )


# --- one or two lines (keyed tones), and a beat that never stops (music) ---------------------


def fast_dtmf(dur_s: float, rate: int, *, seed: int = 0) -> np.ndarray:
    """DTMF digit strings as an auto-dialler sends them: 60 ms tones, 60 ms gaps, group pauses."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(dur_s * rate))
    t = np.arange(round(0.06 * rate)) / rate
    pos = round(0.2 * rate)
    while pos + 12 * t.size < out.size:
        for _ in range(int(rng.integers(4, 10))):
            row = (697.0, 770.0, 852.0, 941.0)[int(rng.integers(4))]
            col = (1209.0, 1336.0, 1477.0)[int(rng.integers(3))]
            out[pos : pos + t.size] = np.sin(2 * np.pi * row * t) + np.sin(2 * np.pi * col * t)
            pos += 2 * t.size
        pos += round(rng.uniform(0.5, 1.0) * rate)
    return (0.2 * out + 1e-4 * white(out.size, seed=seed)).astype(np.float32)


def siren(dur_s: float, rate: int) -> np.ndarray:
    """A European two-tone siren: one horn (five harmonics) alternating 450/600 Hz every 0.55 s.

    (A fast-gliding wail changes its lines within the 96 ms lag: the detector alone calls
    it speech, and only the chain's other checks reject it; see no_speech_recall.py.)
    """
    t = np.arange(round(dur_s * rate)) / rate
    freq = np.where((t % 1.1) < 0.55, 450.0, 600.0)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    out = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (0.2 * np.asarray(out)).astype(np.float32)


def beat_music(dur_s: float, rate: int, *, step_s: float = 0.5) -> np.ndarray:
    """Tracker-style music: a drum hit and a new chord on every beat over a sustained pad."""
    rng = np.random.default_rng(21)
    t = np.arange(round(dur_s * rate)) / rate
    out = sum(np.sin(2 * np.pi * 110.0 * h * t) / h for h in range(1, 4))  # the pad
    out = np.asarray(out, dtype=np.float64) * 0.5
    step = round(step_s * rate)
    drum = rng.standard_normal(round(0.08 * rate)) * np.exp(
        -np.arange(round(0.08 * rate)) / (0.015 * rate)
    )
    for start in range(0, t.size - drum.size, step):
        seg = slice(start, min(start + step, t.size))
        tt = t[seg] - t[start]
        for note in 262.0 * 2 ** (rng.choice([0, 3, 4, 7, 9, 12], 3, replace=False) / 12):
            for h in range(1, 5):
                out[seg] += 0.5 * np.sin(2 * np.pi * note * h * tt) / h * np.exp(-tt / step_s)
        out[start : start + drum.size] += 3.0 * drum
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def gliding_voice(dur_s: float, rate: int, *, seed: int = 0) -> np.ndarray:
    """One harmonic voice whose pitch glides, in syllables of irregular length and spacing."""
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    out = np.zeros(n)
    pos = round(0.2 * rate)
    while pos < n - round(0.5 * rate):
        length = round(rng.uniform(0.12, 0.35) * rate)
        t = np.arange(length) / rate
        f0 = rng.uniform(100, 160) * (1 + rng.uniform(-0.3, 0.3) * t / t[-1])
        phase = 2 * np.pi * np.cumsum(f0) / rate
        k = np.arange(1, int(min(4000.0, rate / 2 - 200) // 200) + 1)[:, None]
        syllable = (np.sin(k * phase) / k).sum(axis=0) * np.sin(np.pi * t / t[-1])
        out[pos : pos + length] = syllable
        pos += length + round(rng.uniform(0.03, 0.4) * rate)
    return (0.3 * out / np.abs(out).max() + 1e-4 * white(n, seed=seed)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_dtmf_strings_are_one_or_two_lines(rate: int, seed: int) -> None:
    result = detect_speech(fast_dtmf(10.0, rate, seed=seed), rate)
    assert not result.is_speech
    # Persistence cannot see 60 ms digits; the line count can, whatever the verdict's route.
    lines = speech_module.spectral_lines(*_power_and_loud(fast_dtmf(10.0, rate, seed=seed), rate))
    assert lines is not None and lines <= speech_module.MAX_TONE_LINES


def _power_and_loud(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    from stages.analysis._spectra import power_spectrogram

    spec = power_spectrogram(x, rate)
    loud = spec.energy >= max(np.median(spec.energy), spec.energy.max() * 1e-4)
    return spec.power, loud, spec.bin_hz


@pytest.mark.parametrize("rate", [8000, 24000])
def test_a_siren_is_not_speech(rate: int) -> None:
    assert not detect_speech(siren(12.0, rate), rate).is_speech


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("step_s", [0.4, 0.5, 0.75])
def test_music_with_a_beat_has_a_strong_beat(rate: int, step_s: float) -> None:
    from stages.analysis._spectra import power_spectrogram

    x = beat_music(12.0, rate, step_s=step_s)
    spec = power_spectrogram(x, rate)
    beat = speech_module.beat_strength(
        speech_module.modulation_bands(spec), np.ones(spec.power.shape[0], dtype=bool)
    )
    assert beat is not None and beat >= speech_module.MIN_BEAT
    assert not detect_speech(x, rate).is_speech


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_gliding_voice_with_irregular_syllables_has_a_weak_beat(rate: int, seed: int) -> None:
    from stages.analysis._spectra import power_spectrogram

    x = gliding_voice(10.0, rate, seed=seed)
    spec = power_spectrogram(x, rate)
    beat = speech_module.beat_strength(
        speech_module.modulation_bands(spec), np.ones(spec.power.shape[0], dtype=bool)
    )
    assert beat is not None and beat < speech_module.MIN_BEAT
    result = detect_speech(x, rate)
    assert result.is_speech, result
    assert result.lines is not None and result.lines > speech_module.MAX_TONE_LINES


def test_beat_strength_is_high_on_an_exact_grid_and_needs_two_beat_periods() -> None:
    from stages.analysis._spectra import power_spectrogram

    rate = 16000
    clicks = np.zeros(8 * rate)
    clicks[:: rate // 2] = 1.0  # a click every 0.5 s
    x = (np.convolve(clicks, np.hanning(400))[: clicks.size] + 1e-4 * white(clicks.size)).astype(
        np.float32
    )
    spec = power_spectrogram(x, rate)
    every = np.ones(spec.power.shape[0], dtype=bool)
    beat = speech_module.beat_strength(speech_module.modulation_bands(spec), every)
    assert beat is not None and beat > speech_module.MIN_BEAT + 0.2
    short = np.zeros_like(every)
    short[: round(3.5 / spec.frame_s)] = True
    assert speech_module.beat_strength(speech_module.modulation_bands(spec), short) is None


def test_the_reason_is_explained_with_its_measurements() -> None:
    result = detect_speech(beat_music(12.0, 16000), 16000)
    assert result.reason in ("beat", "tonal")
    assert "speech" in result.why and any(c.isdigit() for c in result.why)
    tone_result = speech_module.SpeechResult(False, 0.3, 50, 10.0, "lines", lines=2.0)
    assert "2 steady tone lines" in tone_result.why


def test_the_reasons_use_plain_words_with_the_value_and_the_limit() -> None:
    tonal = speech_module.SpeechResult(False, 0.8, 50, 10.0, "tonal")
    assert tonal.why == (
        "holds steady musical notes or tones (steadiness 0.80; speech stays under "
        f"{speech_module.MAX_PERSISTENCE:.2f})"
    )
    bass = speech_module.SpeechResult(False, 0.3, 50, 10.0, "bass", bass_db=-5.6)
    assert bass.why.startswith("has a bass line: -5.6 dB of its loud moments' power")
    assert "music from -7.5 dB" in bass.why and "(from" not in bass.why
    assert speech_module.SpeechResult(False, None, 0, None, "silent").why == "is silent"
    for why in (tonal.why, bass.why):
        assert "persistence" not in why and "spectral" not in why


@pytest.mark.parametrize("band", [0, 3, 7])
def test_modulation_bands_put_a_tone_in_its_band(band: int) -> None:
    from stages.analysis._spectra import power_spectrogram

    edges = np.geomspace(300.0, 3400.0, speech_module.MODULATION_BANDS + 1)
    hz = float(np.sqrt(edges[band] * edges[band + 1]))  # the band's geometric centre
    spec = power_spectrogram(tone(hz, 2.0, RATE), RATE)
    bands = speech_module.modulation_bands(spec)
    assert bands.frame_s == spec.frame_s
    assert bands.power.shape == (spec.power.shape[0], speech_module.MODULATION_BANDS)
    assert int(np.argmax(bands.power.mean(axis=0))) == band


# --- noise floors under steady voices, and music beds -----------------------------------------


def music_bed(dur_s: float, rate: int = RATE, *, seed: int = 0, parts: int = 6) -> np.ndarray:
    """Dense tracker-like music: six parts of short irregular notes (no beat), never silent.

    Each note has four harmonics, a slight vibrato and a 0.4 s decay cut by the next note,
    so persistence stays speech-like (≈ 0.5) and the level never dips far.
    """
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    t = np.arange(n) / rate
    out = np.zeros(n)
    for part in range(parts):
        at = -rng.uniform(0.0, 0.3)
        base = 110.0 * 2 ** (part * 0.7)
        while at < dur_s:
            length = rng.uniform(0.08, 0.3)
            start, stop = max(0, round(at * rate)), min(n, round((at + length + 0.05) * rate))
            tt = t[start:stop] - at
            hz = base * 2 ** (rng.choice([0, 2, 4, 5, 7, 9, 11]) / 12)
            phase = 2 * np.pi * hz * np.cumsum(1 + 0.01 * np.sin(2 * np.pi * 6 * tt)) / rate
            envelope = np.minimum(1.0, tt / 0.01) * np.exp(-tt / 0.4)
            for h in range(1, 5):
                out[start:stop] += envelope * np.sin(h * phase) / h
            at += length
    out = 0.5 * out / np.abs(out).max()
    return (out + 0.5e-3 * white(n, seed=seed + 3)).astype(np.float32)


def _noise_floor(x: np.ndarray, rate: int) -> bool:
    from stages.analysis._spectra import power_spectrogram

    spec = power_spectrogram(x, rate)
    every = np.ones(spec.power.shape[0], dtype=bool)
    lag = max(1, round(speech_module.LAG_S / spec.frame_s))
    bands = speech_module.modulation_bands(spec)
    return speech_module.noise_floor(spec.power, bands, every, spec.energy, lag, spec.bin_hz)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("snr_db", [10.0, 15.0, 20.0])
def test_a_steady_voice_in_noise_stays_a_doubtful_voice(rate: int, snr_db: float) -> None:
    # Noise fills the syllable gaps (dips well under MIN_DIP_DB), but they fall to its floor.
    x = vowel_train(10.0, rate, f0_hz=300.0, seed=1)
    x = mix(x, white(x.size, seed=4), snr_db)
    result = detect_speech(x, rate)
    assert result.reason == "tonal" and not result.is_speech
    assert result.dip_db is not None and result.dip_db < speech_module.MIN_DIP_DB
    assert result.voice_like


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_noise_floor_is_found_under_a_voice_but_never_under_music(rate: int) -> None:
    voice_in_noise = vowel_train(10.0, rate, seed=1)
    assert _noise_floor(mix(voice_in_noise, white(voice_in_noise.size, seed=4), 15.0), rate)
    bed = music_bed(10.0, rate)
    assert not _noise_floor(bed, rate)  # the quietest frames are still notes
    for snr_db in (10.0, 20.0, 40.0):  # ... and stay notes over a noise floor
        assert not _noise_floor(mix(bed, white(bed.size, seed=4), snr_db), rate)
    assert not _noise_floor(chords(8.0, rate) if rate == RATE else bed, rate)


def test_digital_silence_between_syllables_is_a_floor_too() -> None:
    x = vowel_train(10.0, RATE, seed=1)
    x[np.abs(x) < 2e-3] = 0.0  # the white floor gone: gaps of exact zeros
    assert _noise_floor(x, RATE)
    assert not _noise_floor(music_bed(10.0, RATE) + np.float32(0.0), RATE)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("seed", [0, 2])
def test_a_dense_music_bed_is_not_speech(rate: int, seed: int) -> None:
    result = detect_speech(music_bed(10.0, rate, seed=seed), rate)
    assert not result.is_speech and result.reason == "bed"
    assert result.persistence is not None and result.persistence < speech_module.MAX_PERSISTENCE
    assert result.peak_spread_db is not None
    assert result.peak_spread_db < speech_module.MAX_BED_SPREAD_DB
    assert "music bed" in result.why and f"{result.peak_spread_db:.1f} dB" in result.why


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("snr_db", [None, 10.0, 5.0])
def test_a_voice_with_stressed_syllables_is_no_music_bed(rate: int, snr_db: float | None) -> None:
    x = stressed_voice(10.0, rate, seed=3)
    if snr_db is not None:
        x = mix(x, white(x.size, seed=4), snr_db)
    result = detect_speech(x, rate)
    assert result.is_speech, result


def _bands_with_window_peaks(peaks_db: np.ndarray, frame_s: float = 0.016) -> Any:
    """Eight bands whose level peaks at ``peaks_db[w]`` once per half-second window ``w``."""
    width = round(speech_module.DIP_WINDOW_S / frame_s)
    level = np.full((peaks_db.size * width, 8), -30.0)
    level[::width] = peaks_db[:, None]
    return speech_module.Bands(10 ** (level / 10), frame_s)


@pytest.mark.parametrize("swing_db", [0.0, 2.0, 10.0])
def test_peak_spread_is_the_spread_of_the_window_peaks(swing_db: float) -> None:
    peaks = np.tile([0.0, -swing_db], 10)  # 20 windows, alternating
    bands = _bands_with_window_peaks(peaks)
    every = np.ones(bands.power.shape[0], dtype=bool)
    assert speech_module.peak_spread_db(bands, every) == pytest.approx(swing_db, abs=1e-9)


def test_peak_spread_needs_min_bed_seconds() -> None:
    windows = int(speech_module.MIN_BED_S / speech_module.DIP_WINDOW_S) - 1
    bands = _bands_with_window_peaks(np.zeros(windows))
    assert speech_module.peak_spread_db(bands, np.ones(bands.power.shape[0], dtype=bool)) is None


def staccato_music(dur_s: float, rate: int, *, step_s: float = 0.25) -> np.ndarray:
    """Tracker-style staccato: a drum and a short chord on an exact grid over a faint pad.

    The chords die away within each step, so the level dips 26–29 dB between them (deeper
    than `MAX_BEAT_DIP_DB`), but the grid is exact (beat ≈ 0.97).
    """
    rng = np.random.default_rng(21)
    t = np.arange(round(dur_s * rate)) / rate
    out = 0.02 * np.asarray(sum(np.sin(2 * np.pi * 110.0 * h * t) / h for h in range(1, 4)))
    step = round(step_s * rate)
    hit = round(0.05 * rate)
    drum = rng.standard_normal(hit) * np.exp(-np.arange(hit) / (0.01 * rate))
    for start in range(0, t.size - drum.size, step):
        seg = slice(start, min(start + step, t.size))
        tt = t[seg] - t[start]
        for note in 262.0 * 2 ** (rng.choice([0, 3, 4, 7, 9, 12], 3, replace=False) / 12):
            for h in range(1, 5):
                out[seg] += (
                    0.5 * np.sin(2 * np.pi * note * h * tt) / h * np.exp(-tt / (0.3 * step_s))
                )
        out[start : start + drum.size] += drum
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize(("rate", "step_s"), [(16000, 0.25), (16000, 0.2), (24000, 0.2)])
def test_an_exact_grid_may_dip_deeper_and_still_be_music(rate: int, step_s: float) -> None:
    result = detect_speech(staccato_music(12.0, rate, step_s=step_s), rate)
    assert not result.is_speech and result.reason == "beat"
    assert result.beat is not None and result.beat >= speech_module.MIN_STRONG_BEAT
    assert result.dip_db is not None
    assert speech_module.MAX_BEAT_DIP_DB <= result.dip_db < speech_module.MAX_STRONG_BEAT_DIP_DB
    assert f"{speech_module.MAX_STRONG_BEAT_DIP_DB:g} dB" in result.why


def test_a_weaker_beat_does_not_buy_deeper_dips(monkeypatch: pytest.MonkeyPatch) -> None:
    x = staccato_music(12.0, 16000)
    monkeypatch.setattr(speech_module, "MIN_STRONG_BEAT", 1.01)  # no beat is that strong
    monkeypatch.setattr(speech_module, "MIN_STRONG_TUNING", 1.01)  # nor a grid (its notes are)
    assert detect_speech(x, 16000).is_speech  # its dips (≈ 28.6 dB) read as a voice's stops


def tracker_tune(dur_s: float, *, seed: int, glide: bool = False) -> np.ndarray:
    """Game music no other cue catches: irregular 0.1–0.3 s scale notes over a held bass
    note and irregular noise hits (no beat, shallow dips, voice-like persistence).

    With ``glide`` every pitch also wanders ±1 semitone at 1–3 Hz, as a voice's intonation
    does: the same levels and dips, off the grid.
    """
    rng = np.random.default_rng(seed)
    n = round(dur_s * RATE)
    t = np.arange(n) / RATE
    ends = np.cumsum(rng.uniform(0.1, 0.3, 400))
    note = np.searchsorted(ends, t)
    lead = rng.choice([0, 2, 4, 5, 7, 9, 11, 12, 14], 400)[note] + 0.37
    bass = rng.choice([-12, -7, -5], 20)[(t // 1.5).astype(np.intp)] + 0.37
    if glide:
        wobble = 0.6 * np.sin(2 * np.pi * 3.1 * t) + 0.4 * np.sin(2 * np.pi * 1.3 * t + 1)
        lead, bass = lead + wobble, bass + wobble
    lead_phase = 2 * np.pi * np.cumsum(262.0 * 2 ** (lead / 12)) / RATE
    bass_phase = 2 * np.pi * np.cumsum(262.0 * 2 ** (bass / 12)) / RATE
    age = t - np.r_[0.0, ends][note]
    out = sum(np.sin(k * lead_phase) / k for k in range(1, 6)) * (0.7 * np.exp(-age / 0.1) + 0.3)
    out += 0.6 * sum(np.sin(k * bass_phase) / k for k in range(1, 4))
    hits = np.zeros(n)
    at = (np.cumsum(rng.uniform(0.1, 0.5, 100)) * RATE).astype(np.intp)
    hits[at[at < n]] = 1.0
    out += np.convolve(hits, rng.standard_normal(800) * np.exp(-np.arange(800) / 150))[:n]
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_tuned_music_without_beat_or_bed_is_not_speech(seed: int) -> None:
    result = detect_speech(tracker_tune(10.0, seed=seed), RATE)
    assert not result.is_speech
    assert result.reason == "tuned"
    assert not result.voice_like  # an error, not a doubt
    assert result.tuning is not None and result.tuning > 0.8
    assert result.dip_db is not None and result.dip_db < speech_module.MAX_TUNING_DIP_DB
    assert "scale" in result.why and f"{result.tuning:.2f}" in result.why


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_same_sound_gliding_off_the_grid_is_speech(seed: int) -> None:
    result = detect_speech(tracker_tune(10.0, seed=seed, glide=True), RATE)
    assert result.is_speech, result.why


def test_tuning_is_what_catches_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech_module, "MIN_TUNING", 1.01)
    monkeypatch.setattr(speech_module, "MIN_STRONG_TUNING", 1.01)
    assert detect_speech(tracker_tune(10.0, seed=3), RATE).is_speech


def test_staccato_tuned_music_is_caught_by_a_near_exact_grid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Notes that stop between them dip like a voice (≈ 28.6 dB): without its beat, only a
    near-exact grid of semitones (no voice measured above 0.63) may call them music."""
    monkeypatch.setattr(speech_module, "MIN_STRONG_BEAT", 1.01)
    result = detect_speech(staccato_music(12.0, 16000), 16000)
    assert not result.is_speech
    assert result.reason == "tuned"
    assert result.dip_db is not None and result.dip_db >= speech_module.MAX_TUNING_DIP_DB
    assert result.tuning is not None and result.tuning >= speech_module.MIN_STRONG_TUNING
    assert f"at least {speech_module.MAX_STRONG_TUNING_DIP_DB:g} dB" in result.why


def test_a_noise_floor_in_the_gaps_vetoes_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuned sound that stops irregularly, in white noise at 5 dB: its gaps fall to a noise
    floor, as a synthetic voice with quantised intonation in noise does; not called music."""
    x = tracker_tune(10.0, seed=3)
    rng = np.random.default_rng(1)
    edges = (np.cumsum(rng.uniform(0.15, 0.4, 80)) * RATE).astype(np.intp)
    gate = np.searchsorted(edges, np.arange(x.size)) % 3 != 0  # a gap every third stretch
    noisy = mix((x * gate).astype(np.float32), white(x.size), 5.0)
    assert detect_speech(noisy, RATE).is_speech
    monkeypatch.setattr(speech_module, "noise_floor", lambda *args: False)
    assert detect_speech(noisy, RATE).reason == "tuned"  # the floor was the veto


def test_the_music_check_answers_on_speech_and_on_voice_like_steadiness() -> None:
    from stages.analysis.music import MUSIC_THRESHOLD

    steady_voice = detect_speech(vowel_train(9.0, RATE, f0_hz=300.0, seed=300), RATE)
    assert steady_voice.voice_like and steady_voice.music_probability is not None

    take = stressed_voice(6.0, seed=9)
    result = detect_speech(take, RATE)
    assert result.is_speech
    assert result.music_probability is not None and 0.0 <= result.music_probability < 0.5
    assert result.music_like is (result.music_probability >= MUSIC_THRESHOLD)
    assert not result.music_like
    steady = detect_speech(tone(440.0, 6.0, RATE), RATE)
    assert not steady.is_speech
    assert steady.music_probability is None and not steady.music_like


@pytest.mark.parametrize(("threshold", "flagged"), [(0.0, True), (1.01, False)])
def test_music_like_follows_the_music_threshold(
    monkeypatch: pytest.MonkeyPatch, threshold: float, flagged: bool
) -> None:
    monkeypatch.setattr(speech_module, "MUSIC_THRESHOLD", threshold)
    result = detect_speech(stressed_voice(6.0, seed=9), RATE)
    assert result.is_speech and result.reason == "speech"
    assert result.music_like is flagged


def one_word(rate: int, *, glide: float, seconds: float = 0.9, f0_hz: float = 150.0) -> np.ndarray:
    """A one-word prompt: one voiced syllable whose pitch falls by ``glide`` (a share)."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 - glide * t / seconds)) / rate
    syllable = sum(np.sin(k * phase) / k**1.2 for k in range(1, int(3800 / f0_hz)))
    syllable = syllable * np.sin(np.pi * t / seconds) ** 0.5
    pad = np.zeros(rate // 4)
    x = np.concatenate([pad, syllable, pad])
    return (0.3 * x / np.abs(x).max() + 1e-4 * white(x.size)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("glide", [0.05, 0.1])
def test_a_one_word_prompt_held_steady_is_a_doubt_not_a_verdict(rate: int, glide: float) -> None:
    # Under MIN_MODULATION_S there is no syllable rhythm to measure; a held vowel is nearly as
    # steady as a note (one-word takes of real voices measured up to 0.92).
    result = detect_speech(one_word(rate, glide=glide), rate)
    assert result.modulation_db is None and result.reason == "tonal"
    assert result.persistence is not None
    assert result.persistence > speech_module.MAX_PERSISTENCE
    assert result.persistence < speech_module.MIN_TONE_PERSISTENCE
    assert result.voice_like and not result.is_speech


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_short_generated_tone_stays_a_verdict(rate: int) -> None:
    result = detect_speech(one_word(rate, glide=0.0), rate)  # no glide at all: a note
    assert result.reason == "tonal" and not result.voice_like
    short_beep = np.concatenate([np.zeros(rate // 4), tone(1000.0, 0.8, rate)])
    assert not detect_speech(short_beep.astype(np.float32), rate).voice_like


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
@pytest.mark.parametrize("beep_s", [0.06, 0.1])
def test_sparse_beeps_are_a_signalling_tone(rate: int, beep_s: float) -> None:
    # Short beeps once a second leave no loud frame pairs to measure steadiness; one line is
    # still one line.
    t = np.arange(10 * rate) / rate
    x = 0.2 * np.sin(2 * np.pi * 1000 * t) * ((t % 1.0) < beep_s) + 1e-4 * white(t.size)
    beeps = [(start, start + beep_s) for start in np.arange(0.0, 10.0)]  # as the VAD finds
    result = detect_speech(x.astype(np.float32), rate, beeps)
    assert result.persistence is None  # too few loud frame pairs
    assert not result.is_speech and result.reason == "lines" and result.lines == 1


def close_vowel_word(rate: int, f0_hz: float, *, upper: int = 2, seed: int = 0) -> np.ndarray:
    """A 1.2 s word on a close vowel: harmonics 1..``upper`` strong, the rest 40 dB under."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(1.2 * rate)) / rate
    f0 = f0_hz * (1 + 0.06 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)))  # a gentle glide
    phase = 2 * np.pi * np.cumsum(f0) / rate
    count = int(min(3500.0, rate / 2 - 200) // f0_hz)
    out = sum(np.sin(k * phase) * (1.0 if k <= upper else 0.01) for k in range(1, count + 1))
    envelope = np.sin(np.pi * t / t[-1]) ** 0.5
    return (0.3 * out * envelope / np.max(np.abs(out)) + 1e-4 * white(t.size, seed=seed)).astype(
        np.float32
    )


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("f0_hz", [110.0, 190.0, 260.0])
def test_a_close_vowel_word_with_two_lines_on_one_pitch_is_speech(rate: int, f0_hz: float) -> None:
    """ "Minuto", "see": the first two harmonics carry the word, as a two-tone signal would."""
    x = close_vowel_word(rate, f0_hz)
    lines = speech_module.spectral_lines(*_power_and_loud(x, rate))
    assert lines is not None and lines <= speech_module.MAX_TONE_LINES
    pairs = speech_module.harmonic_pairs(*_power_and_loud(x, rate))
    assert pairs is not None and pairs >= speech_module.MIN_VOICE_PAIRS
    assert detect_speech(x, rate).reason != "lines"


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize(
    "pair_hz",
    [(350, 440), (440, 480), (400, 450), (480, 620), (697, 1209), (770, 1336), (852, 1477)],
)
def test_signalling_tone_pairs_are_no_harmonic_pairs(rate: int, pair_hz: tuple[int, int]) -> None:
    """Dial, ring-back, busy and DTMF pairs are chosen so no harmonic series makes them.

    (Ring-back's 40–50 Hz apart merge into one line at these resolutions: no pair at all.)
    """
    t = np.arange(3 * rate) / rate
    low, high = pair_hz
    x = (0.2 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))).astype(np.float32)
    pairs = speech_module.harmonic_pairs(*_power_and_loud(x, rate))
    assert pairs is None or pairs < speech_module.MIN_VOICE_PAIRS

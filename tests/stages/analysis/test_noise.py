"""SNR and noise floor on speech-like signals mixed with noise at known SNR."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stages.analysis.noise as noise_module
from stages.analysis.noise import (
    _simulate_wada_table,
    _wada_table,
    detect_noise,
    floor_spread_db,
    noise_spectrum,
    wada_snr_db,
)
from tests.stages.analysis._signals import RATE, active_power, hum, mix, pink, voice, white

VOICE = voice(8.0, seed=3)


def babble(n: int, talkers: int = 5) -> np.ndarray:
    """Several other voices at once, each shifted in time: noise that fluctuates like speech."""
    dur_s = n / RATE
    return sum(np.roll(voice(dur_s, seed=20 + k), 3331 * k) for k in range(talkers))  # type: ignore[return-value]


@pytest.mark.parametrize("kind", ["white", "pink", "hum"])
@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0, 30.0])
def test_snr_is_within_3_db_for_each_noise_kind(kind: str, snr_db: float) -> None:
    n = VOICE.size
    noise = {"white": white(n), "pink": pink(n), "hum": hum(n, 60.0)}[kind]
    result = detect_noise(mix(VOICE, noise, snr_db), RATE)
    assert result.snr_db is not None
    # 0 dB is hardest (the test's simple active level also differs most from P.56 there).
    assert result.snr_db == pytest.approx(snr_db, abs=3.5 if snr_db == 0 else 3.0)


def test_noise_floor_reads_the_noise_power() -> None:
    noise = white(VOICE.size) * 0.01  # -40 dBFS
    result = detect_noise((VOICE + noise).astype(np.float32), RATE)
    assert result.noise_floor_dbfs == pytest.approx(-40.0, abs=1.0)


def test_pure_noise_has_no_speech_level() -> None:
    result = detect_noise((white(RATE * 4) * 0.05).astype(np.float32), RATE)
    assert result.snr_db is None
    assert result.noise_floor_dbfs == pytest.approx(20 * math.log10(0.05), abs=1.0)


def test_vad_pauses_raise_a_fluctuating_noise_estimate() -> None:
    # Noise that comes and goes (like babble) reads low by minimum statistics alone.
    n = VOICE.size
    t = np.arange(n) / RATE
    gusty = white(n) * (1.0 + 0.6 * np.sin(2 * np.pi * 1.3 * t))
    x = np.concatenate([np.zeros(RATE), VOICE, np.zeros(RATE)]).astype(np.float64)
    noise = np.concatenate([gusty[:RATE], gusty, gusty[:RATE]])
    x = mix(x.astype(np.float32), noise, 10.0)
    blind = detect_noise(x, RATE)
    informed = detect_noise(x, RATE, [(1.0, 1.0 + VOICE.size / RATE)])
    assert blind.snr_db is not None and informed.snr_db is not None
    assert informed.snr_db < blind.snr_db
    assert informed.snr_db == pytest.approx(10.0, abs=3.0)


@settings(max_examples=20, deadline=None)
@given(level_db=st.floats(-60.0, -10.0), n_frames=st.integers(50, 400))
def test_noise_spectrum_is_unbiased_for_stationary_noise(level_db: float, n_frames: int) -> None:
    rng = np.random.default_rng(n_frames)
    # Band powers of Gaussian noise: scaled chi-square with 16 degrees of freedom.
    mean = 10 ** (level_db / 10)
    bands = mean * rng.chisquare(16, size=(n_frames, 8)) / 16
    estimate = noise_spectrum(bands)
    assert 10 * np.log10(estimate.mean() / mean) == pytest.approx(0.0, abs=0.6)


def test_wada_ranks_clean_above_noisy() -> None:
    clean = wada_snr_db(mix(VOICE, white(VOICE.size), 30.0))
    noisy = wada_snr_db(mix(VOICE, white(VOICE.size), 0.0))
    assert clean is not None and noisy is not None
    assert clean > noisy + 10
    assert wada_snr_db(np.zeros(10)) is None


def test_short_clip_falls_back_to_wada() -> None:
    result = detect_noise(mix(VOICE[:1500], white(1500), 10.0), RATE)
    assert result.method == "wada"


def test_stored_wada_table_matches_its_simulation() -> None:
    # The table is stored to spare every process the simulation; it must be that simulation.
    np.testing.assert_array_equal(_wada_table(), _simulate_wada_table())


@pytest.mark.parametrize("snr_db", [5.0, 10.0, 20.0, 30.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snr_in_babble_is_within_3_db(snr_db: float, seed: int) -> None:
    # No VAD pauses here (a VAD calls babble speech): the quiet/loud split must find the floor.
    target = voice(10.0, seed=seed)
    result = detect_noise(mix(target, babble(target.size), snr_db), RATE)
    assert result.snr_db is not None
    assert abs(result.snr_db - snr_db) < 3.0


def _smoothed_bands(x: np.ndarray) -> np.ndarray:
    from stages.analysis._spectra import power_spectrogram
    from stages.analysis.noise import _bands

    bands = _bands(power_spectrogram(x.astype(np.float32), RATE).power)
    padded = np.concatenate((bands[:1], bands, bands[-1:]))
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0


def fluctuating(n: int, seed: int, *, sd_db: float = 8.0) -> np.ndarray:
    """Pink noise whose level wanders like a crowd's (log-normal, new value every 0.1 s)."""
    rng = np.random.default_rng(seed)
    step = RATE // 10
    gains_db = rng.normal(0.0, sd_db, n // step + 2)
    envelope = 10 ** (np.interp(np.arange(n) / step, np.arange(gains_db.size), gains_db) / 20)
    return pink(n, seed=seed) * envelope


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_floor_spread_tells_steady_noise_from_a_fluctuating_floor(seed: int) -> None:
    n = 8 * RATE
    steady = [white(n, seed=seed), pink(n, seed=seed), hum(n, 50.0) + 0.1 * pink(n, seed=seed)]
    for noise in steady:
        assert floor_spread_db(_smoothed_bands(noise)) < noise_module.MAX_STEADY_SPREAD_DB
    spread = floor_spread_db(_smoothed_bands(fluctuating(n, seed, sd_db=10.0)))
    assert spread > noise_module.MAX_STEADY_SPREAD_DB


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_corrects_a_fluctuating_floor(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Per-band truncated means lose the floor's peaks; the quiet/loud split must recover most.
    target = voice(10.0, seed=seed)
    x = mix(target, fluctuating(target.size, seed), 20.0)
    with_split = detect_noise(x, RATE).snr_db
    monkeypatch.setattr(noise_module, "MAX_STEADY_SPREAD_DB", math.inf)
    without = detect_noise(x, RATE).snr_db
    assert with_split is not None and without is not None
    assert without - 20.0 > 3.0  # the bias this path exists for
    assert abs(with_split - 20.0) < abs(without - 20.0) - 2.0


def brown(n: int, *, seed: int = 4) -> np.ndarray:
    """1/f² noise above 20 Hz (nothing below: the chain's high-pass removes it anyway)."""
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    spec *= np.where(freqs >= 20.0, 1.0 / np.maximum(freqs, 20.0), 0.0)
    return np.fft.irfft(spec, n)


LOW_SNR_NOISES = {"white": white, "pink": pink, "brown": brown}


@pytest.mark.parametrize("kind", sorted(LOW_SNR_NOISES))
@pytest.mark.parametrize("snr_db", [0.0, 5.0])
@pytest.mark.parametrize("seed", [3, 5])
def test_low_snr_reads_like_high_snr(kind: str, snr_db: float, seed: int) -> None:
    # At 0–5 dB the P.56 threshold sinks to where noise alone leaks over the detection
    # margin; pauses then count as active speech and the level read ~1.5–2.5 dB low. The
    # error at 0/5 dB must match the error at 30 dB (which holds the test label's own bias).
    target = voice(8.0, seed=seed)
    x = np.concatenate([np.zeros(RATE // 2), target, np.zeros(RATE // 2)])
    noise = LOW_SNR_NOISES[kind](x.size, seed=seed + 10)
    low = detect_noise(mix(x, noise, snr_db), RATE).snr_db
    high = detect_noise(mix(x, noise, 30.0), RATE).snr_db
    assert low is not None and high is not None
    assert abs((low - snr_db) - (high - 30.0)) < 1.75
    assert abs(low - snr_db) < 2.5


def test_leaking_noise_is_not_counted_as_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same clip with the old detection margin (twice the noise spectrum) reads low.
    target = voice(8.0, seed=3)
    x = np.concatenate([np.zeros(RATE // 2), target, np.zeros(RATE // 2)])
    y = mix(x, white(x.size, seed=13), 0.0)
    now = detect_noise(y, RATE).snr_db
    monkeypatch.setattr(noise_module, "OVERSUBTRACT", 2.0)
    before = detect_noise(y, RATE).snr_db
    assert now is not None and before is not None
    assert now - before > 1.0


def _gated(x: np.ndarray, seed: int) -> np.ndarray:
    """``x`` switched on for 0.8–2.5 s and off for 0.3–1 s at a time: a talker with pauses."""
    rng = np.random.default_rng(seed)
    on = np.zeros(x.size)
    t = int(rng.uniform(0.0, 0.5) * RATE)
    while t < x.size:
        run = int(rng.uniform(0.8, 2.5) * RATE)
        on[t : t + run] = 1.0
        t += run + int(rng.uniform(0.3, 1.0) * RATE)
    return x * on


def _sparse_babble(n: int, seed: int, talkers: int = 4) -> np.ndarray:
    """A few talkers who pause too: the sum dips far under its mean now and then."""
    return sum(  # type: ignore[return-value]
        _gated(np.roll(voice(n / RATE, seed=100 + 10 * seed + k), 2111 * k), 1000 + 10 * seed + k)
        for k in range(talkers)
    )


@pytest.mark.parametrize("seed", [4, 5])
def test_babble_at_0_db_is_not_read_from_its_dips(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No VAD pauses. Minimum statistics read the babble's dips; capping the split's raise
    # against them (12 dB) left 0 dB babble reading 4–5 dB high. The two level classes lie
    # within FLOOR_CLASS_GAP_DB here, so the quiet class is trusted as the floor.
    target = _gated(voice(10.0, seed=seed), seed)
    x = mix(target, _sparse_babble(target.size, seed), 0.0)
    now = detect_noise(x, RATE).snr_db
    monkeypatch.setattr(noise_module, "FLOOR_CLASS_GAP_DB", -math.inf)
    capped = detect_noise(x, RATE).snr_db
    assert now is not None and capped is not None
    assert capped > 4.0  # the bias this path exists for
    assert abs(now) < 2.5


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clean_speech_without_pauses_keeps_a_high_snr(seed: int) -> None:
    # One talker with no pause at all also splits into a soft and a loud class; their gap
    # stays over FLOOR_CLASS_GAP_DB, so the soft sounds never pass for a floor.
    target = voice(10.0, seed=seed)
    x = (target + 1e-4 * white(target.size, seed=seed)).astype(np.float32)
    result = detect_noise(x, RATE)
    assert result.snr_db is not None and result.snr_db > 45.0


# --- the vectorised internals against their plain definitions --------------------------------


@settings(max_examples=30, deadline=None)
@given(n_frames=st.integers(1, 60), n_bins=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_bands_equal_reduceat(n_frames: int, n_bins: int, seed: int) -> None:
    power = np.random.default_rng(seed).random((n_frames, n_bins))
    edges = np.arange(0, n_bins, noise_module.BAND_BINS)
    want = np.add.reduceat(power, edges, axis=1)
    assert np.allclose(noise_module._bands(power), want, rtol=1e-14, atol=0.0)  # order of adds


@settings(max_examples=30, deadline=None)
@given(n_frames=st.integers(20, 300), seed=st.integers(0, 2**16))
def test_floor_spread_equals_percentiles_of_the_db_levels(n_frames: int, seed: int) -> None:
    smooth = np.random.default_rng(seed).random((n_frames, 7)) ** 6
    smooth[0, 0] = 0.0  # below the silence floor: clamped the same way
    level_db = 10.0 * np.log10(np.maximum(smooth, noise_module._TINY))
    q5, q15 = np.percentile(level_db, [5.0, 15.0], axis=0)
    assert floor_spread_db(smooth) == pytest.approx(float(np.median(q15 - q5)), abs=1e-9)


def _reference_active_level(
    frame_power: np.ndarray, detect: np.ndarray, hangover: int
) -> float | None:
    """P.56 activity as first written: one boolean row per threshold, hangover by shifts."""
    top = float(detect.max(initial=0.0))
    if top <= 0:
        return None
    thresholds = top * 10.0 ** (-np.arange(0.0, 80.0, 1.0) / 10.0)
    above = detect[None, :] > thresholds[:, None]
    active = above.copy()
    for lag in range(1, hangover + 1):
        active[:, lag:] |= above[:, :-lag]
    count = active.sum(axis=1)
    levels = (active * frame_power[None, :]).sum(axis=1) / np.maximum(count, 1)
    margin = np.where(
        count > 0, 10.0 * np.log10(np.maximum(levels, noise_module._TINY) / thresholds), -np.inf
    )
    idx = np.flatnonzero(margin >= noise_module.ACTIVE_MARGIN_DB)
    if idx.size == 0:
        return float(levels[-1]) if count[-1] > 0 else None
    i = int(idx[0])
    if i == 0 or count[i - 1] == 0:
        return float(levels[i])
    m0, m1 = float(margin[i - 1]), float(margin[i])
    w = (noise_module.ACTIVE_MARGIN_DB - m0) / (m1 - m0) if m1 != m0 else 1.0
    db0, db1 = noise_module._db(float(levels[i - 1])), noise_module._db(float(levels[i]))
    return 10.0 ** (((1 - w) * db0 + w * db1) / 10.0)


@settings(max_examples=40, deadline=None)
@given(
    n_frames=st.integers(1, 400),
    hangover=st.integers(0, 15),
    silent_share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_active_level_equals_the_threshold_by_threshold_definition(
    n_frames: int, hangover: int, silent_share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    frame_power = rng.random(n_frames) ** 4
    detect = np.where(rng.random(n_frames) < silent_share, 0.0, frame_power * rng.random(n_frames))
    got = noise_module._active_level(frame_power, detect, hangover)
    want = _reference_active_level(frame_power, detect, hangover)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=1e-9)


def test_wada_is_scale_free_and_leaves_exact_zeros_out() -> None:
    x = mix(VOICE, white(VOICE.size, seed=8), 15.0)
    base = wada_snr_db(x)
    assert base is not None
    assert wada_snr_db(x * np.float32(0.01)) == pytest.approx(base, abs=1e-4)
    padded = np.concatenate((np.zeros(5000, dtype=np.float32), x))
    assert wada_snr_db(padded) == pytest.approx(base, abs=1e-4)
    # The plain definition: G from |x| / max|x| in float64.
    a = np.abs(x.astype(np.float64))
    a = a[a > 0] / np.abs(x).max()
    g = np.log(a.mean()) - np.log(a).mean()
    assert base == pytest.approx(
        float(np.interp(g, _wada_table(), noise_module._WADA_SNRS)), abs=1e-4
    )
    assert wada_snr_db(np.zeros(5000, dtype=np.float32)) is None


def _reference_noise_spectrum(band_power: np.ndarray, pause: np.ndarray | None) -> np.ndarray:
    """Minimum statistics and refinement rounds as first written, on ``(frames, bands)``."""
    padded = np.concatenate((band_power[:1], band_power, band_power[-1:]))
    smooth = (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0
    k = max(1, round(noise_module.QUIET_FRACTION * band_power.shape[0]))
    estimate = np.partition(smooth, k - 1, axis=0)[:k].mean(axis=0)
    for _ in range(noise_module.NOISE_ROUNDS):
        noise_frames = smooth <= noise_module.NOISE_FRAME_FACTOR * estimate[None, :]
        count = noise_frames.sum(axis=0)
        total = np.where(noise_frames, band_power, 0.0).sum(axis=0)
        estimate = np.where(count > 0, total / np.maximum(count, 1), estimate)
    if pause is not None and pause.any():
        from_pauses = band_power[pause].mean(axis=0)
        raised = np.minimum(from_pauses, noise_module.MAX_PAUSE_RAISE * estimate)
        estimate = np.maximum(estimate, raised)
    return np.maximum(estimate, noise_module._TINY)


@pytest.mark.parametrize("with_pauses", [False, True])
def test_noise_spectrum_equals_the_plain_rounds(with_pauses: bool) -> None:
    from stages.analysis._spectra import power_spectrogram

    x = mix(VOICE, pink(VOICE.size, seed=4), 10.0)
    bands = noise_module._bands(power_spectrogram(x, RATE).power)
    pause = np.arange(bands.shape[0]) % 5 == 0 if with_pauses else None
    assert np.allclose(
        noise_spectrum(bands, pause), _reference_noise_spectrum(bands, pause), rtol=1e-9
    )


def test_snr_says_whether_pauses_were_its_reference() -> None:
    target = voice(6.0, seed=4)
    x = np.concatenate([np.zeros(RATE, np.float32), target, np.zeros(RATE, np.float32)])
    x = (x + 1e-3 * white(x.size, seed=4)).astype(np.float32)
    assert detect_noise(x, RATE, [(1.0, 7.0)]).from_pauses
    assert not detect_noise(x, RATE, [(0.0, 8.0)]).from_pauses  # the VAD left no pause
    assert not detect_noise(x, RATE).from_pauses  # no segments: minimum statistics alone


@pytest.mark.parametrize("seed", [0, 1])
def test_a_voice_that_reads_on_is_not_its_own_floor(seed: int) -> None:
    # Long phrases with breath and soft sounds that never fall to the floor, and only short
    # pauses: the quietest 15 % of frames are the voice's own and spread like babble, so the
    # split's quiet class is the voice. The pauses hold the floor alone; their mean bounds
    # what the split may add (a clean reading at 40 dB read 26 dB: a false low_snr error).
    rng = np.random.default_rng(seed)
    parts, segments, t = [np.zeros(RATE // 2, np.float32)], [], 0.5
    for k in range(3):
        phrase = voice(6.0, seed=10 * seed + k).astype(np.float64)
        wobble = 1.0 + 0.8 * np.sin(2 * np.pi * 0.9 * np.arange(phrase.size) / RATE)
        breath = rng.standard_normal(phrase.size) * wobble
        phrase += breath * math.sqrt(active_power(phrase.astype(np.float32))) * 10 ** (-25 / 20)
        parts += [phrase.astype(np.float32), np.zeros(round(0.4 * RATE), np.float32)]
        segments.append((t, t + 6.0))
        t += 6.4
    clean = np.concatenate(parts)
    x = mix(clean, white(clean.size, seed=seed), 40.0)
    result = detect_noise(x, RATE, segments)
    assert result.snr_db == pytest.approx(40.0, abs=3.0)

"""Tests for `stages.normalize`: source metrics, downmix, DC, resampling, loudness and ceiling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from stages.loudness import integrated_loudness, peak_dbfs
from stages.normalize import MIN_ANTI_PHASE, GainRule, Normalize, dc_offset, downmix, scan_source


def noise(n: int, *, rms: float = 0.05, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * rms).astype(np.float32)


def run(x: np.ndarray, rate: int, **config: object) -> Clip:
    return Normalize(**config)(Clip("test", samples=x, rate=rate))  # type: ignore[arg-type]


def test_source_metrics_are_measured_before_processing() -> None:
    x = noise(16000 * 3) + np.float32(0.05)
    x[1000:1010] = 1.0  # a run of 10 samples on the rail
    x[5000] = 1.0  # a lone full-scale peak does not count
    clip = run(x, 16000)
    assert clip.metrics["dc_offset"] == pytest.approx(0.05, abs=0.002)
    assert clip.metrics["clipping_ratio"] == pytest.approx(10 / x.size)
    assert clip.metrics["source_peak_dbfs"] == pytest.approx(0.0)


def test_stereo_is_downmixed_to_mono_mean() -> None:
    left = noise(16000, seed=1)
    right = noise(16000, seed=2)
    mono = downmix(np.stack([left, right], axis=1))
    assert mono.shape == (16000,) and mono.dtype == np.float32
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-7)
    clip = run(np.stack([left, right], axis=1), 16000)
    assert clip.samples is not None and clip.samples.ndim == 1


@pytest.mark.parametrize("right_gain", [-1.0, -0.7])
def test_channels_in_opposite_polarity_are_subtracted_not_added(right_gain: float) -> None:
    # A miswired balanced cable: the sum cancels the voice (to nothing at -1).
    from tests.stages.analysis._signals import voice

    left = voice(3.0, seed=3)
    stereo = np.stack([left, right_gain * left], axis=1).astype(np.float32)
    clip = run(stereo, 16000, target_lufs=-23.0)
    (finding,) = [f for f in clip.findings if f.code == "phase_inverted"]
    assert finding.severity is Severity.WARNING and "polarity" in finding.message
    assert clip.metrics["lufs"] == pytest.approx(-23.0, abs=0.5)  # the voice, not a residue
    assert clip.samples is not None
    expected = (left - right_gain * left) / 2
    assert float(np.corrcoef(clip.samples, expected)[0, 1]) > 0.95  # (after the rumble filter)


@pytest.mark.parametrize(("f0_hz", "delay_ms"), [(250.0, 2.0), (180.0, 3.0), (120.0, 4.0)])
def test_a_spaced_pair_anti_correlated_unshifted_is_not_called_inverted(
    f0_hz: float, delay_ms: float
) -> None:
    # Two microphones a metre or so apart: the far one hears the voice 6 dB down and a few
    # ms late. Unshifted, a voice's periodicity can make the channels anti-correlated
    # (-0.56 on a real prompt); shifted by the delay they agree. Not a miswired cable.
    from stages.analysis.channels import stereo_frames
    from tests.conftest import speechlike

    left = speechlike(4.0, 16000, f0_hz=f0_hz)
    delay = round(delay_ms * 16000 / 1000)
    right = 0.5 * np.concatenate((np.zeros(delay, np.float32), left[:-delay]))
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    frames = stereo_frames(stereo, 16000)
    assert frames is not None and frames.correlation is not None
    assert frames.correlation <= -MIN_ANTI_PHASE  # what the polarity check alone reads
    clip = run(stereo, 16000)
    assert "phase_inverted" not in clip.codes()
    assert clip.samples is not None
    expected = (stereo[:, 0] + stereo[:, 1]) / 2
    assert float(np.corrcoef(clip.samples, expected)[0, 1]) > 0.95


@pytest.mark.parametrize("make_right", [lambda left: 0.8 * left, lambda left: noise(left.size)])
def test_same_or_unrelated_channels_are_added(make_right: Any) -> None:
    left = noise(16000 * 2, seed=8)
    stereo = np.stack([left, make_right(left)], axis=1).astype(np.float32)
    clip = run(stereo, 16000)
    assert "phase_inverted" not in clip.codes()
    assert clip.samples is not None
    expected = (stereo[:, 0] + stereo[:, 1]) / 2
    assert float(np.corrcoef(clip.samples, expected)[0, 1]) > 0.95


def test_dc_offset_is_removed_and_source_left_alone() -> None:
    x = noise(16000 * 2) + np.float32(0.2)
    original = x.copy()
    clip = run(x, 16000)
    assert clip.samples is not None
    assert abs(float(clip.samples.mean())) < 1e-4
    np.testing.assert_array_equal(x, original)
    kept = run(x, 16000, remove_dc=False)
    assert kept.samples is not None and float(kept.samples.mean()) > 0.01


@pytest.mark.parametrize(("source_rate", "target_rate"), [(16000, 16000), (48000, 8000)])
def test_a_bias_only_while_the_voice_sounds_leaves_the_pauses_silent(
    source_rate: int, target_rate: int
) -> None:
    """Prompts with their own DC joined by digital silence: subtracting the mean would leave
    every pause at a constant offset, which the noise estimate reads as a loud floor."""
    n = source_rate * 4
    x = np.zeros(n, dtype=np.float32)
    burst = slice(source_rate // 2, 2 * source_rate)  # speech from 0.5 to 2 s, then a pause
    x[burst] = noise(burst.stop - burst.start, rms=0.1) + np.float32(0.05)
    clip = run(x, source_rate, sample_rate=target_rate, target_lufs=-23.0)
    assert clip.samples is not None
    pause = clip.samples[int(2.5 * target_rate) : int(3.9 * target_rate)]
    assert peak_dbfs(pause) < -60.0  # the mean alone leaves about -35 dBFS here
    speech = clip.samples[int(0.6 * target_rate) : int(1.9 * target_rate)]
    assert abs(float(speech.mean())) < 1e-3


def test_dc_offset_reports_the_worst_channel() -> None:
    x = np.zeros((100, 2), dtype=np.float32)
    x[:, 1] = -0.3
    assert dc_offset(x) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("src", "dst"), [(48000, 8000), (44100, 16000), (22050, 24000), (8000, 8000)]
)
def test_resamples_to_the_target_rate_and_length(src: int, dst: int) -> None:
    x = noise(src * 2)
    clip = run(x, src, sample_rate=dst)
    assert clip.rate == dst
    assert clip.samples is not None and clip.samples.dtype == np.float32
    assert clip.samples.shape[0] == pytest.approx(2 * dst, abs=1)


@pytest.mark.parametrize("target", [-16.0, -23.0, -30.0])
def test_loudness_reaches_target_when_the_ceiling_allows(target: float) -> None:
    clip = run(noise(16000 * 4, rms=0.01), 16000, target_lufs=target)
    assert clip.samples is not None
    measured = integrated_loudness(clip.samples, 16000)
    assert measured == pytest.approx(target, abs=0.1)
    assert clip.metrics["lufs"] == pytest.approx(measured, abs=0.01)
    assert "loudness_ceiling" not in clip.codes()
    assert clip.metrics["peak_dbfs"] == pytest.approx(peak_dbfs(clip.samples))


def test_ceiling_holds_loudness_back_and_warns() -> None:
    # A sparse click train: high peak, low loudness, so -16 LUFS is out of reach.
    x = np.zeros(16000 * 4, dtype=np.float32)
    x[::4000] = 0.5
    x += noise(x.size, rms=0.003)
    clip = run(x, 16000, target_lufs=-16.0, ceiling_dbfs=-1.0)
    assert clip.samples is not None
    assert peak_dbfs(clip.samples) <= -1.0
    assert peak_dbfs(clip.samples) == pytest.approx(-1.0, abs=0.01)
    reached = integrated_loudness(clip.samples, 16000)
    assert reached < -16.5
    assert clip.metrics["lufs"] == pytest.approx(reached, abs=0.05)
    [finding] = [f for f in clip.findings if f.code == "loudness_ceiling"]
    assert finding.severity is Severity.WARNING
    assert "-16 LUFS" in finding.message and "-1 dBFS" in finding.message
    assert f"{clip.metrics['lufs']:.1f} LUFS" in finding.message
    short = -16.0 - clip.metrics["lufs"]
    assert f"{short:.1f} dB under the -16 LUFS target" in finding.message
    assert f"will play {short:.1f} dB quieter" in finding.message


def test_silence_gets_no_gain_and_no_crash() -> None:
    clip = run(np.zeros(16000 * 2, dtype=np.float32), 16000)
    assert not clip.failed
    assert clip.metrics["gain_db"] == 0.0
    assert clip.metrics["lufs"] == -math.inf
    assert clip.samples is not None and not clip.samples.any()


def test_missing_audio_is_an_error_finding() -> None:
    clip = Normalize()(Clip("test"))
    assert clip.failed and clip.codes() == ["no_audio"]


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(-40.0, 0.0),
    ceiling=st.floats(-12.0, 0.0),
    level=st.floats(0.001, 1.0),
    spikes=st.integers(0, 20),
    seed=st.integers(0, 10_000),
)
def test_peak_never_exceeds_ceiling(
    target: float, ceiling: float, level: float, spikes: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(16000) * level * 0.2).astype(np.float32)
    x[rng.integers(0, x.size, spikes)] = np.float32(level)
    # Resampling (16 -> 8 kHz) can overshoot the source peak; the ceiling must still hold.
    clip = run(x, 16000, sample_rate=8000, target_lufs=target, ceiling_dbfs=ceiling)
    assert clip.samples is not None
    assert float(np.max(np.abs(clip.samples))) <= 10 ** (ceiling / 20)
    assert clip.metrics["peak_dbfs"] <= ceiling


@settings(max_examples=60, deadline=None)
@given(
    frames=st.integers(1, 70_000),
    channels=st.integers(2, 5),
    offset=st.floats(-0.5, 0.5),
    seed=st.integers(0, 2**16),
)
def test_scan_source_equals_the_separate_measurements(
    frames: int, channels: int, offset: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((frames, channels)) * 0.3 + offset).astype(np.float32)
    scan = scan_source(x)
    assert np.array_equal(scan.mono, downmix(x))  # bit for bit: the output audio depends on it
    assert np.array_equal(scan.highs, x.max(axis=0))
    assert np.array_equal(scan.lows, x.min(axis=0))
    assert scan.peak_dbfs == peak_dbfs(x)
    exact = np.abs(x.astype(np.float64).sum(axis=0)).max() / frames
    assert scan.dc_offset(frames) == pytest.approx(exact, rel=1e-5, abs=1e-9)
    assert dc_offset(x) == pytest.approx(exact, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("shape", [(0, 2), (1000,), (3000, 1)])
def test_scan_source_handles_mono_and_empty_sources(shape: tuple[int, ...]) -> None:
    x = np.full(shape, 0.25, dtype=np.float32)
    scan = scan_source(x)
    assert np.array_equal(scan.mono, downmix(x))
    assert scan.peak_dbfs == peak_dbfs(x)
    assert scan.dc_offset(x.shape[0]) == pytest.approx(0.25 if x.size else 0.0)


def sparse_clicks(rate: int = 16000, seconds: float = 4.0) -> np.ndarray:
    """Two clicks in steady noise: peaks ~33 dB over the noise, which carries the loudness."""
    x = noise(int(rate * seconds), rms=0.02)
    x[[rate, 3 * rate]] = 0.9
    return x


def speechlike(rate: int = 16000, seconds: float = 6.0) -> np.ndarray:
    """Syllables of harmonics and noise; crest factor ~18 dB (see tests/stages/test_limiter.py)."""
    from tests.stages.test_limiter import speech_like

    return speech_like(rate, seconds)


def test_limiter_off_is_the_default_and_changes_nothing() -> None:
    x = speechlike()
    default = run(x.copy(), 16000)
    off = run(x.copy(), 16000, limiter=False)
    assert default.samples is not None and off.samples is not None
    assert np.array_equal(default.samples, off.samples)
    assert default.metrics == off.metrics
    assert "limiter_gain_db" not in off.metrics
    # The ceiling wins exactly as before: the peak lands on it, one linear gain.
    assert off.metrics["peak_dbfs"] == pytest.approx(-1.0, abs=1e-4)
    [finding] = [f for f in off.findings if f.code == "loudness_ceiling"]
    assert "--limiter" in finding.message and "limiter = true" in finding.message
    assert "--target-lufs" in finding.message


def test_limiter_on_reaches_the_target_under_the_ceiling() -> None:
    off = run(speechlike(), 16000)
    assert off.metrics["lufs"] < -17.0  # the ceiling alone holds it well below the target
    clip = run(speechlike(), 16000, limiter=True)
    assert clip.samples is not None
    reached = integrated_loudness(clip.samples, 16000)
    assert reached == pytest.approx(-16.0, abs=0.5)
    assert clip.metrics["lufs"] == pytest.approx(reached, abs=1e-9)  # measured, not estimated
    assert peak_dbfs(clip.samples) <= -1.0
    assert clip.metrics["peak_dbfs"] == pytest.approx(peak_dbfs(clip.samples))
    assert -6.0 - 1e-3 <= clip.metrics["limiter_gain_db"] < 0.0
    # The extra gain over the ceiling-bound one is exactly what the limiter took off the peak.
    extra_db = clip.metrics["gain_db"] - off.metrics["gain_db"]
    assert extra_db == pytest.approx(-clip.metrics["limiter_gain_db"], abs=1e-3)
    assert "loudness_ceiling" not in clip.codes()


def test_limiter_on_but_not_needed_changes_nothing() -> None:
    x = noise(16000 * 4, rms=0.01)  # Gaussian noise: crest ~13 dB, fits under the ceiling
    on = run(x.copy(), 16000, limiter=True)
    off = run(x.copy(), 16000)
    assert on.samples is not None and off.samples is not None
    assert np.array_equal(on.samples, off.samples)
    assert on.metrics["limiter_gain_db"] == 0.0
    assert (
        run(np.zeros(1600, dtype=np.float32), 16000, limiter=True).metrics["limiter_gain_db"] == 0.0
    )


@pytest.mark.parametrize("max_db", [0.0, 3.0, 6.0])
def test_limiting_stops_at_max_limiting_db_and_warns(max_db: float) -> None:
    x = sparse_clicks()
    off = run(x.copy(), 16000)
    clip = run(x.copy(), 16000, limiter=True, max_limiting_db=max_db)
    assert clip.samples is not None
    assert peak_dbfs(clip.samples) <= -1.0
    assert clip.metrics["limiter_gain_db"] == pytest.approx(-max_db, abs=1e-3)
    reached = integrated_loudness(clip.samples, 16000)
    assert clip.metrics["lufs"] == pytest.approx(reached, abs=1e-9)
    # The limiter touches little but the clicks: each dB of limiting buys nearly a dB of
    # loudness (a little less: the noise around each click is turned down for ~100 ms too).
    gained = reached - off.metrics["lufs"]
    assert 0.85 * max_db - 0.05 <= gained <= max_db + 0.05
    [finding] = [f for f in clip.findings if f.code == "loudness_ceiling"]
    assert finding.severity is Severity.WARNING
    assert f"at most {max_db:g} dB of limiting" in finding.message
    assert f"{reached:.1f} LUFS" in finding.message
    assert "max_limiting_db" in finding.message and "--target-lufs" in finding.message


@settings(max_examples=25, deadline=None)
@given(
    target=st.floats(-30.0, -6.0),
    ceiling=st.floats(-6.0, 0.0),
    max_db=st.floats(0.0, 12.0),
    spikes=st.integers(0, 20),
    seed=st.integers(0, 10_000),
)
def test_limiter_keeps_the_ceiling_and_its_depth_bound(
    target: float, ceiling: float, max_db: float, spikes: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(16000) * 0.05).astype(np.float32)
    x[rng.integers(0, x.size, spikes)] = np.float32(0.9)
    clip = run(
        x,
        16000,
        sample_rate=8000,
        target_lufs=target,
        ceiling_dbfs=ceiling,
        limiter=True,
        max_limiting_db=max_db,
    )
    assert clip.samples is not None
    assert float(np.max(np.abs(clip.samples))) <= 10 ** (ceiling / 20)
    assert -max_db - 1e-3 <= clip.metrics["limiter_gain_db"] <= 0.0
    reached = clip.metrics["lufs"]
    if "loudness_ceiling" not in clip.codes():
        assert reached == pytest.approx(target, abs=0.5)
    else:
        assert reached < target - 0.5


def test_mono_adds_the_channels_and_passes_mono_through() -> None:
    from stages.normalize import mono

    stereo = np.array([[0.2, 0.4], [-0.2, 0.0]], dtype=np.float32)
    assert np.allclose(mono(stereo), [0.3, -0.1])
    assert mono(stereo[:, :1]).shape == (2,)
    already = np.zeros(8, dtype=np.float32)
    assert mono(already) is already  # measuring needs no copy


@pytest.mark.parametrize("peak_db", [-65.0, -80.0])
def test_a_take_under_the_silence_gate_is_measured_and_raised(peak_db: float) -> None:
    # BS.1770 calls everything under -70 LKFS silence; a voice peaking at -65 dBFS is not.
    from tests.stages.analysis._signals import voice

    x = voice(4.0, seed=4)
    x = (x / np.abs(x).max() * 10 ** (peak_db / 20)).astype(np.float32)
    assert not math.isfinite(integrated_loudness(x, 16000))
    clip = run(x, 16000, target_lufs=-23.0)
    (finding,) = [f for f in clip.findings if f.code == "low_level"]
    assert finding.severity is Severity.WARNING and "input gain" in finding.message
    assert "far below -70 LUFS, where loudness meters stop counting sound" in finding.message
    assert "BS.1770" not in finding.message and "LKFS" not in finding.message
    assert clip.metrics["lufs"] == pytest.approx(-23.0, abs=0.5)
    assert clip.metrics["gain_db"] > 50.0


def test_a_steady_hiss_under_the_gate_is_left_alone() -> None:
    hiss = noise(16000 * 3, rms=10 ** (-80 / 20))
    assert not math.isfinite(integrated_loudness(hiss, 16000))
    clip = run(hiss, 16000)
    assert clip.metrics["gain_db"] == 0.0 and "low_level" not in clip.codes()


def test_the_gain_rule_is_normalize_s_own() -> None:
    stage = Normalize(target_lufs=-20.0, ceiling_dbfs=-2.0, limiter=True, max_limiting_db=4.0)
    assert stage.gain_rule == GainRule(-20.0, -2.0, True, 4.0)
    with pytest.raises(ConfigurationError, match="max_limiting_db"):
        GainRule(max_limiting_db=-1.0)
    with pytest.raises(ConfigurationError, match="sample_rate"):
        Normalize(sample_rate=0)


def test_levelling_again_spends_only_the_limiting_left() -> None:
    rule = GainRule(limiter=True, max_limiting_db=6.0)
    fresh = rule.apply(speechlike().copy(), 16000)
    assert fresh.limiting_db is not None and 0.0 < fresh.limiting_db <= 6.0 + 1e-3
    spent = rule.apply(speechlike().copy(), 16000, limited_db=6.0)  # nothing left to spend
    assert spent.limiting_db == pytest.approx(0.0, abs=1e-3)
    assert spent.peak_dbfs <= -1.0 + 1e-4
    assert spent.shortfall is not None and "reached" in spent.shortfall


def test_levelling_a_levelled_clip_again_replaces_its_level_and_warning() -> None:
    x = speechlike()
    clip = run(x.copy(), 16000)
    assert clip.codes() == ["loudness_ceiling"]
    first_gain = clip.metrics["gain_db"]
    assert clip.samples is not None
    quieter_half = clip.samples[: clip.samples.size // 2] * np.float32(0.1)
    Normalize().gain_rule.level_clip(clip, quieter_half.copy(), again=True)
    assert clip.codes() == ["loudness_ceiling"]  # one warning, about this audio
    assert clip.metrics["peak_dbfs"] == pytest.approx(peak_dbfs(clip.samples), abs=1e-6)
    raised_db = clip.metrics["peak_dbfs"] - peak_dbfs(quieter_half)  # held by the ceiling
    assert clip.metrics["gain_db"] == pytest.approx(first_gain + raised_db, abs=1e-3)
    assert f"reached {clip.metrics['lufs']:.1f} LUFS" in clip.findings[0].message

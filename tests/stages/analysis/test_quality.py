"""DNSMOS P.835 quality scores (extra voiceprep[dnsmos]) and the `low_quality` finding."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from pipeline.profiles import AnalysisThresholds, load_profile
from stages.analysis.quality import (
    INTERFERENCE_LIMIT,
    MODEL_RATE,
    WINDOW,
    QualityResult,
    detect_quality,
    locate_interference,
    require_dnsmos,
    window_starts,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "session"


def need_dnsmos() -> None:
    """The extra is tested for real in CI (a skip there would hide a broken extra)."""
    missing = [m for m in ("onnxruntime", "speechmos") if importlib.util.find_spec(m) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"dnsmos extra not installed ({', '.join(missing)})")
    assert not missing, f"CI must install the dnsmos extra; missing {missing}"


def speech(name: str = "cloning_sample_en-us_22k.wav") -> tuple[np.ndarray, int]:
    import soundfile as sf

    samples, rate = sf.read(FIXTURES / name, dtype="float32", always_2d=False)
    return samples, rate


def at_model_rate(name: str) -> np.ndarray:
    import soxr

    from stages.normalize import mono

    x, rate = speech(name)
    return soxr.resample(mono(x), rate, MODEL_RATE).astype(np.float32)


def under(x: np.ndarray, other: np.ndarray, *, at: int = 0) -> np.ndarray:
    """``other`` mixed into ``x`` from sample ``at``, at the same level (looped to fill)."""

    def level(v: np.ndarray) -> float:
        return float(np.sqrt(np.mean(v[np.abs(v) > 0.01] ** 2)))

    fill = np.tile(other, -(-(x.shape[0] - at) // other.shape[0]))[: x.shape[0] - at]
    mixed = x.copy()
    mixed[at:] += fill * (level(x) / level(other))
    return (mixed / np.abs(mixed).max() * 0.7).astype(np.float32)


def noisy(x: np.ndarray, snr_db: float, *, seed: int = 0) -> np.ndarray:
    power = float(np.mean(x[np.abs(x) > 1e-3] ** 2))
    noise = np.random.default_rng(seed).standard_normal(x.shape[0]) * np.sqrt(
        power / 10 ** (snr_db / 10)
    )
    return (x + noise).astype(np.float32)


# --- windows (no model needed) --------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(WINDOW, 80 * MODEL_RATE))
def test_tiling_windows_cover_the_clip_with_as_few_as_needed(n: int) -> None:
    starts = window_starts(n)
    assert starts[0] == 0 and starts[-1] == n - WINDOW
    assert starts.shape[0] == -(-n // WINDOW)
    assert (np.diff(starts) <= WINDOW).all()  # no gaps between windows


@settings(max_examples=100, deadline=None)
@given(st.integers(WINDOW, 80 * MODEL_RATE))
def test_one_second_hop_matches_the_reference_count(n: int) -> None:
    # The DNSMOS reference scores int(floor(n / fs) - 9.01) + 1 windows, 1 s apart.
    starts = window_starts(n, hop_s=1.0)
    reference = int(np.floor(n / MODEL_RATE) - WINDOW / MODEL_RATE) + 1
    assert abs(starts.shape[0] - reference) <= 1
    assert (np.diff(starts) == MODEL_RATE).all()
    assert starts[-1] + WINDOW <= n


def test_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import stages.analysis.quality as quality

    real = importlib.util.find_spec
    monkeypatch.setattr(
        quality.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "speechmos" else real(name, *a),
    )
    with pytest.raises(ConfigurationError, match=r"voiceprep\[dnsmos\]"):
        require_dnsmos()
    from stages.analyze import Analyze

    with pytest.raises(ConfigurationError, match=r"voiceprep\[dnsmos\]"):
        Analyze(quality="dnsmos")


def test_unknown_quality_method_is_refused() -> None:
    from stages.analyze import Analyze

    with pytest.raises(ConfigurationError, match="dnsmos"):
        Analyze(quality="pesq")


# --- the model (extra) ----------------------------------------------------------------------


def test_noise_lowers_background_and_overall_scores() -> None:
    need_dnsmos()
    x, rate = speech()
    clean = detect_quality(x, rate)
    assert 1.0 <= clean.ovrl <= 5.0 and 1.0 <= clean.sig <= 5.0 and 1.0 <= clean.bak <= 5.0
    assert clean.bak > 3.5 and clean.ovrl > 2.8
    previous = clean
    for snr_db in (20.0, 5.0):
        score = detect_quality(noisy(x, snr_db), rate)
        assert score.bak < previous.bak - 0.3, (snr_db, score, previous)
        assert score.ovrl < previous.ovrl
        previous = score
    assert previous.bak < 2.0


def test_short_clips_fill_one_window_and_rates_and_channels_are_handled() -> None:
    need_dnsmos()
    x, rate = speech("greeting_en-us_16k.wav")  # 4.3 s, 16 kHz
    mono = detect_quality(x, rate)
    assert mono.windows == 1
    import soxr

    resampled = detect_quality(soxr.resample(x, rate, 24000).astype(np.float32), 24000)
    assert resampled.ovrl == pytest.approx(mono.ovrl, abs=0.15)
    stereo = detect_quality(np.stack([x, x], axis=1), rate)
    assert stereo.ovrl == pytest.approx(mono.ovrl, abs=1e-3)


def test_long_clips_score_a_bounded_number_of_windows() -> None:
    need_dnsmos()
    x, rate = speech()
    long = np.tile(x, 8)  # ~95 s
    assert detect_quality(long, rate, max_windows=3).windows == 3
    assert detect_quality(long, rate, hop_s=1.0, max_windows=5).windows == 5


def test_analyze_reports_dnsmos_metrics_and_low_quality() -> None:
    need_dnsmos()
    from stages.analyze import Analyze

    x, rate = speech()
    bad = noisy(x, 10.0)
    strict = replace(AnalysisThresholds(), min_dnsmos_ovrl=2.5)
    clip = Analyze(thresholds=strict, quality="dnsmos")(Clip("t", samples=bad, rate=rate))
    m = clip.metrics
    assert {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak"} <= m.keys()
    assert m["dnsmos_ovrl"] < 2.5
    found = [f for f in clip.findings if f.code == "low_quality"]
    assert len(found) == 1 and found[0].severity.value == "warning"
    assert "2.5" in found[0].message and "re-record" in found[0].message

    clean = Analyze(thresholds=strict, quality="dnsmos")(Clip("t", samples=x, rate=rate))
    assert "low_quality" not in clean.codes()
    # No threshold (IVR profiles): metrics only.
    plain = Analyze(quality="dnsmos")(Clip("t", samples=bad, rate=rate))
    assert "dnsmos_ovrl" in plain.metrics and "low_quality" not in plain.codes()
    # Off by default: no DNSMOS work, no metrics.
    assert "dnsmos_ovrl" not in Analyze()(Clip("t", samples=x, rate=rate)).metrics


def test_voice_cloning_profile_sets_a_quality_limit_and_ivr_does_not() -> None:
    assert load_profile("tencent-vod-voice").analysis.min_dnsmos_ovrl is not None
    assert load_profile("yeastar-prompt").analysis.min_dnsmos_ovrl is None


# --- an interfering talker (extra) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("main", "other"),
    [
        ("stereo_fr_16k.wav", "short_de_16k.wav"),
        ("stereo_fr_16k.wav", "transfer_en-us_44k.mp3"),
        ("greeting_en-us_16k.wav", "hours_de_22k.flac"),
        ("greeting_en-us_16k.wav", "short_de_16k.wav"),
    ],
)
def test_a_voice_under_the_take_widens_the_interference_gap(main: str, other: str) -> None:
    need_dnsmos()
    x = at_model_rate(main)
    alone = detect_quality(x, MODEL_RATE, interference=True)
    both = detect_quality(under(x, at_model_rate(other)), MODEL_RATE, interference=True)
    assert alone.interference is not None and both.interference is not None
    assert both.interference > alone.interference + 0.5, (alone, both)
    # The gap is the same whichever model reports the scores.
    personal = detect_quality(x, MODEL_RATE, personalized=True, interference=True)
    assert personal.interference == pytest.approx(alone.interference, abs=1e-6)
    assert personal.bak < alone.bak
    assert detect_quality(x, MODEL_RATE).interference is None  # only when asked


@pytest.mark.parametrize("main", ["stereo_fr_16k.wav", "greeting_en-us_16k.wav"])
def test_locate_interference_finds_the_overlapped_stretch(main: str) -> None:
    need_dnsmos()
    voice = at_model_rate(main)
    pause = np.zeros(MODEL_RATE // 2, dtype=np.float32)
    take = np.concatenate([voice, pause, voice, pause, voice])
    at = take.shape[0] - voice.shape[0]
    start, end = locate_interference(
        under(take, at_model_rate("short_de_16k.wav"), at=at), MODEL_RATE
    )
    assert end - start == pytest.approx(4.5, abs=0.01)
    assert start <= at / MODEL_RATE < end
    # A clip no longer than one stretch is its own answer.
    assert locate_interference(voice, MODEL_RATE) == (0.0, voice.shape[0] / MODEL_RATE)


def analyze_with_gap(
    monkeypatch: pytest.MonkeyPatch, gap: float, samples: np.ndarray, rate: int
) -> Clip:
    """`Analyze` with DNSMOS on, its scores replaced by ones with this interference gap."""
    import stages.analysis.quality as quality
    from stages.analyze import Analyze

    scores = QualityResult(sig=3.5, bak=3.8, ovrl=3.1, windows=1, interference=gap)
    monkeypatch.setattr(quality, "detect_quality", lambda *a, **k: scores)
    monkeypatch.setattr(quality, "locate_interference", lambda *a, **k: (2.0, 6.5))
    return Analyze(quality="dnsmos")(Clip("t", samples=samples, rate=rate))


def test_analyze_warns_of_a_voice_under_the_speech_from_the_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    need_dnsmos()
    x, rate = speech()
    clip = analyze_with_gap(monkeypatch, INTERFERENCE_LIMIT + 0.2, x, rate)
    found = [f for f in clip.findings if f.code == "multiple_speakers"]
    assert len(found) == 1 and found[0].severity.value == "warning"
    assert "2.0–6.5 s" in found[0].message and "interfering talker" in found[0].message
    assert clip.metrics["speaker_count"] == 2
    assert clip.metrics["dnsmos_interference"] == pytest.approx(INTERFERENCE_LIMIT + 0.2)

    below = analyze_with_gap(monkeypatch, INTERFERENCE_LIMIT - 0.05, x, rate)
    assert "multiple_speakers" not in below.codes() and below.metrics["speaker_count"] == 1


def test_a_clipped_take_is_not_judged_by_the_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    # Clipping distortion lowers the personalised model's background score too.
    need_dnsmos()
    x, rate = speech()
    clipped = np.clip(x * 8.0, -1.0, 1.0).astype(np.float32)
    clip = analyze_with_gap(monkeypatch, INTERFERENCE_LIMIT + 0.5, clipped, rate)
    assert clip.metrics["clipping_ratio"] > 0
    assert "multiple_speakers" not in clip.codes()

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
    MODEL_RATE,
    WINDOW,
    detect_quality,
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

"""`Analyze`: levels measured on the clip, thresholds judged with the profile's severity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from pipeline.profiles import AnalysisThresholds, load_profile
from stages.analyze import Analyze, speech_ratio
from tests.conftest import tone

RATE = 16000


def speechlike(dur_s: float, rate: int) -> np.ndarray:
    """Voiced syllables at ~4 Hz, irregularly timed, whose pitch glides like intonation (peak 0.5).

    (A steady-pitch harmonic complex reads as a tone to the no-speech check.)
    """
    t = np.arange(round(dur_s * rate)) / rate
    f0 = 140.0 * (1 + 0.2 * np.sin(2 * np.pi * 3.1 * t) + 0.1 * np.sin(2 * np.pi * 0.9 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    k = np.arange(1, 40)[:, None]
    voiced = (np.sin(k * phase[None, :]) / k).sum(axis=0)
    # Syllables at ~4 Hz whose timing drifts, as a talker's does (a metronomic train has
    # the regular beat of music).
    envelope = np.abs(np.sin(2 * np.pi * 2.0 * t + 1.2 * np.sin(2 * np.pi * 0.37 * t))) ** 0.5
    out = voiced * envelope
    return (0.5 * out / float(np.max(np.abs(out)))).astype(np.float32)


def clip_of(samples: np.ndarray, segments: list[tuple[float, float]], **metrics: Any) -> Clip:
    clip = Clip(source="take.wav", samples=samples, rate=RATE, segments=segments)
    clip.metrics.update(metrics)
    return clip


def speech_clip(**metrics: Any) -> Clip:
    """3 s of speech-like signal, all of it speech, with clean earlier-stage metrics."""
    base = {"snr_db": 40.0, "clipping_ratio": 0.0, "dc_offset": 0.0, "speech_ratio": 1.0}
    base.update(metrics)
    return clip_of(speechlike(3.0, RATE), [(0.0, 3.0)], **base)


def finding(clip: Clip, code: str) -> Any:
    found = [f for f in clip.findings if f.code == code]
    return found[0] if found else None


def test_clean_speech_has_no_findings_and_measures_levels() -> None:
    clip = Analyze()(speech_clip())
    assert clip.findings == []
    m = clip.metrics
    assert m["duration_s"] == pytest.approx(3.0)
    assert m["peak_dbfs"] == pytest.approx(20 * math.log10(0.5), abs=0.01)
    assert m["rms_dbfs"] < m["peak_dbfs"]
    assert -30 < m["lufs"] < -5
    assert m["speech_ratio"] == pytest.approx(1.0)


def test_full_scale_sine_levels_are_known() -> None:
    clip = Analyze()(clip_of(tone(1000, 2.0, RATE, amp=1.0), [(0.0, 2.0)], snr_db=None))
    assert clip.metrics["peak_dbfs"] == pytest.approx(0.0, abs=0.01)
    assert clip.metrics["rms_dbfs"] == pytest.approx(-3.01, abs=0.02)
    # BS.1770: a full-scale 1 kHz sine in one channel reads -3.01 LUFS.
    assert clip.metrics["lufs"] == pytest.approx(-3.01, abs=0.1)


def test_a_take_trim_found_too_short_is_still_judged() -> None:
    # Music or a tone cut by the VAD to a few seconds: "too short" alone would hide that it
    # holds no speech at all. Any other error still stops the analysis.
    from stages.trim import Trim

    take = clip_of(tone(1000, 3.0, RATE, amp=0.5), [(0.5, 2.5)], snr_db=None)
    take = Analyze()(Trim(min_s=5.0)(take))
    assert [(f.code, f.severity) for f in take.findings] == [
        ("too_short", Severity.ERROR),
        ("no_speech", Severity.WARNING),  # the take has failed already: this says why
    ]
    # Only whether it is speech: a tight cut of a few seconds has no pause to judge noise in.
    short = Analyze(thresholds=load_profile("tencent-vod-voice").analysis)(
        Trim(min_s=5.0)(clip_of(speechlike(3.0, RATE), [(0.0, 3.0)], snr_db=3.0))
    )
    assert [f.code for f in short.findings] == ["too_short"]
    broken = clip_of(tone(1000, 3.0, RATE, amp=0.5), [(0.5, 2.5)], snr_db=None)
    broken.report("corrupt_input", Severity.ERROR, "decode", "the file is damaged")
    assert [f.code for f in Analyze()(broken).findings] == ["corrupt_input"]


def test_a_take_too_long_to_cut_at_a_pause_is_still_judged() -> None:
    """35 s of swelling hiss: no pause to cut at, so `too_long`; it should also say why."""
    from stages.trim import Trim
    from tests.stages.analysis.test_voicing import swelling

    hiss = 0.3 * swelling(np.random.default_rng(2).standard_normal(35 * RATE), RATE)
    take = Analyze()(Trim(max_s=30.0)(clip_of(hiss, [(0.0, 35.0)], snr_db=None)))
    assert [(f.code, f.severity) for f in take.findings] == [
        ("too_long", Severity.ERROR),
        ("no_speech", Severity.WARNING),
    ]


def test_silence_is_no_speech_error() -> None:
    silence = np.zeros(RATE * 2, dtype=np.float32)
    clip = Analyze()(clip_of(silence, [], speech_ratio=0.0, snr_db=None))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.ERROR
    assert "right take" in f.message
    assert clip.failed


def test_a_speck_of_speech_is_still_no_speech() -> None:
    clip = Analyze()(clip_of(speechlike(10.0, RATE), [(1.0, 1.1)], speech_ratio=0.01))
    assert finding(clip, "no_speech") is not None
    assert finding(clip, "low_speech_ratio") is None


def test_a_steady_voice_gets_a_no_speech_warning_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Level-pitch syllables that stop between them: steady like music, paced like a voice."""
    import stages.analysis.speech as speech_module
    from tests.stages.analysis.test_speech import vowel_train

    # The learned check not sure of music (real steady voices score <= 0.07; this synthetic
    # one, keyed harmonic notes, 0.999: see the next test).
    monkeypatch.setattr(speech_module, "MUSIC_THRESHOLD", 1.01)
    x = vowel_train(9.0, RATE, f0_hz=300.0, seed=300)
    clip = Analyze(speakers="default")(clip_of(x, [(0.2, 8.8)], speech_ratio=0.95))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.WARNING, clip.findings
    assert "listen to it" in f.message
    assert not clip.failed
    assert clip.metrics["speech_ratio"] > 0.9  # still judged as speech downstream
    assert "speaker_count" in clip.metrics


def test_a_steady_voice_the_learned_check_calls_music_is_a_no_speech_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two independent checks hear music (steady lines, and the learned check): no doubt left.
    import stages.analysis.speech as speech_module
    from tests.stages.analysis.test_speech import vowel_train

    monkeypatch.setattr(speech_module, "MUSIC_THRESHOLD", 0.0)  # every clip scores over it
    x = vowel_train(9.0, RATE, f0_hz=300.0, seed=300)
    clip = Analyze()(clip_of(x, [(0.2, 8.8)], speech_ratio=0.95))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.ERROR, clip.findings
    assert "stops like a voice" in f.message and "learned speech/music check" in f.message
    assert clip.failed and clip.metrics["speech_ratio"] == 0.0


def test_a_chord_sequence_is_a_no_speech_error() -> None:
    from tests.stages.analysis.test_speech import legato_chords

    x = legato_chords(9.0, RATE, step_s=0.4)
    clip = Analyze(speakers="default")(clip_of(x, [(0.0, 9.0)], speech_ratio=1.0))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.ERROR, clip.findings
    assert clip.failed and clip.metrics["speech_ratio"] == 0.0
    assert "speaker_count" not in clip.metrics


def test_a_bass_line_under_a_voice_like_rhythm_is_a_no_speech_error() -> None:
    from stages.analysis.bass import MIN_BASS_DB
    from tests.stages.analysis.test_bass import bass_line

    x = speechlike(10.0, RATE)
    song = x + (0.6 * bass_line(10.0, RATE)).astype(np.float32)
    clip = Analyze()(clip_of(song, [(0.0, 10.0)], speech_ratio=1.0))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.ERROR, clip.findings
    assert "under 75 Hz" in f.message and "bass line" in f.message
    assert clip.metrics["speech_bass_db"] >= MIN_BASS_DB
    plain = Analyze()(speech_clip())
    assert plain.metrics["speech_bass_db"] is None and finding(plain, "no_speech") is None


def test_hiss_swelling_like_syllables_is_a_no_speech_error_for_want_of_vowels() -> None:
    from stages.analysis.voicing import MIN_VOICED_SHARE
    from tests.stages.analysis.test_voicing import swelling

    hiss = 0.3 * swelling(np.random.default_rng(4).standard_normal(10 * RATE), RATE)
    clip = Analyze()(clip_of(hiss, [(0.0, 10.0)], speech_ratio=1.0))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.ERROR, clip.findings
    assert "no voiced sound" in f.message and "whisper" in f.message
    assert clip.metrics["speech_voiced_share"] < MIN_VOICED_SHARE
    plain = Analyze()(speech_clip())
    assert plain.metrics["speech_voiced_share"] > 0.5 and finding(plain, "no_speech") is None


def test_speech_ratio_comes_from_segments_of_current_samples() -> None:
    clip = Analyze()(clip_of(speechlike(4.0, RATE), [(0.0, 1.0), (2.0, 3.0)], speech_ratio=0.9))
    assert clip.metrics["speech_ratio"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("snr", "fires"), [(14.9, True), (15.1, False), (None, False), (math.inf, False)]
)
def test_low_snr_fires_below_threshold(snr: float | None, fires: bool) -> None:
    clip = Analyze(thresholds=AnalysisThresholds(min_snr_db=15.0))(speech_clip(snr_db=snr))
    assert (finding(clip, "low_snr") is not None) is fires


@pytest.mark.parametrize(
    ("profile", "severity"),
    [("tencent-vod-voice", Severity.ERROR), ("yeastar-prompt", Severity.WARNING)],
)
def test_low_snr_severity_follows_profile(profile: str, severity: Severity) -> None:
    stage = Analyze(thresholds=load_profile(profile).analysis, profile=profile)
    clip = stage(speech_clip(snr_db=12.3))
    f = finding(clip, "low_snr")
    assert f.severity is severity
    assert "12.3 dB" in f.message and profile in f.message and "quieter room" in f.message


@pytest.mark.parametrize(("snr", "severity"), [(12.3, Severity.WARNING), (5.0, Severity.ERROR)])
def test_low_snr_without_pauses_is_an_error_only_when_far_too_low(
    snr: float, severity: Severity
) -> None:
    # No pause to measure the noise in: a clean take cut tight reads down to ~11 dB.
    stage = Analyze(thresholds=load_profile("tencent-vod-voice").analysis)
    f = finding(stage(speech_clip(snr_db=snr, snr_from_pauses=False)), "low_snr")
    assert f.severity is severity
    if severity is Severity.WARNING:
        assert "measured without a pause" in f.message and "room tone" in f.message
        assert "12.3 dB is below 25 dB" in f.message and "quieter room" in f.message


def test_low_snr_without_pauses_blames_the_trim_when_the_trim_cut_the_room_tone() -> None:
    stage = Analyze(thresholds=load_profile("tencent-vod-voice").analysis)
    clip = speech_clip(snr_db=12.3, snr_from_pauses=False, trimmed_start_s=1.5, trimmed_end_s=2.0)
    f = finding(stage(clip), "low_snr")
    assert f is not None and f.severity is Severity.WARNING
    assert "the take as trimmed keeps only" in f.message and "may read low" in f.message
    assert "room tone" not in f.message  # the source had it: voiceprep's trim cut it
    assert "re-record in a quieter room if the noise is audible" in f.message


def test_clipping_uses_quality_severity_then_error_beyond_ten_times() -> None:
    t = AnalysisThresholds(max_clipping_ratio=0.001, quality_severity="warning")
    assert finding(Analyze(thresholds=t)(speech_clip(clipping_ratio=0.0009)), "clipping") is None
    mild = finding(Analyze(thresholds=t)(speech_clip(clipping_ratio=0.005)), "clipping")
    assert mild.severity is Severity.WARNING and "lower input gain" in mild.message
    severe = finding(Analyze(thresholds=t)(speech_clip(clipping_ratio=0.02)), "clipping")
    assert severe.severity is Severity.ERROR


def test_clipping_measured_when_no_earlier_stage_did() -> None:
    x = speechlike(3.0, RATE) * 4.0
    np.clip(x, -1.0, 1.0, out=x)  # hard-clipped: long runs at full scale
    clip = Analyze()(clip_of(x, [(0.0, 3.0)], snr_db=40.0, dc_offset=0.0))
    assert clip.metrics["clipping_ratio"] > 0.01
    assert finding(clip, "clipping").severity is Severity.ERROR


@pytest.mark.parametrize(
    ("profile", "tilt", "severity"),
    [
        ("tencent-vod-voice", -20.0, None),
        ("tencent-vod-voice", -33.0, Severity.WARNING),
        ("tencent-vod-voice", -45.0, Severity.ERROR),
        ("yeastar-prompt", -45.0, None),  # an 8 kHz output holds nothing above 4 kHz anyway
        ("tencent-vod-voice", None, None),  # a source under 14 kHz: no tilt measured
    ],
)
def test_a_steep_high_frequency_tilt_is_band_limited(
    profile: str, tilt: float | None, severity: Severity | None
) -> None:
    stage = Analyze(thresholds=load_profile(profile).analysis, profile=profile)
    clip = speech_clip(bandwidth_hz=7000.0, hf_tilt_db=tilt)
    clip.rate = load_profile(profile).sample_rate
    f = finding(stage(clip), "band_limited")
    assert (f.severity if f else None) is severity
    if f is not None and tilt is not None:
        assert f"{-tilt:.0f} dB under 2-3.5 kHz" in f.message and "wideband" in f.message


def test_dc_offset_warns_and_says_it_was_removed() -> None:
    clip = Analyze()(speech_clip(dc_offset=0.05))
    f = finding(clip, "dc_offset")
    assert f.severity is Severity.WARNING
    assert "0.050" in f.message and "removed" in f.message
    assert finding(Analyze()(speech_clip(dc_offset=0.01)), "dc_offset") is None


def test_dc_offset_measured_when_absent() -> None:
    x = speechlike(3.0, RATE) * 0.5 + np.float32(0.1)
    clip = Analyze()(clip_of(x, [(0.0, 3.0)], snr_db=40.0, clipping_ratio=0.0))
    assert clip.metrics["dc_offset"] == pytest.approx(0.1, abs=0.01)
    f = finding(clip, "dc_offset")
    assert f is not None and "removed" not in f.message


def test_low_speech_ratio_warns() -> None:
    t = AnalysisThresholds(min_speech_ratio=0.5)
    clip = Analyze(thresholds=t)(clip_of(speechlike(10.0, RATE), [(0.0, 3.0)], snr_db=40.0))
    f = finding(clip, "low_speech_ratio")
    assert f.severity is Severity.WARNING and "30.0%" in f.message
    assert not clip.failed


def test_without_vad_segments_and_snr_are_estimated() -> None:
    rng = np.random.default_rng(1)
    speech = speechlike(2.0, RATE)
    noise = rng.normal(0, 1, RATE * 4).astype(np.float32)
    x = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(RATE, np.float32)])
    # Noise 30 dB below the speech's RMS.
    speech_rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    x += noise * speech_rms * 10 ** (-30 / 20)
    clip = Analyze()(Clip(source="x.wav", samples=x, rate=RATE))
    assert clip.segments, "energy fallback found no speech"
    assert clip.segments[0][0] == pytest.approx(1.0, abs=0.1)
    assert clip.segments[-1][1] == pytest.approx(3.0, abs=0.1)
    assert clip.metrics["snr_db"] == pytest.approx(30.0, abs=3.0)
    assert "no_speech" not in clip.codes()


def test_speech_ratio_clamps_segments_to_clip() -> None:
    assert speech_ratio([(-1.0, 1.0), (1.5, 9.0)], 2.0) == pytest.approx(0.75)
    assert speech_ratio([], 2.0) == 0.0
    assert speech_ratio([(0.0, 1.0)], 0.0) == 0.0


def test_bad_quality_severity_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="quality_severity"):
        Analyze(thresholds=AnalysisThresholds(quality_severity="fatal"))


def test_empty_clip_is_an_error_not_a_crash() -> None:
    clip = Analyze()(Clip(source="x.wav", samples=np.zeros(0, np.float32), rate=RATE))
    assert clip.codes() == ["no_speech"]


@pytest.mark.parametrize(
    ("method", "severity"), [("default", Severity.WARNING), ("neural", Severity.ERROR)]
)
def test_only_the_neural_check_fails_a_take_for_a_second_voice(
    monkeypatch: pytest.MonkeyPatch, method: str, severity: Severity
) -> None:
    """Voice cloning makes multiple_speakers an error; the default check is never sure enough."""
    from stages.analysis import speakers

    verdict = speakers.SpeakerResult(
        2, 2.0, (1.5,), ((1.5, 2.5),), speech_s=3.0, method=method, threshold=1.2
    )
    monkeypatch.setattr(speakers, "detect_speakers", lambda *args, **kwargs: verdict)
    analyze = Analyze(speakers="default", thresholds=AnalysisThresholds(speaker_severity="error"))
    clip = analyze(speech_clip())
    f = finding(clip, "multiple_speakers")
    assert f is not None and f.severity is severity
    assert "1.5–2.5 s" in f.message and "how unlike the rest" in f.message
    assert ("can be wrong" in f.message) is (method == "default")
    assert ("about 1.5–2.5 s" in f.message) is (method == "default")
    assert clip.metrics["speaker_count"] == 2 and clip.metrics["speaker_change_s"] == [1.5]


@pytest.mark.parametrize(("score", "severity"), [(0.30, Severity.WARNING), (0.45, Severity.ERROR)])
def test_the_neural_check_fails_a_take_only_from_its_sure_score(
    monkeypatch: pytest.MonkeyPatch, score: float, severity: Severity
) -> None:
    """One person spelling letters scored up to 0.37: between the limit and NEURAL_SURE, warn."""
    from stages.analysis import speakers

    assert speakers.NEURAL_THRESHOLD < 0.30 < speakers.NEURAL_SURE < 0.45
    verdict = speakers.SpeakerResult(
        2, score, (1.5,), ((1.5, 2.5),), speech_s=3.0, method="neural", threshold=0.28
    )
    monkeypatch.setattr(speakers, "detect_speakers", lambda *args, **kwargs: verdict)
    analyze = Analyze(speakers="default", thresholds=AnalysisThresholds(speaker_severity="error"))
    f = finding(analyze(speech_clip()), "multiple_speakers")
    assert f is not None and f.severity is severity
    assert ("isolated words" in f.message) is (severity is Severity.WARNING)


def test_the_default_speaker_check_says_it_can_be_wrong_even_when_it_only_warns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stages.analysis import speakers

    verdict = speakers.SpeakerResult(
        2, 2.17, (4.8,), ((4.8, 10.6),), speech_s=12.0, method="default", threshold=1.2
    )
    monkeypatch.setattr(speakers, "detect_speakers", lambda *args, **kwargs: verdict)
    analyze = Analyze(thresholds=AnalysisThresholds(speaker_severity="warning"))
    f = finding(analyze(speech_clip()), "multiple_speakers")
    assert f is not None and f.severity is Severity.WARNING
    assert f.message.startswith("a second voice at about 4.8–10.6 s (how unlike the rest")
    assert "2.17; one voice stays under 1.20" in f.message and "can be wrong" in f.message
    assert "speaker score" not in f.message


def test_the_no_speech_message_says_what_was_measured_for_each_reason() -> None:
    from tests.stages.analysis.test_speech import beat_music, fast_dtmf

    music = Analyze()(clip_of(beat_music(12.0, RATE), [(0.0, 12.0)], speech_ratio=1.0))
    tones = Analyze()(clip_of(fast_dtmf(8.0, RATE), [(0.0, 8.0)], speech_ratio=1.0))
    music_finding, tone_finding = finding(music, "no_speech"), finding(tones, "no_speech")
    assert music_finding is not None and "steady musical notes" in music_finding.message
    assert "steadiness" in music_finding.message and "persistence" not in music_finding.message
    assert tone_finding is not None and "signalling tone" in tone_finding.message
    assert "steadiness" not in tone_finding.message  # its own measurement, not another's
    assert music_finding.severity is tone_finding.severity is Severity.ERROR


def test_a_clip_the_learned_music_check_doubts_gets_a_no_speech_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The voice cues find speech; the learned speech/music check finds music: a doubt, so a
    # warning that says what was measured, never an error.
    import stages.analysis.speech as speech_module

    monkeypatch.setattr(speech_module, "MUSIC_THRESHOLD", 0.0)  # every clip scores over it
    clip = Analyze()(speech_clip())
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.WARNING
    assert "learned speech/music check" in f.message and "listen" in f.message
    assert not clip.failed
    assert 0.0 <= clip.metrics["music_probability"] <= 1.0
    monkeypatch.setattr(speech_module, "MUSIC_THRESHOLD", 1.01)  # none does
    assert finding(Analyze()(speech_clip()), "no_speech") is None


def test_a_one_word_prompt_gets_a_no_speech_warning_that_says_why() -> None:
    from tests.stages.analysis.test_speech import one_word

    x = one_word(RATE, glide=0.1)
    clip = Analyze()(clip_of(x, [(0.25, 1.15)], speech_ratio=0.66))
    f = finding(clip, "no_speech")
    assert f is not None and f.severity is Severity.WARNING, clip.findings
    assert "too short to tell a held vowel from a note" in f.message
    assert not clip.failed


def test_a_second_voice_found_by_pitch_alone_is_a_warning_that_names_the_pitches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stages.analysis import speakers
    from stages.analysis.pitch_split import PitchSplit

    split = PitchSplit(12.3, 112.0, 228.0, ((1.5, 2.8),))
    verdict = speakers.SpeakerResult(
        2, 0.4, (1.5,), ((1.5, 2.8),), speech_s=3.0, method="neural", pitch=split, by_pitch=True
    )
    monkeypatch.setattr(speakers, "detect_speakers", lambda *args, **kwargs: verdict)
    analyze = Analyze(speakers="neural", thresholds=AnalysisThresholds(speaker_severity="error"))
    clip = analyze(speech_clip())
    f = finding(clip, "multiple_speakers")
    assert f is not None and f.severity is Severity.WARNING
    assert "1.5–2.8 s" in f.message and "12.3 semitones" in f.message
    assert "112 and 228 Hz" in f.message and "listen" in f.message
    assert clip.metrics["speaker_pitch_gap_st"] == 12.3 and clip.metrics["speaker_count"] == 2


def test_two_talkers_on_two_channels_fail_a_voice_cloning_take() -> None:
    # Seen on the stereo source by `normalize` (a dual-channel call recording): no guess, so
    # the profile's own severity, where the default cepstral check would only warn.
    thresholds = load_profile("tencent-vod-voice").analysis
    clip = speech_clip(channel_talkers=2, channel_second_voice_s=[[1.2, 2.0], [2.4, 2.9]])
    clip = Analyze(thresholds=thresholds, speakers="default", profile="tencent-vod-voice")(clip)
    f = finding(clip, "multiple_speakers")
    assert f is not None and f.severity is Severity.ERROR
    assert "left and right channels" in f.message and "1.2–2.0 s and 2.4–2.9 s" in f.message
    assert clip.metrics["speaker_count"] == 2 and clip.metrics["speaker_change_s"] == [1.2, 2.4]
    one = Analyze(thresholds=thresholds, speakers="default")(speech_clip(channel_talkers=1))
    assert finding(one, "multiple_speakers") is None


def test_a_clip_no_vad_has_seen_finds_speech_between_digital_silences() -> None:
    # Frames of digital silence once made the energy floor NaN, and no frame beat a NaN.
    from stages.analyze import _energy_segments

    x = np.zeros(RATE * 3, dtype=np.float32)
    x[RATE : 2 * RATE] = speechlike(1.0, RATE)
    ((start, end),) = _energy_segments(x, RATE)[:1]
    assert start == pytest.approx(1.0, abs=0.1) and end <= 2.05


def test_two_talkers_on_two_channels_says_which_channel_holds_which() -> None:
    clip = speech_clip(
        channel_talkers=2,
        channel_second_voice_s=[[17.1, 22.2], [22.6, 27.7]],
        channel_talk_s=[11.0, 9.1],
    )
    f = finding(Analyze(speakers="default")(clip), "multiple_speakers")
    assert f is not None
    assert (
        "the left channel holds one talker (11.0 s of speech) and the right another (9.1 s, "
        "at 17.1–22.2 s and 22.6–27.7 s)"
    ) in f.message


@pytest.mark.parametrize(
    ("bandwidth", "says", "never"),
    [
        (3400.0, "upsampled from telephone audio", "compressed"),
        (5000.0, "low-pass filtered or compressed", "telephone"),
    ],
)
def test_band_limited_blames_telephone_audio_only_when_the_content_stops_there(
    bandwidth: float, says: str, never: str
) -> None:
    profile = "tencent-vod-voice"
    stage = Analyze(thresholds=load_profile(profile).analysis, profile=profile)
    clip = speech_clip(bandwidth_hz=bandwidth, hf_tilt_db=None)
    clip.rate = load_profile(profile).sample_rate
    f = finding(stage(clip), "band_limited")
    assert f is not None and says in f.message and never not in f.message
    assert f"ends at {bandwidth / 1000:.1f} kHz" in f.message
    assert "needs content up to at least 5.5 kHz" in f.message
    assert "needed at 24000 Hz" not in f.message


def test_a_loud_clip_too_short_to_judge_is_not_called_silent() -> None:
    t = np.arange(RATE // 20) / RATE  # 50 ms of a loud tone
    clip = clip_of(
        (0.9 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), [], source_peak_dbfs=-1.0
    )
    f = finding(Analyze()(clip), "no_speech")
    assert f is not None and f.severity is Severity.ERROR
    assert "silent" not in f.message and "50 ms of sound" in f.message, f.message


def test_a_silent_clip_says_it_is_silent() -> None:
    clip = clip_of(np.zeros(RATE * 3, np.float32), [], source_peak_dbfs=-float("inf"))
    f = finding(Analyze()(clip), "no_speech")
    assert f is not None and f.severity is Severity.ERROR
    assert "silent" in f.message and "every sample is zero" in f.message

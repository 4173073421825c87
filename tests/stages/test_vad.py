"""Tests for `stages.vad`: speech segments, boundary accuracy, smoothing, noise/SNR estimate."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from stages.normalize import Normalize
from stages.vad import (
    Vad,
    background_level,
    frame_energies_db,
    refine_segment,
    segments_metric,
    smooth_runs,
    webrtc_frames,
)

RATES = [8000, 16000, 22050, 44100, 48000]
REPO = Path(__file__).resolve().parents[2]


def speech_like(duration_s: float, rate: int, *, seed: int = 0, f0_hz: float = 140.0) -> np.ndarray:
    """A voiced, speech-like burst webrtcvad accepts: harmonics of a wobbling 100–250 Hz pitch,
    shaped by three formant resonances, modulated at a 4 Hz syllable rate, 10 ms ramps."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * rate)
    t = np.arange(n) / rate
    f0 = f0_hz * (1.0 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    harmonics = np.arange(1, int(0.45 * rate / (f0_hz * 1.15)))
    freqs = harmonics[:, None] * f0[None, :]
    envelope = sum(
        a / (1.0 + ((freqs - fc) / bw) ** 2)
        for fc, bw, a in ((500, 120, 1.0), (1500, 200, 0.5), (2500, 300, 0.25))
    )
    x = (envelope * np.sin(harmonics[:, None] * phase[None, :])).sum(axis=0)
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))
    ramp = min(n // 2, round(0.01 * rate))
    x[:ramp] *= np.linspace(0.0, 1.0, ramp)
    x[n - ramp :] *= np.linspace(1.0, 0.0, ramp)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def silence(duration_s: float, rate: int) -> np.ndarray:
    return np.zeros(round(duration_s * rate), dtype=np.float32)


def utterance(parts: list[tuple[str, float]], rate: int, *, seed: int = 0) -> np.ndarray:
    """Concatenate ("speech", s) / ("pause", s) parts into one signal."""
    pieces = [
        speech_like(d, rate, seed=seed + i) if kind == "speech" else silence(d, rate)
        for i, (kind, d) in enumerate(parts)
    ]
    return np.concatenate(pieces)


def add_noise(x: np.ndarray, snr_db: float, *, seed: int = 1) -> np.ndarray:
    """White noise at ``snr_db`` below the mean power of the non-silent part of ``x``."""
    active = x[np.abs(x) > 0]
    power = float(np.mean(active.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).standard_normal(x.shape[0]) * np.sqrt(
        power / 10 ** (snr_db / 10)
    )
    return (x + noise).astype(np.float32)


def run_vad(x: np.ndarray, rate: int, **config: object) -> Clip:
    return Vad(**config)(Clip("test", samples=x, rate=rate))  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", RATES)
def test_vad_finds_burst_within_20_ms_at_every_rate(rate: int) -> None:
    x = utterance([("pause", 1.0), ("speech", 1.5), ("pause", 1.0)], rate)
    clip = run_vad(x, rate)
    assert len(clip.segments) == 1
    start, end = clip.segments[0]
    assert abs(start - 1.0) <= 0.020
    assert abs(end - 2.5) <= 0.020
    assert clip.metrics["speech_ratio"] == pytest.approx(1.5 / 3.5, abs=0.02)


@pytest.mark.parametrize("snr_db", [30.0, 20.0])
def test_vad_boundaries_hold_in_noise(snr_db: float) -> None:
    rate = 16000
    x = add_noise(utterance([("pause", 1.0), ("speech", 2.0), ("pause", 1.0)], rate), snr_db)
    clip = run_vad(x, rate)
    assert len(clip.segments) == 1
    start, end = clip.segments[0]
    assert abs(start - 1.0) <= 0.030
    assert abs(end - 3.0) <= 0.030


def test_refine_tightens_webrtcvad_edges_in_noise() -> None:
    rate = 16000
    x = add_noise(utterance([("pause", 1.0), ("speech", 2.0), ("pause", 1.0)], rate), 25.0)
    raw = run_vad(x, rate, refine=False).segments
    refined = run_vad(x, rate, refine=True).segments
    raw_error = abs(raw[0][0] - 1.0) + abs(raw[-1][1] - 3.0)
    refined_error = abs(refined[0][0] - 1.0) + abs(refined[-1][1] - 3.0)
    assert refined_error <= raw_error
    assert refined_error <= 0.040


def babble(n: int, rate: int, *, talkers: int = 6, seed: int = 5) -> np.ndarray:
    """Background chatter: `speech_like` voices at different pitches, each gated at its own
    3–5 Hz syllable rhythm, summed."""
    t = np.arange(n) / rate
    mix = np.zeros(n, dtype=np.float32)
    for k in range(talkers):
        voice = speech_like(n / rate, rate, seed=seed + k, f0_hz=100.0 + 25.0 * k)
        mix += voice * (np.sin(2 * np.pi * (3.0 + 0.4 * k) * t + k) > -0.2)
    return mix


@pytest.mark.parametrize("under_db", [30.0, 20.0])
def test_vad_edges_leave_background_babble_out(under_db: float) -> None:
    rate = 16000
    voice = utterance([("pause", 1.0), ("speech", 2.0), ("pause", 1.0)], rate)
    chatter = babble(voice.size, rate)
    voice_power = float(np.mean(voice[voice != 0].astype(np.float64) ** 2))
    gain = np.sqrt(voice_power / float(np.mean(chatter.astype(np.float64) ** 2)))
    x = (voice + chatter * np.float32(gain * 10 ** (-under_db / 20))).astype(np.float32)
    clip = run_vad(x, rate)
    assert len(clip.segments) == 1
    start, end = clip.segments[0]
    assert abs(start - 1.0) <= 0.030
    assert abs(end - 3.0) <= 0.030  # the babble's floor was 120 ms of extra "speech" here


def test_refine_stops_at_a_fluctuating_background() -> None:
    # webrtcvad calls babble speech, so the segment spans the whole take (frames 0-400); the
    # voice is frames 100-300. The quietest tenth of frames is the babble's dips: only the
    # background's spread tells its peaks from the voice.
    rng = np.random.default_rng(3)
    # Chatter: many voices, never far over its mean, its level changing every 50 ms.
    energy = np.repeat(rng.uniform(-56.0, -44.0, 80), 5)
    energy[100:300] = rng.normal(-15.0, 3.0, 200)
    noise_db = float(np.percentile(energy, 10))
    start, end = refine_segment(energy, 0, 400, noise_db=noise_db, search=10) or (-1, -1)
    assert start < 80 and end > 350  # the noise floor alone keeps babble in
    floors = Vad._background_floors(energy)
    assert floors is not None
    assert refine_segment(energy, 0, 400, noise_db=noise_db, search=10, background_db=floors) == (
        100,
        300,
    )


def test_background_level_of_steady_noise_babble_and_silence() -> None:
    rate = 16000
    speech = utterance([("pause", 1.0), ("speech", 2.0), ("pause", 1.0)], rate)
    steady = frame_energies_db(add_noise(speech, 20.0), rate)[0]
    level = background_level(steady)
    assert level is not None and level[1] < 1.5  # white noise: under 1.5 dB of spread
    chatter = frame_energies_db(speech + 0.01 * babble(speech.size, rate), rate)[0]
    level = background_level(chatter)
    assert level is not None and level[1] > 2.5  # babble: its syllables come and go
    # Digital silence in the pauses: the quieter frames are the voice's own, not a background.
    assert background_level(frame_energies_db(speech, rate)[0]) is None


@pytest.mark.parametrize("seed", range(5))
def test_background_floor_never_rises_into_a_clean_voice(seed: int) -> None:
    # Room tone at -70 dBFS around a voice whose frames spread over -50...-10: whatever the
    # mixture makes of the soft syllables, the floor must stay under them.
    rng = np.random.default_rng(seed)
    energy = rng.uniform(-50.0, -10.0, 400)
    energy[:10] = rng.normal(-70.0, 1.0, 10)
    energy[-10:] = rng.normal(-70.0, 1.0, 10)
    floors = Vad._background_floors(energy)
    assert floors is None or floors[0] < -60.0


def test_vad_keeps_short_pause_inside_speech() -> None:
    rate = 16000
    x = utterance(
        [("pause", 0.5), ("speech", 1.0), ("pause", 0.15), ("speech", 1.0), ("pause", 0.5)], rate
    )
    clip = run_vad(x, rate)
    assert len(clip.segments) == 1
    assert clip.segments[0][0] == pytest.approx(0.5, abs=0.02)
    assert clip.segments[0][1] == pytest.approx(2.65, abs=0.02)


def test_vad_splits_at_long_pause() -> None:
    rate = 16000
    x = utterance(
        [("pause", 0.5), ("speech", 1.0), ("pause", 0.8), ("speech", 1.0), ("pause", 0.5)], rate
    )
    segments = run_vad(x, rate).segments
    assert len(segments) == 2
    assert segments[0][1] == pytest.approx(1.5, abs=0.02)
    assert segments[1][0] == pytest.approx(2.3, abs=0.02)


@pytest.mark.parametrize(("hangover_ms", "expected"), [(300, 2), (600, 1)])
def test_hangover_decides_which_pauses_stay_inside(hangover_ms: int, expected: int) -> None:
    rate = 8000
    x = utterance(
        [("pause", 0.5), ("speech", 1.0), ("pause", 0.45), ("speech", 1.0), ("pause", 0.5)], rate
    )
    assert len(run_vad(x, rate, hangover_ms=hangover_ms).segments) == expected


def test_min_speech_drops_short_blips() -> None:
    rate = 16000
    x = utterance([("pause", 1.0), ("speech", 0.2), ("pause", 1.0)], rate)
    assert len(run_vad(x, rate, min_speech_ms=100).segments) == 1
    assert run_vad(x, rate, min_speech_ms=400).segments == []


@pytest.mark.parametrize("rate", RATES)
def test_vad_on_silence_and_noise_finds_nothing(rate: int) -> None:
    quiet = run_vad(silence(3.0, rate), rate)
    assert quiet.segments == []
    assert quiet.metrics["speech_ratio"] == 0.0
    assert quiet.metrics["speech_start_s"] is None
    assert quiet.metrics["snr_db"] is None
    noise = np.random.default_rng(0).standard_normal(3 * rate).astype(np.float32) * 0.05
    clip = run_vad(noise, rate)
    assert clip.segments == []
    assert clip.metrics["noise_floor_dbfs"] == pytest.approx(20 * np.log10(0.05), abs=1.0)
    assert not clip.failed


def test_speech_times_are_reported_in_source_time() -> None:
    rate = 16000
    x = utterance([("pause", 1.0), ("speech", 1.5), ("pause", 1.0)], rate)
    clip = Vad()(Clip("test", samples=x, rate=rate, offset_s=2.0))
    assert clip.segments[0][0] == pytest.approx(1.0, abs=0.02)  # clip time
    assert clip.metrics["speech_start_s"] == pytest.approx(3.0, abs=0.02)  # source time
    assert clip.metrics["speech_end_s"] == pytest.approx(4.5, abs=0.02)


@pytest.mark.parametrize("snr_db", [15.0, 30.0])
def test_snr_and_noise_floor_estimates(snr_db: float) -> None:
    rate = 48000  # full-band white noise: its whole power is in the signal
    clean = utterance([("pause", 1.5), ("speech", 3.0), ("pause", 1.5)], rate)
    x = add_noise(clean, snr_db)
    clip = run_vad(x, rate)
    speech_power = float(np.mean(clean[clean != 0].astype(np.float64) ** 2))
    noise_dbfs = 10 * np.log10(speech_power) - snr_db
    assert clip.metrics["noise_floor_dbfs"] == pytest.approx(noise_dbfs, abs=1.0)
    assert clip.metrics["snr_db"] == pytest.approx(snr_db, abs=2.0)


def test_no_pause_means_no_noise_estimate() -> None:
    rate = 16000
    clip = run_vad(speech_like(2.0, rate), rate)
    assert len(clip.segments) == 1
    assert clip.metrics["noise_floor_dbfs"] is None
    assert clip.metrics["snr_db"] is None


def test_webrtc_frames_resamples_unsupported_rates() -> None:
    x = utterance([("pause", 0.5), ("speech", 1.0), ("pause", 0.5)], 22050)
    flags, vad_rate = webrtc_frames(x, 22050, frame_ms=30)
    assert vad_rate == 16000
    assert flags.shape == (2000 // 30,)
    assert flags[20:45].mean() > 0.8 and flags[:10].mean() < 0.2


def test_smooth_runs_closes_gaps_then_drops_blips() -> None:
    starts, ends = smooth_runs(
        np.array([0.0, 1.1, 3.0, 5.0]),
        np.array([1.0, 2.0, 3.05, 6.0]),
        min_gap=0.3,
        min_length=0.1,
    )
    assert starts.tolist() == [0.0, 5.0]
    assert ends.tolist() == [2.0, 6.0]


def test_vad_downmixes_stereo_input() -> None:
    rate = 16000
    x = utterance([("pause", 1.0), ("speech", 1.0), ("pause", 1.0)], rate)
    clip = run_vad(np.stack([x, x], axis=1), rate)
    assert clip.segments[0][0] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("config", [{"aggressiveness": 4}, {"frame_ms": 25}])
def test_bad_config_is_refused(config: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        Vad(**config)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_vad_on_real_synthesised_speech(tmp_path: Path, rate: int) -> None:
    import soundfile as sf

    wav = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "For sales, press one. For support, press two."],
        check=True,
    )
    speech, source_rate = sf.read(wav, dtype="float32")
    loud = np.flatnonzero(np.abs(speech) > 1e-3 * np.abs(speech).max())
    true_start = 1.0 + loud[0] / source_rate
    true_end = 1.0 + (loud[-1] + 1) / source_rate
    x = np.concatenate([silence(1.0, source_rate), speech, silence(1.0, source_rate)])
    for snr_db in (None, 30.0):
        y = x if snr_db is None else add_noise(x, snr_db)
        clip = Normalize(sample_rate=rate)(Clip("espeak", samples=y, rate=source_rate))
        clip = Vad()(clip)
        assert abs(clip.segments[0][0] - true_start) <= 0.020
        assert abs(clip.segments[-1][1] - true_end) <= 0.020


def test_vad_and_trim_match_fixture_labels() -> None:
    """Clean fixtures: vad + trim put speech edges within 50 ms of the labelled ones."""
    import soundfile as sf

    from stages.trim import Trim

    labels_path = REPO / "fixtures" / "labels.json"
    assert labels_path.exists(), "fixtures/labels.json is missing; build the fixtures first"
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    checked = 0
    for name, label in sorted(labels.items()):
        # Clean (no added noise), lossless, speech-bearing session fixtures.
        if not name.startswith("session/") or label.get("speech_start_s") is None:
            continue
        if label.get("snr_db") is not None or Path(name).suffix not in (".wav", ".flac"):
            continue
        path = labels_path.parent / name
        samples, rate = sf.read(path, dtype="float32", always_2d=False)
        clip = Clip(str(path), samples=samples, rate=rate)
        clip = Trim(pad_ms=200.0)(Vad()(Normalize(sample_rate=16000)(clip)))
        assert clip.segments, f"{name}: no speech found"
        start = clip.offset_s + clip.segments[0][0]
        end = clip.offset_s + clip.segments[-1][1]
        assert abs(start - label["speech_start_s"]) <= 0.050, name
        assert abs(end - label["speech_end_s"]) <= 0.050, name
        checked += 1
    assert checked >= 3, "labels.json lists too few clean lossless session fixtures"


def test_speech_segments_metric_lists_each_segment_in_source_time() -> None:
    rate = 16000
    x = utterance(
        [("pause", 0.5), ("speech", 1.0), ("pause", 0.8), ("speech", 1.0), ("pause", 0.5)], rate
    )
    clip = Vad()(Clip("test", samples=x, rate=rate, offset_s=2.0))
    spans = clip.metrics["speech_segments"]
    assert len(spans) == 2 == len(clip.segments)
    for (start, end), (clip_start, clip_end) in zip(spans, clip.segments, strict=True):
        assert start == pytest.approx(clip_start + 2.0, abs=0.001)
        assert end == pytest.approx(clip_end + 2.0, abs=0.001)
    assert spans[0][0] == clip.metrics["speech_start_s"] == pytest.approx(2.5, abs=0.02)
    json.dumps(clip.metrics["speech_segments"])  # plain JSON: a list of [start, end] lists
    assert run_vad(silence(2.0, rate), rate).metrics["speech_segments"] == []


def test_speech_segments_metric_merges_across_the_shortest_pauses() -> None:
    # 500 segments, each pause 1 ms longer than the one before: the longest 199 survive.
    segments = [(i * 1.0, i * 1.0 + 0.5 - 0.001 * i) for i in range(500)]
    spans = segments_metric(segments, 1.0, limit=200)
    assert len(spans) == 200
    assert spans[0][0] == 1.0 and spans[-1][1] == pytest.approx(1.0 + 499.5 - 0.499, abs=1e-3)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # sorted, disjoint
    pauses = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
    assert min(pauses) == pytest.approx(0.5 + 0.001 * 300, abs=1e-3)  # the longest pauses
    assert segments_metric(segments[:3], 0.0) == [[0.0, 0.5], [1.0, 1.499], [2.0, 2.498]]


def test_a_short_vowel_then_a_long_fading_fricative_is_speech() -> None:
    # A spelled "F" ("èf"): breath, 90 ms of vowel, then 500 ms of fricative decaying over
    # 26 dB into a fade. The quieter frames spread over ~26 dB (sd); taken for a fluctuating
    # background, they lifted the floor 10 dB under the vowel and the fricative fell under
    # it (a real French "F" lost its fricative, then its vowel as a blip: 0 % speech).
    rate = 8000
    rng = np.random.default_rng(5)

    def hiss(seconds: float, from_db: float, to_db: float) -> np.ndarray:
        n = round(seconds * rate)
        return rng.standard_normal(n) * 10.0 ** (np.linspace(from_db, to_db, n) / 20.0)

    vowel = speech_like(0.09, rate)
    vowel *= 0.3 / np.abs(vowel).max()
    x = np.concatenate(
        (
            hiss(0.06, -115.0, -115.0),
            hiss(0.25, -62.0, -45.0),
            vowel,
            np.diff(hiss(0.5, -30.0, -56.0), prepend=0.0),  # tilted up, like an "f"
            hiss(0.2, -58.0, -75.0),
        )
    )

    energy, _ = frame_energies_db(x, rate)
    assert background_level(energy) is None  # a fade is not a background
    clip = Vad().process(Clip(source="f.wav", samples=x, rate=rate))
    (start, end), *_ = clip.segments
    assert start <= 0.31 and end >= 0.85  # the vowel and the fricative's loud part


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("gap_s", [0.25, 0.35])
def test_a_click_shortly_before_a_word_is_not_where_the_speech_starts(
    rate: int, gap_s: float
) -> None:
    # A 2 ms click (a tap on the microphone, a mouse button) lasts one or two loud 10 ms
    # frames; webrtcvad's hangover joined it to the word, and the edge anchored on it.
    rng = np.random.default_rng(1)
    word = 0.5 * speech_like(1.5, rate)
    x = np.concatenate((np.zeros(rate), word, np.zeros(rate // 2)))
    x += 1e-3 * rng.standard_normal(x.size)  # room tone at -60 dBFS
    click = round((1.0 - gap_s) * rate)
    x[click : click + round(0.002 * rate)] += 0.3
    clip = Vad().process(Clip(source="click.wav", samples=x.astype(np.float32), rate=rate))
    (start, end), *_ = clip.segments
    assert start == pytest.approx(1.0, abs=0.03)
    assert end == pytest.approx(2.5, abs=0.05)

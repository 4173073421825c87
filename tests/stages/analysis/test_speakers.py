"""Speaker-count detector on synthetic voices: vowel sequences from a pulse train and formants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.analysis.mfcc import cepstra, dct_matrix, mel_filterbank
from stages.analysis.pitch_split import PITCH_GAP_ST
from stages.analysis.speakers import detect_speakers, length_penalty, loud_segments, split_two

RATE = 16000
VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (530, 1840, 2480),
    (300, 870, 2240),
    (640, 1190, 2390),
)


def _resonate(x: np.ndarray, freq: float, bw: float) -> np.ndarray:
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bw / RATE)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / RATE), r * r]
    return lfilter([1.0 - r], a, x)


def voice(
    rng: np.random.Generator, seconds: float, *, f0: float, formant_scale: float, tilt: float
) -> np.ndarray:
    """A synthetic talker: 120 ms vowels on a jittered pulse train, with short gaps."""
    out = []
    for _ in range(int(seconds / 0.15)):
        n = int(0.12 * RATE)
        pitch = f0 * rng.uniform(0.85, 1.15)
        src = np.zeros(n)
        src[(np.arange(0, n, RATE / pitch)).astype(int)] = 1.0
        src = np.cumsum(src - src.mean()) * tilt + src  # tilt: more low-frequency energy
        src += rng.normal(0.0, 0.05, n)  # breath noise
        shift = formant_scale * rng.uniform(0.92, 1.08, 3)  # coarticulation
        vowel = VOWELS[rng.integers(5)]
        y = sum(_resonate(src, f * k, 90.0) for f, k in zip(vowel, shift, strict=True))
        y *= np.hanning(n) ** 0.3
        out += [y / (np.abs(y).max() + 1e-9) * 0.3, np.zeros(int(0.03 * RATE))]
    x = np.concatenate(out)
    return (x + rng.normal(0, 1e-4, x.shape[0])).astype(np.float32)


def speakers(rng: np.random.Generator) -> tuple[dict, dict]:
    low = {"f0": 105.0, "formant_scale": 1.0, "tilt": 0.02}
    high = {"f0": 225.0, "formant_scale": 1.2, "tilt": 0.005}
    return low, high


def segments_of(x: np.ndarray) -> list[tuple[float, float]]:
    return [(0.0, x.shape[0] / RATE)]


def test_one_synthetic_voice_with_varied_vowels_is_one_speaker() -> None:
    rng = np.random.default_rng(1)
    low, _ = speakers(rng)
    x = voice(rng, 12.0, **low)
    result = detect_speakers(x, RATE, segments_of(x))
    assert result.speaker_count == 1
    assert result.change_s == ()


def test_two_voices_taking_turns_are_found_with_the_change_time() -> None:
    rng = np.random.default_rng(2)
    low, high = speakers(rng)
    a, b = voice(rng, 6.0, **low), voice(rng, 5.0, **high)
    x = np.concatenate([a, b])
    result = detect_speakers(x, RATE, segments_of(x))
    assert result.speaker_count == 2
    assert result.score > result.threshold
    change = a.shape[0] / RATE
    assert min(abs(c - change) for c in result.change_s) < 0.75
    start, end = result.second_voice_s[0]
    assert abs(start - change) < 0.75 and end > x.shape[0] / RATE - 1.0


def test_two_voices_score_higher_than_one() -> None:
    rng = np.random.default_rng(3)
    low, high = speakers(rng)
    one = voice(rng, 10.0, **low)
    two = np.concatenate([voice(rng, 5.0, **low), voice(rng, 5.0, **high)])
    assert (
        detect_speakers(two, RATE, segments_of(two)).score
        > detect_speakers(one, RATE, segments_of(one)).score
    )


@pytest.mark.parametrize("method", ["default", "neural"])
def test_a_voice_an_octave_higher_counts_by_pitch_when_the_score_does_not(method: str) -> None:
    rng = np.random.default_rng(12)
    low, high = speakers(rng)
    a, b = voice(rng, 5.0, **low), voice(rng, 4.0, **high)
    x = np.concatenate([a, b])
    # A threshold no score reaches leaves the pitch groups alone to decide.
    result = detect_speakers(x, RATE, segments_of(x), method=method, threshold=1e9)
    assert result.by_pitch and result.speaker_count == 2
    assert PITCH_GAP_ST <= result.pitch.gap_st <= 12.0 * np.log2(225 / 105) + 1.0
    (start, end), *_ = result.second_voice_s
    assert start < a.shape[0] / RATE < end and end > x.shape[0] / RATE - 0.5
    assert result.change_s[0] == start


def test_one_voice_is_not_split_by_pitch() -> None:
    rng = np.random.default_rng(13)
    x = voice(rng, 10.0, **speakers(rng)[0])
    result = detect_speakers(x, RATE, segments_of(x), threshold=1e9)
    assert not result.by_pitch and result.speaker_count == 1
    assert result.pitch.gap_st < 3.0


def test_a_second_voice_shorter_than_min_voice_s_is_not_counted() -> None:
    rng = np.random.default_rng(4)
    low, high = speakers(rng)
    x = np.concatenate([voice(rng, 8.0, **low), voice(rng, 1.2, **high)])
    result = detect_speakers(x, RATE, segments_of(x), min_voice_s=3.0)
    assert result.speaker_count == 1


def test_too_little_speech_is_one_speaker_with_zero_score() -> None:
    rng = np.random.default_rng(5)
    x = voice(rng, 1.0, **speakers(rng)[0])
    result = detect_speakers(x, RATE, segments_of(x))
    assert (result.speaker_count, result.score, result.change_s) == (1, 0.0, ())


def test_only_frames_inside_segments_count() -> None:
    rng = np.random.default_rng(6)
    low, high = speakers(rng)
    a, b = voice(rng, 8.0, **low), voice(rng, 4.0, **high)
    x = np.concatenate([a, b])
    end_a = a.shape[0] / RATE
    only_a = detect_speakers(x, RATE, [(0.0, end_a)])
    both = detect_speakers(x, RATE, segments_of(x))
    assert both.speaker_count == 2 and only_a.score < both.score
    assert all(c < end_a for c in only_a.change_s)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="default' or 'neural"):
        detect_speakers(np.zeros(RATE, np.float32), RATE, [], method="magic")


@pytest.mark.parametrize("rate", [8000, 24000, 44100])
def test_works_at_telephone_and_studio_rates(rate: int) -> None:
    import soxr

    rng = np.random.default_rng(7)
    low, high = speakers(rng)
    x16 = np.concatenate([voice(rng, 6.0, **low), voice(rng, 5.0, **high)])
    x = soxr.resample(x16, RATE, rate).astype(np.float32)
    assert detect_speakers(x, rate, [(0.0, x.shape[0] / rate)]).speaker_count == 2


@settings(max_examples=25, deadline=None)
@given(
    n_a=st.integers(min_value=3, max_value=15),
    n_b=st.integers(min_value=3, max_value=15),
    offset=st.floats(min_value=-5.0, max_value=5.0),
)
def test_split_two_separates_two_distant_blobs_in_time_order(
    n_a: int, n_b: int, offset: float
) -> None:
    rng = np.random.default_rng(n_a * 31 + n_b)
    a = rng.normal(offset, 0.1, (n_a, 4))
    b = rng.normal(offset + 3.0, 0.1, (n_b, 4))
    labels = split_two(np.concatenate([a, b]))
    assert len(set(labels[:n_a])) == 1 and len(set(labels[n_a:])) == 1
    assert labels[0] != labels[-1]


def test_split_two_leaves_a_single_blob_mostly_unsplit_in_time() -> None:
    rng = np.random.default_rng(8)
    labels = split_two(rng.normal(0.0, 1.0, (60, 6)))
    assert int((labels[1:] != labels[:-1]).sum()) <= 4  # no flicker between windows


def test_mel_filterbank_rows_sum_to_one_and_cover_8k() -> None:
    bank = mel_filterbank(rate=8000, n_fft=256, n_mels=32, fmin_hz=100.0, fmax_hz=3800.0)
    assert bank.shape == (32, 129)
    np.testing.assert_allclose(bank.sum(axis=1), 1.0)


def test_dct_matrix_is_orthonormal() -> None:
    d = dct_matrix(32, 32)
    np.testing.assert_allclose(d.T @ d, np.eye(32), atol=1e-9)


@pytest.mark.parametrize("f0", [100.0, 180.0, 320.0])
def test_cepstra_pitch_of_a_pulse_train(f0: float) -> None:
    t = np.arange(RATE * 2) / RATE
    x = (0.3 * np.sign(np.sin(2 * np.pi * f0 * t))).astype(np.float32)
    pitch = cepstra(x, RATE).pitch_hz
    assert np.median(pitch[pitch > 0]) == pytest.approx(f0, rel=0.04)


@given(st.integers(min_value=50, max_value=100_000), st.integers(min_value=1, max_value=40))
def test_length_penalty_shrinks_with_more_frames(n: int, dims: int) -> None:
    # More frames make a chance split less likely to look like a second voice.
    assert length_penalty(n, dims) > length_penalty(2 * n, dims) > 0.0
    assert length_penalty(n, dims + 1) > length_penalty(n, dims)


def test_loud_segments_drop_quiet_background_talk() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            0.3 * rng.standard_normal(RATE * 2),  # the speaker
            0.003 * rng.standard_normal(RATE),  # 40 dB lower: talk in the background
            0.3 * rng.standard_normal(RATE * 2),
        ]
    ).astype(np.float32)
    kept = loud_segments(x, RATE, [(0.0, 5.0)], within_db=18.0)
    assert len(kept) == 2
    assert kept[0][0] == pytest.approx(0.0, abs=0.03) and kept[0][1] == pytest.approx(2.0, abs=0.03)
    assert kept[1][0] == pytest.approx(3.0, abs=0.03) and kept[1][1] == pytest.approx(5.0, abs=0.03)
    # A gap shorter than bridge_s is bridged, and nothing outside the segments is added.
    assert loud_segments(x, RATE, [(0.5, 1.5)], within_db=18.0) == [(0.5, 1.5)]


def _viterbi_reference(cost: np.ndarray, switch: float) -> tuple[float, np.ndarray]:
    """Cheapest path cost by brute force over all 0/1 label sequences (short inputs only)."""
    n = cost.shape[0]
    best_cost, best = np.inf, np.zeros(n, dtype=np.int64)
    for code in range(1 << n):
        labels = (code >> np.arange(n)) & 1
        total = cost[np.arange(n), labels].sum() + switch * np.count_nonzero(np.diff(labels))
        if total < best_cost - 1e-12:
            best_cost, best = total, labels
    return best_cost, best


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 9),
    seed=st.integers(0, 10_000),
    switch=st.sampled_from([0.0, 0.3, 2.0]),
)
def test_viterbi_finds_the_cheapest_labelling(n: int, seed: int, switch: float) -> None:
    from stages.analysis.speakers import _viterbi_two

    cost = np.random.default_rng(seed).random((n, 2)) * 3.0
    labels = _viterbi_two(cost, switch)
    got = cost[np.arange(n), labels].sum() + switch * np.count_nonzero(np.diff(labels))
    best_cost, _ = _viterbi_reference(cost, switch)
    assert labels.dtype == np.int64 and labels.shape == (n,)
    assert got == pytest.approx(best_cost, abs=1e-9)

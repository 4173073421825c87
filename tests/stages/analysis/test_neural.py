"""The neural speaker method (voiceprep[neural]): real resemblyzer weights, no skipping in CI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stages.analysis.neural as neural
from stages.analysis.neural import (
    WINDOW_S,
    detect_speakers_neural,
    encoder,
    far_from_rest,
    speech_embeddings,
)
from stages.analysis.speakers import detect_speakers
from tests.stages.analysis.test_speakers import RATE, segments_of, speakers, voice


def test_encoder_is_loaded_once_per_process() -> None:
    assert encoder() is encoder()


def test_embeddings_map_windows_back_to_clip_time() -> None:
    rng = np.random.default_rng(11)
    x = voice(rng, 6.0, **speakers(rng)[0])
    padded = np.concatenate([np.zeros(2 * RATE, np.float32), x])
    embeds, times = speech_embeddings(padded, RATE, [(2.0, padded.shape[0] / RATE)])
    assert embeds.shape[1] == 256 and embeds.shape[0] == times.shape[0] >= 3
    np.testing.assert_allclose(np.linalg.norm(embeds, axis=1), 1.0, atol=1e-4)
    assert times.min() >= 2.0 and times.max() <= padded.shape[0] / RATE


def test_neural_scores_two_voices_above_one() -> None:
    rng = np.random.default_rng(12)
    low, high = speakers(rng)
    one = voice(rng, 10.0, **low)
    two = np.concatenate([voice(rng, 5.0, **low), voice(rng, 5.0, **high)])
    r1 = detect_speakers(one, RATE, segments_of(one), method="neural")
    r2 = detect_speakers(two, RATE, segments_of(two), method="neural")
    assert r1.method == r2.method == "neural"
    assert r2.score > r1.score
    assert r1.speaker_count == 1


def test_quiet_background_talk_is_not_a_second_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(13)
    low, high = speakers(rng)
    background = 0.05 * voice(rng, 4.0, **high)  # another person 26 dB down, in a pause
    x = np.concatenate([voice(rng, 5.0, **low), background, voice(rng, 5.0, **low)])
    x = (x + 1e-3 * rng.standard_normal(x.shape[0])).astype(np.float32)
    whole = [(0.0, x.shape[0] / RATE)]  # as if the VAD had called the pause speech
    r = detect_speakers(x, RATE, whole, method="neural")
    assert r.speaker_count == 1, r
    # Without the level gate the quiet talker counts: the gate is what keeps it out.
    monkeypatch.setattr(neural, "loud_segments", lambda s, rate, segs, **_: segs)
    assert detect_speakers(x, RATE, whole, method="neural").score > r.score


# --- the score on made-up embeddings (no encoder) ------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _voice_windows(
    rng: np.random.Generator, centre: np.ndarray, n: int, spread: float
) -> np.ndarray:
    """``n`` unit windows around ``centre`` (dims,), or around each row of it (n, dims)."""
    return _unit(centre + spread * rng.standard_normal((n, centre.shape[-1])))


def test_far_from_rest_singles_out_the_odd_window_and_not_its_neighbours() -> None:
    rng = np.random.default_rng(3)
    a, b = _unit(rng.standard_normal((2, 64)))
    e = np.repeat(a[None], 20, axis=0)
    e[12] = b
    d = far_from_rest(e, step_s=0.25)
    assert d[12] == pytest.approx(1.0 - a @ b, abs=1e-9)  # compared with the others only
    assert np.all(np.delete(d, 12) < 0.2 * d[12])
    assert np.allclose(far_from_rest(e[:1], step_s=0.25), 0.0)  # nothing to compare with


def test_far_from_rest_weighs_overlapping_neighbours_by_the_audio_they_do_not_share() -> None:
    assert WINDOW_S == 1.6
    e = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    # Windows 0.4 s apart: a neighbour counts 0.25, the next one 0.5, none shares with itself.
    d = far_from_rest(e, step_s=0.4)
    assert d[0] == pytest.approx(1.0)  # orthogonal to all it is compared with
    assert d[1] == pytest.approx(1.0 - 0.25 / np.hypot(0.25, 0.25))  # rest: .25 w0 + .25 w2
    assert d[2] == pytest.approx(1.0 - 0.25 / np.hypot(0.5, 0.25))  # rest: .5 w0 + .25 w1
    assert d[2] > d[1]  # its like neighbour shares most of its audio, so counts less


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 30),
    step_s=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 10.0),
)
def test_far_from_rest_is_a_bounded_rotation_and_scale_free_distance(
    n: int, step_s: float, seed: int, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    e = _unit(rng.standard_normal((n, 8)))
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    d = far_from_rest(e, step_s=step_s)
    assert d.shape == (n,) and np.all(d >= -1e-9) and np.all(d <= 2 + 1e-9)
    np.testing.assert_allclose(far_from_rest(scale * e @ q, step_s=step_s), d, atol=1e-9)


def _fake_embeddings(monkeypatch: pytest.MonkeyPatch, e: np.ndarray) -> None:
    times = 1.0 + np.arange(e.shape[0]) / neural.PARTIALS_PER_S
    monkeypatch.setattr(neural, "loud_segments", lambda s, rate, segs, **_: segs)
    monkeypatch.setattr(neural, "speech_embeddings", lambda s, rate, segs: (e, times))


def _judge(e: np.ndarray, monkeypatch: pytest.MonkeyPatch, threshold: float = 0.3):
    _fake_embeddings(monkeypatch, e)
    speech_s = e.shape[0] / neural.PARTIALS_PER_S + WINDOW_S
    x = np.zeros(int(RATE * (speech_s + 2)), np.float32)
    return detect_speakers_neural(
        x, RATE, [(1.0, 1.0 + speech_s)], min_voice_s=1.5, threshold=threshold
    )


def test_a_few_odd_windows_short_of_min_voice_are_not_a_second_voice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(4)
    a, b = _unit(rng.standard_normal((2, 256)))
    e = _voice_windows(rng, a, 40, 0.02)
    k = int(np.ceil(1.5 * neural.PARTIALS_PER_S / 2))
    e[10 : 10 + k - 1] = b  # a cough's worth: one window fewer than the score counts
    r = _judge(e, monkeypatch)
    assert r.speaker_count == 1 and r.score < 0.3
    e[10 : 10 + k] = b  # one more window makes half of min_voice_s: a second voice
    assert _judge(e, monkeypatch).score > 0.5


def test_two_voices_in_turns_are_found_with_the_change_and_the_second_voice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    a, b = _unit(rng.standard_normal((2, 256)))
    e = np.concatenate([_voice_windows(rng, a, 24, 0.03), _voice_windows(rng, b, 16, 0.03)])
    r = _judge(e, monkeypatch)
    assert r.speaker_count == 2 and r.method == "neural" and r.score > r.threshold
    change = 1.0 + 23.5 / neural.PARTIALS_PER_S  # between windows 23 and 24
    assert len(r.change_s) == 1 and abs(r.change_s[0] - change) < 0.01
    ((start, end),) = r.second_voice_s
    assert start < change < end


def test_one_voice_that_drifts_is_one_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A voice moving slowly (sessions, mood) has no window far from the rest of the clip."""
    rng = np.random.default_rng(6)
    a, b = _unit(rng.standard_normal((2, 256)))
    path = _unit(np.linspace(0.0, 0.6, 40)[:, None] * (b - a) + a)
    r = _judge(_voice_windows(rng, path, 40, 0.01), monkeypatch)
    assert r.speaker_count == 1, r

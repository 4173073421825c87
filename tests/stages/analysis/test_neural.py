"""The neural speaker method (voiceprep[neural]): real resemblyzer weights, no skipping in CI."""

from __future__ import annotations

import numpy as np
import pytest

from stages.analysis.neural import encoder, speech_embeddings
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
    import stages.analysis.neural as neural

    monkeypatch.setattr(neural, "loud_segments", lambda s, rate, segs, **_: segs)
    monkeypatch.setattr(neural, "CEPSTRAL_WEIGHT", 0.0)
    assert detect_speakers(x, RATE, whole, method="neural").score > r.score

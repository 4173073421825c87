"""Speaker embeddings from resemblyzer (the ``voiceprep[neural]`` extra) for `detect_speakers`.

resemblyzer ships its encoder weights (``pretrained.pt``) inside the package, so nothing is
downloaded at run time. The encoder is loaded once per process and kept; every clip after
the first costs only the forward pass (~5 ms per second of speech on one core).

    pip install torch==2.13.0          # first, so pip does not fetch a CUDA build
    pip install voiceprep[neural]
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import numpy as np

from pipeline.errors import ConfigurationError
from stages.analysis.speakers import SpeakerResult, detect_speakers, loud_segments, split_two
from stages.normalize import mono

__all__ = ["detect_speakers_neural", "encoder", "speech_embeddings"]

EMBED_RATE = 16000
PARTIALS_PER_S = 2.0  # one 1.6 s embedding every 0.5 s of speech
NOISE_CLEARANCE_DB = 15.0  # embed only speech this far above the noise floor (10th pct level)
CEPSTRAL_WEIGHT = 0.05  # the default method's ΔBIC score joins the embedding distance


@cache
def encoder() -> Any:
    """The resemblyzer voice encoder on the CPU, loaded on first use and kept for the process."""
    try:
        import torch
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise ConfigurationError(
            "speaker method 'neural' needs the neural extra: pip install torch==2.13.0, then "
            f"pip install voiceprep[neural] ({exc})"
        ) from None
    torch.set_num_threads(1)  # one worker per core already; more threads only contend
    return VoiceEncoder("cpu", verbose=False)


def speech_embeddings(
    samples: np.ndarray, rate: int, segments: list[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of 1.6 s windows of the speech in ``segments``, and each window's clip time.

    The speech is cut out and joined (pauses carry no voice), resampled to 16 kHz and
    scaled to a fixed RMS; ``times_s[i]`` maps window ``i``'s centre back to the clip.
    Returns ``(embeddings (n, 256), times_s (n,))``.
    """
    import soxr

    x = mono(samples)
    if rate != EMBED_RATE:
        x = soxr.resample(x, rate, EMBED_RATE).astype(np.float32)
    pieces, clock = [], []
    for start_s, end_s in segments:  # one step per segment
        a, b = max(0, round(start_s * EMBED_RATE)), min(x.shape[0], round(end_s * EMBED_RATE))
        if b > a:
            pieces.append(x[a:b])
            clock.append(np.arange(a, b, dtype=np.int64))
    if not pieces:
        return np.zeros((0, 256), dtype=np.float32), np.zeros(0)
    speech = np.concatenate(pieces)
    where = np.concatenate(clock)
    rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    if rms > 0:
        speech = speech * np.float32(0.1 / rms)
    _, partials, slices = encoder().embed_utterance(
        speech, return_partials=True, rate=PARTIALS_PER_S, min_coverage=0.75
    )
    centres = np.array([min((s.start + s.stop) // 2, speech.shape[0] - 1) for s in slices])
    return np.asarray(partials, dtype=np.float32), where[centres] / EMBED_RATE


def detect_speakers_neural(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]],
    *,
    min_voice_s: float,
    threshold: float,
) -> SpeakerResult:
    """`detect_speakers` on resemblyzer embeddings of the speech clear of the noise.

    ``score``: cosine distance of the two clusters' mean embeddings, plus ``CEPSTRAL_WEIGHT``
    times the default method's score: the two fail on different clips (embeddings drift
    with noise; cepstra with one voice's varied prompts), so together they err less.
    """
    clear = loud_segments(samples, rate, segments, above_noise_db=NOISE_CLEARANCE_DB)
    embeds, times = speech_embeddings(samples, rate, clear)
    speech_s = sum(max(0.0, e - s) for s, e in segments)
    if embeds.shape[0] < 3 or speech_s < 2 * min_voice_s:
        return SpeakerResult(1, 0.0, speech_s=speech_s, method="neural", threshold=threshold)
    labels = split_two(embeds.astype(np.float64))
    counts = np.bincount(labels, minlength=2)
    if counts.min() == 0:
        return SpeakerResult(1, 0.0, speech_s=speech_s, method="neural", threshold=threshold)
    centres = np.stack([embeds[labels == k].mean(axis=0) for k in (0, 1)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) + 1e-12
    cepstral = detect_speakers(samples, rate, segments, min_voice_s=min_voice_s).score
    score = float(1.0 - centres[0] @ centres[1]) + CEPSTRAL_WEIGHT * cepstral
    minority_s = float(counts.min()) / PARTIALS_PER_S
    if score <= threshold or minority_s < min_voice_s:
        return SpeakerResult(1, score, speech_s=speech_s, method="neural", threshold=threshold)
    flips = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    change = tuple(round(float((times[i - 1] + times[i]) / 2), 2) for i in flips)
    bounds = np.concatenate(([0], flips, [labels.shape[0]]))
    half = 0.8  # a window reaches 0.8 s either side of its centre
    spans = tuple(
        (round(max(0.0, float(times[a]) - half), 2), round(float(times[b - 1]) + half, 2))
        for a, b in itertools.pairwise(bounds)
        if labels[a] != labels[0]
    )
    return SpeakerResult(2, score, change, spans, speech_s, method="neural", threshold=threshold)

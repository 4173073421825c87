"""Speaker embeddings from resemblyzer (the ``voiceprep[neural]`` extra) for `detect_speakers`.

resemblyzer ships its encoder weights (``pretrained.pt``) inside the package, so nothing is
downloaded at run time. The encoder is loaded once per process and kept; every clip after
the first costs only the forward pass: ~5 ms of CPU per second of audio on one core at
`PARTIALS_PER_S` = 4 windows a second of speech.

    pip install torch==2.13.0          # first, so pip does not fetch a CUDA build
    pip install voiceprep[neural]
"""

from __future__ import annotations

import itertools
import math
from functools import cache
from typing import Any

import numpy as np

from pipeline.errors import ConfigurationError
from stages.analysis.speakers import SpeakerResult, loud_segments, split_two
from stages.normalize import mono

__all__ = ["detect_speakers_neural", "encoder", "far_from_rest", "speech_embeddings"]

EMBED_RATE = 16000
WINDOW_S = 1.6  # resemblyzer's partial utterance
PARTIALS_PER_S = 4.0  # one 1.6 s embedding every 0.25 s of speech
NOISE_CLEARANCE_DB = 15.0  # embed only speech this far above the noise floor (10th pct level)


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


def far_from_rest(embeds: np.ndarray, *, step_s: float) -> np.ndarray:
    """Each window's cosine distance to the mean of the other windows, leave-one-out.

    Windows ``step_s`` apart in the speech overlap; each other window counts by the share
    of its audio it does not have in common with the one compared (0 for itself, 1 from
    ``WINDOW_S`` on), so a window's own sound does not pull the reference towards it.
    ``embeds`` (n, dims), one row per window in speech order; returns (n,).
    """
    e = embeds.astype(np.float64)
    position = np.arange(e.shape[0]) * step_s
    weight = np.minimum(1.0, np.abs(position[:, None] - position[None, :]) / WINDOW_S)
    rest = weight @ e  # (n, dims): each window's reference voice, unnormalised
    norm = np.linalg.norm(rest, axis=1)
    cosine = np.einsum("ij,ij->i", rest, e) / np.maximum(norm, 1e-12)
    length = np.maximum(np.linalg.norm(e, axis=1), 1e-12)
    return np.where(norm > 0, 1.0 - cosine / length, 0.0)


def detect_speakers_neural(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]],
    *,
    min_voice_s: float,
    threshold: float,
) -> SpeakerResult:
    """`detect_speakers` on resemblyzer embeddings of the speech clear of the noise.

    ``score``: the k-th largest `far_from_rest` distance, k being half the windows centred
    in ``min_voice_s`` of speech: how unlike the rest of the clip its least typical
    ``min_voice_s`` sounds. A second voice that long puts k windows far from the main
    voice (overlapped speech too: its windows sit between the two voices); one voice whose
    prompts vary has the odd far window, not k. No forced two-way split enters the score
    (its centroid distance grew with one voice's spread, and its minority count missed
    short turns); `split_two` only places the change and the second voice's spans.
    """
    clear = loud_segments(samples, rate, segments, above_noise_db=NOISE_CLEARANCE_DB)
    embeds, times = speech_embeddings(samples, rate, clear)
    speech_s = sum(max(0.0, e - s) for s, e in segments)
    k = max(1, math.ceil(min_voice_s * PARTIALS_PER_S / 2))
    if embeds.shape[0] < max(3, k) or speech_s < 2 * min_voice_s:
        return SpeakerResult(1, 0.0, speech_s=speech_s, method="neural", threshold=threshold)
    distance = far_from_rest(embeds, step_s=1.0 / PARTIALS_PER_S)
    score = float(np.partition(distance, -k)[-k])
    if score <= threshold:
        return SpeakerResult(1, score, speech_s=speech_s, method="neural", threshold=threshold)
    labels = split_two(embeds.astype(np.float64))
    if np.bincount(labels, minlength=2).min() == 0:  # no split: the far windows are the voice
        labels = (distance > threshold).astype(np.int64)
    flips = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    change = tuple(round(float((times[i - 1] + times[i]) / 2), 2) for i in flips)
    bounds = np.concatenate(([0], flips, [labels.shape[0]]))
    half = WINDOW_S / 2  # a window reaches this far either side of its centre
    spans = tuple(
        (round(max(0.0, float(times[a]) - half), 2), round(float(times[b - 1]) + half, 2))
        for a, b in itertools.pairwise(bounds)
        if labels[a] != labels[0]
    )
    return SpeakerResult(2, score, change, spans, speech_s, method="neural", threshold=threshold)

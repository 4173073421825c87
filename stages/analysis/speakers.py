"""Does a clip hold one voice or more? Windowed voice statistics, two clusters, a likelihood gain.

Method (``"default"``, numpy only):

1. Cepstra (`stages.analysis.mfcc`) of 25 ms frames every 20 ms, with the mean mel power of
   the non-speech frames subtracted so stationary noise does not pose as a voice. Only loud
   frames inside the speech ``segments`` count (within 25 dB of the speech level and 6 dB
   clear of the noise floor), and of
   those only voiced ones (pitch found) when they hold enough speech: vowels carry the
   voice, fricatives and plosives mostly the words.
2. c1..c19, standardised over the clip, are summarised per ``window_s`` of *speech* (hop
   ``hop_s``) as mean and log standard deviation: one point per window.
3. Two-means on the windows, then a two-state Viterbi pass with a switching cost, so the
   split must hold for runs of windows (a speaker's turn) rather than flicker between
   phonetically different words of one speaker — the hard negative.
4. ``score``: how much better two full-covariance Gaussians (one per cluster) explain the
   frames than one, in nats per frame, minus the BIC penalty for the second Gaussian's
   parameters (`length_penalty`: without it short clips of one voice score like long clips
   of two), floored at 0. One voice with varied prompts scores ~0–1.1, two voices ~0–3.
   A clip counts as two voices when ``score`` beats ``threshold`` and the smaller cluster
   holds at least ``min_voice_s`` of speech.

Method ``"neural"`` (`stages.analysis.neural`, the ``voiceprep[neural]`` extra) replaces
steps 1–2 with resemblyzer speaker embeddings of 1.6 s windows of the loud speech that
stands 15 dB clear of the noise floor (`loud_segments`: noise-dominated frames and
background talk in pauses embed as another "voice"), and scores how far the least typical
``min_voice_s`` of speech lies from the rest of the clip (`neural.far_from_rest`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from stages.analysis.pitch_split import NO_SPLIT, PITCH_GAP_ST, PitchSplit, pitch_split
from stages.normalize import mono

__all__ = [
    "DEFAULT_THRESHOLD",
    "NEURAL_SURE",
    "NEURAL_THRESHOLD",
    "SpeakerResult",
    "detect_speakers",
    "length_penalty",
    "loud_segments",
    "split_two",
]

DEFAULT_THRESHOLD = 1.2  # nats/frame after the BIC penalty; above one voice on varied prompts
NEURAL_THRESHOLD = 0.28  # leave-one-out cosine distance; above every real clean dev voice
# ... but spelled letters and syllables of one person reach 0.37 (KLettres de, da, pt_BR, ar:
# 10 of 884 one-voice takes joined from real recordings scored over 0.28). Under this the
# neural check warns; from it on, the profile's severity applies.
NEURAL_SURE = 0.40
N_CEPSTRA = 20  # c1..c19 are used; c0 (level) is left out
LOUD_WITHIN_DB = 25.0  # frames this far under the speech level are too quiet to trust
ABOVE_NOISE_DB = 6.0  # ... and frames this close to the noise floor (10th pct level) too
SWITCH_COST = 2.0  # Viterbi cost of changing voice between windows, in within-cluster variances
NOISE_WITHIN_DB = 6.0  # noise frames: outside speech and this close to the quietest tenth
BIC_WEIGHT = 0.5  # λ of the ΔBIC penalty (`length_penalty`)
_MIN_CLUSTER_FRAMES = 20
_RIDGE = 1e-3


@dataclass(frozen=True)
class SpeakerResult:
    """Verdict on one clip; times in seconds of the samples given (add the clip offset).

    ``speaker_count`` is 1 or 2 (2 means "two or more"); ``score`` is continuous, higher
    meaning more likely several voices (for ROC curves); ``change_s`` lists where the voice
    changes; ``second_voice_s`` the ``(start, end)`` spans of the voice that did not start
    the clip; ``speech_s`` how much speech the verdict rests on. ``pitch`` holds the
    clearest split of the voiced stretches by pitch (`stages.analysis.pitch_split`); a gap
    of `PITCH_GAP_ST` calls two voices even when ``score`` does not (``by_pitch``).
    """

    speaker_count: int
    score: float
    change_s: tuple[float, ...] = ()
    second_voice_s: tuple[tuple[float, float], ...] = ()
    speech_s: float = 0.0
    method: str = "default"
    threshold: float = DEFAULT_THRESHOLD
    pitch: PitchSplit = NO_SPLIT  # the voiced stretches' two pitch groups
    by_pitch: bool = False  # True when only the pitch groups (not ``score``) call two voices


def _frame_mask(
    segments: list[tuple[float, float]], times_s: np.ndarray, *, pad_s: float = 0.0
) -> np.ndarray:
    """True for frames whose centre lies inside a segment widened by ``pad_s``."""
    if not segments:
        return np.zeros(times_s.shape[0], dtype=bool)
    bounds = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    starts, ends = bounds[:, 0] - pad_s, bounds[:, 1] + pad_s
    idx = np.searchsorted(starts, times_s, side="right") - 1
    inside = idx >= 0
    inside[inside] = times_s[inside] < ends[idx[inside]]
    return inside


def probe_levels(x: np.ndarray, rate: int, hop_s: float, win_s: float, n: int) -> np.ndarray:
    """Mean-square level (dB) of the ``n`` analysis frames, cheaply (no FFT)."""
    win, hop = round(win_s * rate), round(hop_s * rate)
    if n <= 0:
        return np.zeros(0)
    block = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n]
    return 10.0 * np.log10(np.einsum("ij,ij->i", block, block) / win + 1e-12)


def loud_segments(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]],
    *,
    within_db: float = 18.0,
    above_noise_db: float = 0.0,
    frame_s: float = 0.02,
    bridge_s: float = 0.3,
) -> list[tuple[float, float]]:
    """The parts of ``segments`` within ``within_db`` of the speech's loud level (95th pct).

    Quiet stretches the VAD kept (breaths, tails, background talk in pauses) carry the
    noise's voice more than the speaker's. Gaps up to ``bridge_s`` are bridged.
    """
    x = mono(samples)
    hop = max(1, round(frame_s * rate))
    n = x.shape[0] // hop
    if n == 0 or not segments:
        return list(segments)
    block = x[: n * hop].reshape(n, hop).astype(np.float64)
    level = 10.0 * np.log10(np.einsum("ij,ij->i", block, block) / hop + 1e-12)
    speech = _frame_mask(segments, (np.arange(n) + 0.5) * frame_s)
    if speech.sum() < 10:
        return list(segments)
    floor = max(
        np.percentile(level[speech], 95) - within_db, np.percentile(level, 10) + above_noise_db
    )
    idx = np.flatnonzero(speech & (level > floor))
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) * frame_s > bridge_s)
    firsts, lasts = np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]
    return [
        (float(a * frame_s), float((b + 1) * frame_s)) for a, b in zip(firsts, lasts, strict=True)
    ]


def _two_means(points: np.ndarray, *, iterations: int = 20) -> np.ndarray:
    """Labels 0/1 from k-means with k=2, seeded from far-apart points (best of three)."""
    best_cost, best = np.inf, np.zeros(points.shape[0], dtype=np.int64)
    spread = ((points - points.mean(axis=0)) ** 2).sum(axis=1)
    for seed in np.argsort(spread)[-3:]:
        far = ((points - points[seed]) ** 2).sum(axis=1).argmax()
        centres = points[[seed, far]]
        labels = np.zeros(points.shape[0], dtype=np.int64)
        for _ in range(iterations):
            dist = ((points[:, None, :] - centres[None]) ** 2).sum(axis=2)
            new = dist.argmin(axis=1)
            second = new.astype(bool)
            if not second.any() or second.all():
                break
            centres = np.stack([points[~second].mean(axis=0), points[second].mean(axis=0)])
            if (new == labels).all():
                break
            labels = new
        cost = float(dist[np.arange(points.shape[0]), labels].sum())
        if labels.min() != labels.max() and cost < best_cost:
            best_cost, best = cost, labels.copy()
    return best


def _viterbi_two(cost: np.ndarray, switch: float) -> np.ndarray:
    """Cheapest 0/1 label path through per-window ``cost`` (n, 2) with a ``switch`` penalty.

    One step per window (a clip has at most a few hundred), not per sample; on Python floats,
    which for two states cost a tenth of numpy's per-call overhead (same IEEE arithmetic).
    """
    rows = np.asarray(cost, dtype=np.float64).tolist()
    n = len(rows)
    back0 = [0] * n  # best predecessor of state 0 (resp. 1) at each window
    back1 = [1] * n
    total0, total1 = rows[0]
    for i in range(1, n):
        stay0, stay1 = total0, total1
        swap0, swap1 = stay1 + switch, stay0 + switch
        back0[i] = 0 if stay0 <= swap0 else 1
        back1[i] = 1 if stay1 <= swap1 else 0
        step0, step1 = rows[i]
        total0 = (stay0 if stay0 <= swap0 else swap0) + step0
        total1 = (stay1 if stay1 <= swap1 else swap1) + step1
    labels = np.zeros(n, dtype=np.int64)
    state = 0 if total0 <= total1 else 1
    labels[-1] = state
    for i in range(n - 1, 0, -1):
        state = back0[i] if state == 0 else back1[i]
        labels[i - 1] = state
    return labels


def split_two(points: np.ndarray, *, switch: float = SWITCH_COST, rounds: int = 3) -> np.ndarray:
    """Two-voice labelling of a time-ordered sequence of window ``points`` (n, dims).

    Two-means first, then a few rounds of Viterbi smoothing against the cluster centres,
    so each voice must hold runs of windows. All zeros when no split survives.
    """
    if points.shape[0] < 2:
        return np.zeros(points.shape[0], dtype=np.int64)
    labels = _two_means(points)
    for _ in range(rounds):
        if labels.min() == labels.max():
            break
        centres = np.stack([points[labels == k].mean(axis=0) for k in (0, 1)])
        within = np.concatenate([points[labels == k] - centres[k] for k in (0, 1)])
        scale = max(float(within.var(axis=0).sum()), 1e-12)
        cost = ((points[:, None, :] - centres[None]) ** 2).sum(axis=2) / scale
        new = _viterbi_two(cost, switch)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _logdet(x: np.ndarray) -> float:
    cov = np.cov(x, rowvar=False) + _RIDGE * np.eye(x.shape[1])
    return float(np.linalg.slogdet(cov)[1])


def length_penalty(n_frames: int, dims: int, *, weight: float = BIC_WEIGHT) -> float:
    """BIC penalty per frame for a second full-covariance Gaussian over ``n_frames`` frames.

    Splitting any sample in two always raises the likelihood, the more so the fewer frames
    there are, so a short clip of one voice would otherwise score like a long clip of two.
    """
    params = dims + dims * (dims + 1) / 2.0
    return float(weight * params * np.log(max(n_frames, 2)) / (2.0 * max(n_frames, 2)))


def _frame_labels(labels: np.ndarray, starts: np.ndarray, width: int, n: int) -> np.ndarray:
    """Label per frame from overlapping windows: each window owns its middle half."""
    out = np.empty(n, dtype=np.int64)
    quarter = width // 4
    owner = np.searchsorted(starts + quarter, np.arange(n), side="right") - 1
    out[:] = labels[np.clip(owner, 0, labels.shape[0] - 1)]
    return out


def _spans(
    labels: np.ndarray, times_s: np.ndarray, frame_s: float
) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    """Change times and the spans of the voice that did not start, from per-frame labels."""
    flips = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    change = tuple(round(float(times_s[i]), 2) for i in flips)
    bounds = np.concatenate(([0], flips, [labels.shape[0]]))
    first = labels[0]
    spans = tuple(
        (round(float(times_s[a]), 2), round(float(times_s[b - 1] + frame_s), 2))
        for a, b in itertools.pairwise(bounds)
        if labels[a] != first
    )
    return change, spans


def detect_speakers(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]],
    *,
    method: str = "default",
    window_s: float = 1.0,
    hop_s: float = 0.5,
    min_voice_s: float = 1.5,
    threshold: float | None = None,
) -> SpeakerResult:
    """One voice or more in mono ``samples``, judged on the speech inside ``segments``.

    ``method`` is ``"default"`` (cepstral statistics, numpy only) or ``"neural"``
    (resemblyzer embeddings; needs ``pip install voiceprep[neural]``). ``threshold``
    overrides the method's score threshold. Clips with less than ``2 * min_voice_s`` of
    speech are called one voice with score 0: too little to tell. With either method, two
    groups of voiced stretches `PITCH_GAP_ST` apart in pitch also call two voices.
    """
    if method not in ("default", "neural"):
        raise ValueError(f"speaker method must be 'default' or 'neural', got {method!r}")
    x = mono(samples)
    frames = _speech_frames(x, rate, segments)
    if method == "neural":
        from stages.analysis.neural import detect_speakers_neural

        limit = NEURAL_THRESHOLD if threshold is None else threshold
        result = detect_speakers_neural(
            samples, rate, segments, min_voice_s=min_voice_s, threshold=limit
        )
    else:
        limit = DEFAULT_THRESHOLD if threshold is None else threshold
        result = _cepstral_verdict(frames, limit, window_s, hop_s, min_voice_s)
    if frames is None:
        return result
    split = pitch_split(frames.times, frames.pitch_hz, frames.hop_s, span_s=min_voice_s)
    if result.speaker_count > 1 or split.gap_st < PITCH_GAP_ST:
        return replace(result, pitch=split)
    change = tuple(a for a, _ in split.second_voice_s)
    return replace(
        result,
        speaker_count=2,
        change_s=change,
        second_voice_s=split.second_voice_s,
        pitch=split,
        by_pitch=True,
    )


@dataclass(frozen=True)
class _SpeechFrames:
    """The 25 ms frames (20 ms hop) of a clip, with cepstra and pitch of its loud speech."""

    times: np.ndarray  # centre of every frame
    loud: np.ndarray  # frames of loud speech, clear of the noise floor
    mfcc: np.ndarray  # cepstra of every frame (NaN outside ``loud``)
    pitch_hz: np.ndarray  # pitch of the loud frames, 0 elsewhere and where unvoiced
    hop_s: float


def _speech_frames(
    x: np.ndarray, rate: int, segments: list[tuple[float, float]]
) -> _SpeechFrames | None:
    """Cepstra and pitch of the loud speech frames of mono ``x`` (None: under 10 frames)."""
    from stages.analysis.mfcc import frame_grid, grid_cepstra

    grid = frame_grid(x, rate)  # resampled to 16 kHz above that
    hop, win = grid.hop_s, grid.win_s
    n_frames = max(0, (x.shape[0] - round(win * rate)) // round(hop * rate) + 1)
    times = np.arange(n_frames) * hop + win / 2.0
    speech = _frame_mask(segments, times)
    quiet = ~_frame_mask(segments, times, pad_s=0.1)
    if quiet.any():  # speech the VAD missed must not be taken for noise
        level_all = probe_levels(x, rate, hop, win, n_frames)
        quiet &= level_all <= np.percentile(level_all, 10) + NOISE_WITHIN_DB
    # Levels of every frame first (no FFT); the spectra are then taken only of the frames
    # the verdict uses (loud speech) and of the noise frames whose mean is subtracted.
    energy_db = grid.energy_db()
    n = min(energy_db.shape[0], n_frames)
    speech, times = speech[:n], times[:n]
    level = energy_db[:n]
    if speech.sum() < 10:
        return None
    floor = max(
        np.percentile(level[speech], 95) - LOUD_WITHIN_DB,
        np.percentile(level, 10) + ABOVE_NOISE_DB,
    )
    loud = speech & (level > floor)
    wanted = np.zeros(energy_db.shape[0], dtype=bool)
    wanted[:n] = loud
    feats = grid_cepstra(
        grid,
        n_mfcc=N_CEPSTRA,
        noise_mask=quiet if quiet.sum() >= 10 else None,
        frames=wanted,
        energy_db=energy_db,
    )
    pitch = np.where(loud, feats.pitch_hz[:n], 0.0)
    return _SpeechFrames(times, loud, feats.mfcc[:n], pitch, hop)


def _cepstral_verdict(
    frames: _SpeechFrames | None,
    limit: float,
    window_s: float,
    hop_s: float,
    min_voice_s: float,
) -> SpeakerResult:
    """The default method's steps 2–4 (module docstring) on the loud speech frames."""
    if frames is None:
        return SpeakerResult(1, 0.0, threshold=limit)
    hop = frames.hop_s
    loud = frames.loud
    voiced = loud & (frames.pitch_hz > 0)
    if voiced.sum() * hop >= 2 * min_voice_s:  # vowels carry the voice; fricatives the words
        loud = voiced
    f = frames.mfcc[loud, 1:]
    sel_times = frames.times[loud]
    speech_s = f.shape[0] * hop
    width, step = max(2, round(window_s / hop)), max(1, round(hop_s / hop))
    if speech_s < 2 * min_voice_s or f.shape[0] < 2 * width:
        return SpeakerResult(1, 0.0, speech_s=speech_s, threshold=limit)
    f = (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-9)
    starts = np.arange(0, f.shape[0] - width + 1, step)
    windows = np.lib.stride_tricks.sliding_window_view(f, width, axis=0)[starts]
    points = np.concatenate([windows.mean(axis=2), np.log(windows.std(axis=2) + 1e-9)], axis=1)
    labels = _frame_labels(split_two(points), starts, width, f.shape[0])
    counts = np.bincount(labels, minlength=2)
    if counts.min() < _MIN_CLUSTER_FRAMES:
        return SpeakerResult(1, 0.0, speech_s=speech_s, threshold=limit)
    total = f.shape[0]
    gain = 0.5 * _logdet(f) - sum(
        counts[k] / (2.0 * total) * _logdet(f[labels == k]) for k in (0, 1)
    )
    score = max(0.0, gain - length_penalty(total, f.shape[1]))
    minority_s = float(counts.min()) * hop
    two = score > limit and minority_s >= min_voice_s
    if not two:
        return SpeakerResult(1, float(score), speech_s=speech_s, threshold=limit)
    change, spans = _spans(labels, sel_times, hop)
    return SpeakerResult(2, float(score), change, spans, speech_s, threshold=limit)

"""Two voices at clearly different pitches: a man and a woman, an adult and a child.

The cepstral and embedding checks (`stages.analysis.speakers`) compare the *sound* of
windows of speech and are never sure about short turns. Pitch says less, but says it
plainly when it differs: one talker's voiced stretches stay within a few semitones of one
another (the test split's professional talents move 4–5 semitones between prompts), while
a man at ~110 Hz and a woman at ~210 Hz lie about 11 semitones apart.

Method: the voiced frames of the loud speech are grouped into stretches (runs of voiced
frames with gaps of fewer than ``BRIDGE_FRAMES``); each stretch of at least ``MIN_STRETCH_S``
gets its median pitch, in semitones. Every way of cutting the stretches into a lower and a
higher group by pitch is tried; a cut counts only when each group holds, somewhere in the
clip, consecutive stretches with ``run_s`` of voiced speech between them (a turn, not the
scattered octave slips or squeaks of one talker). Of those cuts the one that best explains
the pitches as two groups wins (Otsu's criterion: the largest between-group variance,
weighted by voiced seconds), and ``gap_st`` is the difference of the two groups'
duration-weighted median pitches there. Pitches within 5 % of the tracker's limits
(`stages.analysis.mfcc.MIN_PITCH_HZ`, ``MAX_PITCH_HZ``) are left out: a tracker pinned at
its floor or ceiling has lost the voice.

Measured through the chain (`benchmarks/README.md`, "Two voices at two pitches"): single
voices read at most 7.1 semitones on the dev split, 6.3 on the test split and 7.9 on the
false-alarm set's real voices; only espeak's tonal voices (a low Mandarin variant, a
pitch-shifted Vietnamese one) reach 10–13 there, in 3 of its 300 takes. Dev pairs of a man
and a woman read 8.4 (median), 15.4 at the 90th percentile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.vad import smooth_runs, true_runs

__all__ = ["NO_SPLIT", "PITCH_GAP_ST", "PitchSplit", "pitch_split"]

PITCH_GAP_ST = 10.0  # semitones between two groups' pitches that one talker does not reach
RUN_S = 0.8  # voiced speech each group must hold in one run of consecutive stretches
BRIDGE_FRAMES = 3  # a stretch spans gaps of fewer unvoiced frames (a stop closure, a creak)
MIN_STRETCH_S = 0.1
LIMIT_MARGIN = 0.05  # pitches this close (relative) to the tracker's limits are left out
CUT_STEP_ST = 0.25  # cuts are tried between pitches this far apart (a few hundred at most)


@dataclass(frozen=True)
class PitchSplit:
    """``gap_st``: semitones between the two pitch groups (0.0 when no cut qualifies).

    ``low_hz`` / ``high_hz`` are the groups' median pitches and ``second_voice_s`` the
    ``(start, end)`` spans of the group that did not start the clip (None / () without a cut).
    """

    gap_st: float
    low_hz: float | None = None
    high_hz: float | None = None
    second_voice_s: tuple[tuple[float, float], ...] = ()


NO_SPLIT = PitchSplit(0.0)


@dataclass(frozen=True)
class _Stretch:
    start_s: float
    end_s: float
    voiced_s: float
    semitones: float  # median pitch, in semitones over 100 Hz


def _stretches(times_s: np.ndarray, pitch_hz: np.ndarray, hop_s: float) -> list[_Stretch]:
    """Voiced runs of the frames with a usable pitch (``pitch_hz`` > 0), in time order."""
    from stages.analysis.mfcc import MAX_PITCH_HZ, MIN_PITCH_HZ

    usable = (pitch_hz >= MIN_PITCH_HZ * (1 + LIMIT_MARGIN)) & (
        pitch_hz <= MAX_PITCH_HZ * (1 - LIMIT_MARGIN)
    )
    starts, ends = smooth_runs(*true_runs(usable), min_gap=BRIDGE_FRAMES, min_length=0)
    out = []
    for a, b in zip(starts, ends, strict=True):
        f0 = pitch_hz[a:b][usable[a:b]]
        if f0.size * hop_s >= MIN_STRETCH_S:
            out.append(
                _Stretch(
                    float(times_s[a] - hop_s / 2),
                    float(times_s[b - 1] + hop_s / 2),
                    f0.size * hop_s,
                    float(np.median(12.0 * np.log2(f0 / 100.0))),
                )
            )
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _has_turn(
    stretches: list[_Stretch], high: np.ndarray, group: bool, run_s: float, span_s: float
) -> bool:
    """Whether consecutive stretches all in ``group`` hold ``run_s`` voiced over ``span_s``."""
    voiced, first = 0.0, None
    for stretch, is_high in zip(stretches, high.tolist(), strict=True):
        if is_high != group:
            voiced, first = 0.0, None
            continue
        first = stretch if first is None else first
        voiced += stretch.voiced_s
        if voiced >= run_s and stretch.end_s - first.start_s >= span_s:
            return True
    return False


def pitch_split(
    times_s: np.ndarray,
    pitch_hz: np.ndarray,
    hop_s: float,
    *,
    run_s: float = RUN_S,
    span_s: float = 0.0,
) -> PitchSplit:
    """The clearest split of the voiced stretches into a lower and a higher voice.

    ``times_s`` are frame centres and ``pitch_hz`` their pitch (0 where unvoiced or where the
    frame is not loud speech), ``hop_s`` the frame step. Each group needs a turn: consecutive
    stretches with ``run_s`` of voiced speech, spanning at least ``span_s``. See the module
    docstring.
    """
    stretches = _stretches(np.asarray(times_s), np.asarray(pitch_hz), hop_s)
    if len(stretches) < 2:
        return NO_SPLIT
    semitones = np.array([s.semitones for s in stretches])
    voiced = np.array([s.voiced_s for s in stretches])
    levels = np.unique(np.round(semitones / CUT_STEP_ST) * CUT_STEP_ST)  # bounded: long clips
    best, best_cut = 0.0, None
    for cut in (levels[:-1] + levels[1:]) / 2.0:
        high = semitones > cut
        if not all(_has_turn(stretches, high, g, run_s, span_s) for g in (True, False)):
            continue
        # Otsu's criterion: the cut that best explains the pitches as two groups
        w_high, w_low = voiced[high].sum(), voiced[~high].sum()
        mean_high = (semitones[high] * voiced[high]).sum() / w_high
        mean_low = (semitones[~high] * voiced[~high]).sum() / w_low
        between = w_high * w_low * (mean_high - mean_low) ** 2
        if between > best:
            best, best_cut = between, cut
    if best_cut is None:
        return NO_SPLIT
    high = semitones > best_cut
    low_st = _weighted_median(semitones[~high], voiced[~high])
    high_st = _weighted_median(semitones[high], voiced[high])
    second = not high[0]  # the group that did not start the clip
    spans: list[tuple[float, float]] = []
    previous = False
    for stretch, is_high in zip(stretches, high.tolist(), strict=True):
        mine = is_high == second
        if mine and previous:
            spans[-1] = (spans[-1][0], round(stretch.end_s, 2))
        elif mine:
            spans.append((round(stretch.start_s, 2), round(stretch.end_s, 2)))
        previous = mine
    return PitchSplit(round(high_st - low_st, 2), _hz(low_st), _hz(high_st), tuple(spans))


def _hz(semitones: float) -> float:
    return round(100.0 * 2.0 ** (semitones / 12.0), 1)

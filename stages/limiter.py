"""A look-ahead sample-peak limiter in vectorised numpy: lets `normalize` reach its loudness target.

Speech has an 18–20 dB crest factor, so a −16 LUFS target under a −1 dBFS sample-peak
ceiling is out of reach with one linear gain. This limiter turns down only the few peaks
that would pass the ceiling, a few dB and a few milliseconds at a time.

How the gain is built, in gain *reduction* in dB (``r ≥ 0``; the gain is ``10^(−r/20)``), on
knots every ~0.5 ms (``step`` frames; knot ``b`` sits at frame ``b·step``):

1. ``need[b]``: the reduction that every frame of the blocks either side of knot ``b`` needs to
   sit just under the ceiling (0 where they already do).
2. Look-ahead and hold: ``peak[b] = max(need[b − H … b + L − 1])``, a sliding maximum over the
   ``L`` knots ahead (``lookahead_ms``) and ``H`` behind (``hold_ms``), so the gain is already
   down when a peak arrives and stays down briefly after.
3. Release: ``rel[b] = max over k ≤ b of peak[k]·e^(−(b−k)/τ)``, an exponential recovery of the
   reduction (time constant ``release_ms``), without a loop as a running maximum of logs:
   ``ln rel[b] = max_k≤b (ln peak[k] + k/τ) − b/τ``.
4. Attack: ``R[b]``, the moving average of ``rel[b − L + 1 … b]``, then straight lines from
   knot to knot give each frame its reduction.

Why no frame can pass the ceiling: every ``rel[j]`` averaged into ``R[b]`` has
``b − L < j ≤ b``, so ``rel[j] ≥ peak[j] ≥ need[b]`` (knot ``b`` lies in ``j``'s look-ahead
window), and a mean of values each ``≥ need[b]`` is ``≥ need[b]``; a frame between knots ``b``
and ``b + 1`` gets a blend of ``R[b]`` and ``R[b + 1]``, both ``≥`` what that frame needs.
``R ≥ 0`` makes the gain ``≤ 1``; where every ``R`` nearby is 0 the audio is untouched.

Cost (CPU time, one core, median of 21 alternating passes, 23 s of speech-like audio needing
6 dB of limiting): `limit_peaks` takes 2.2 ms at 8 kHz and 6.0 ms at 24 kHz (one
`integrated_loudness` of the same audio: 1.7 and 11.7 ms). `Normalize` with the limiter on
limits and re-measures 2-3 times: 16 ms instead of 4.4 ms at 8 kHz, 59 instead of 18 ms at
24 kHz. It runs only when ``Normalize(limiter=True)`` meets a clip whose peaks need it.

>>> import numpy as np
>>> x = np.zeros(8000, dtype=np.float32); x[4000] = 1.0
>>> y = limit_peaks(x, 8000, ceiling_dbfs=-1.0)
>>> bool(np.max(np.abs(y)) <= 10 ** (-1 / 20))
True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["limit_peaks", "limiter_gain"]

# Relative: aim this much under the ceiling so float32 rounding of ``x * gain`` cannot pass it.
_CEILING_MARGIN = 1e-6
# Reductions smaller than this (dB) become exactly 0, so the exponential release ends and
# audio far from any peak comes out bit for bit. Well under the margin's 8.7e-6 dB, so no
# sample that needs reduction loses it.
_NEGLIGIBLE_DB = 1e-6
# The gain curve is computed at knots this often (per second of audio), and drawn in straight
# lines between them: 2,000 a second (every 0.5 ms) are fine enough for a 5 ms attack.
_KNOTS_PER_S = 2000


def limiter_gain(
    samples: np.ndarray,
    rate: int,
    *,
    ceiling_dbfs: float,
    lookahead_ms: float = 5.0,
    hold_ms: float = 5.0,
    release_ms: float = 60.0,
) -> np.ndarray:
    """Per-frame gain ``(frames,)``, float32 in ``(0, 1]``, that keeps the peaks under the ceiling.

    ``samples`` is mono ``(frames,)`` or ``(frames, ch)``; channels share one gain, driven by
    the loudest. Multiplying the samples by this gain limits them (see `limit_peaks`).
    """
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    if lookahead_ms <= 0 or hold_ms < 0 or release_ms <= 0:
        raise ValueError(
            "lookahead_ms and release_ms must be positive and hold_ms not negative, got "
            f"{lookahead_ms}, {hold_ms}, {release_ms}"
        )
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"expected samples of shape (frames,) or (frames, channels), got {x.shape}"
        )
    level = np.abs(x) if x.ndim == 1 else np.abs(x).max(axis=1, initial=0.0)
    frames = level.shape[0]
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    if frames == 0 or float(level.max()) <= ceiling:
        return np.ones(frames, dtype=np.float32)

    target = ceiling * (1.0 - _CEILING_MARGIN)
    step = max(1, min(rate // _KNOTS_PER_S, round(lookahead_ms * rate / 1000.0)))
    n_blocks = -(-frames // step)
    padded = np.zeros(n_blocks * step, dtype=level.dtype)
    padded[:frames] = level
    block_level = _block_max(padded.reshape(n_blocks, step)).astype(np.float64)
    # Knot b sits at frame b·step and must cover every frame of blocks b − 1 and b; ``ahead``
    # knots before the start need nothing but let the moving average start inside the clip.
    ahead = max(1, math.ceil(lookahead_ms * rate / 1000.0 / step))
    behind = math.ceil(hold_ms * rate / 1000.0 / step)
    block_need = np.zeros(n_blocks)
    over = block_level > target
    block_need[over] = 20.0 * np.log10(block_level[over] / target)
    need = np.zeros(ahead + n_blocks + 1)
    need[ahead:-1] = block_need
    np.maximum(need[ahead + 1 :], block_need, out=need[ahead + 1 :])

    peak = _sliding_max(need, first=-behind, last=ahead - 1)
    rel = _exponential_release(peak, tau=release_ms * rate / 1000.0 / step)
    rel[rel < _NEGLIGIBLE_DB] = 0.0
    knots = _trailing_mean(rel, ahead)  # (n_blocks + 1,): the clip's knots
    np.maximum(knots, 0.0, out=knots)  # cumsum rounding must not give a gain above 1
    knots[rel[ahead:] == 0.0] = 0.0  # nothing to smooth in: exactly unity gain

    # Straight lines between knots, on the natural-log scale so that ``exp`` gives the gain;
    # float32 from here (rounding ~1e-7, well inside the ceiling margin) halves the traffic.
    knots *= -math.log(10.0) / 20.0
    ramp = (np.arange(step) / step).astype(np.float32)
    start = knots[:-1].astype(np.float32)
    slope = np.diff(knots).astype(np.float32)
    reduction = start[:, np.newaxis] + slope[:, np.newaxis] * ramp
    gain: np.ndarray = np.exp(reduction, out=reduction).reshape(-1)[:frames]
    return gain


def limit_peaks(
    samples: np.ndarray,
    rate: int,
    *,
    ceiling_dbfs: float,
    lookahead_ms: float = 5.0,
    hold_ms: float = 5.0,
    release_ms: float = 60.0,
) -> np.ndarray:
    """Float ``samples`` (1.0 = full scale) with every peak at or under ``ceiling_dbfs``.

    A look-ahead limiter (see the module docstring): the gain starts falling ``lookahead_ms``
    before a peak, holds ``hold_ms`` after it, and recovers with time constant ``release_ms``.
    Audio that is already under the ceiling comes back unchanged (a copy; float32 input stays
    float32).
    """
    x = np.asarray(samples)
    gain = limiter_gain(
        x,
        rate,
        ceiling_dbfs=ceiling_dbfs,
        lookahead_ms=lookahead_ms,
        hold_ms=hold_ms,
        release_ms=release_ms,
    )
    if x.ndim == 2:
        gain = gain[:, np.newaxis]
    out: np.ndarray = x * gain  # float32 for float32 (or integer) input, float64 for float64
    return out


def _block_max(blocks: np.ndarray) -> np.ndarray:
    """Maximum of each row of ``(rows, step)``: ``step`` column passes, SIMD-fast where numpy's
    reduction along a short last axis is a slow scalar loop (7x slower at ``step = 12``)."""
    out = blocks[:, 0].copy()
    for column in range(1, blocks.shape[1]):  # a loop over the block length, not over samples
        np.maximum(out, blocks[:, column], out=out)
    return out


def _sliding_max(values: np.ndarray, *, first: int, last: int) -> np.ndarray:
    """``out[n] = max(values[n + first … n + last])``, indices clipped to the array; ``values ≥ 0``.

    By doubling: a running maximum over ``s`` samples and the same shifted by ``k ≤ s`` make
    one over ``s + k``, so ``log2(width)`` whole-array passes (each SIMD-fast), where a
    ``maximum.accumulate`` (van Herk) is a slow scalar loop and a strided window view costs
    ``width`` passes.
    """
    pad = max(0, -first)
    out = np.concatenate((np.zeros(pad), values, np.zeros(max(0, first))))
    width = last - first + 1
    span = 1
    while span < width:  # a loop over log2(width) passes, not over samples
        k = min(span, width - span)
        np.maximum(out[:-k], out[k:], out=out[:-k])
        span += k
    start = first + pad
    return out[start : start + values.shape[0]]


def _exponential_release(peak: np.ndarray, *, tau: float) -> np.ndarray:
    """``max over k ≤ n of peak[k]·exp(−(n − k)/tau)`` for ``peak ≥ 0``: a running max of logs."""
    ramp = np.arange(peak.shape[0]) / tau
    active = peak > 0.0
    logs = np.full(peak.shape[0], -np.inf)
    logs[active] = np.log(peak[active]) + ramp[active]
    np.maximum.accumulate(logs, out=logs)
    logs -= ramp
    return np.exp(logs, out=logs)


def _trailing_mean(values: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = mean(values[n − width + 1 … n])`` for ``n = width + i``: every full window
    but the first, so ``len(values) − width`` values."""
    csum = np.cumsum(values)
    out: np.ndarray = csum[width:] - csum[:-width]
    out /= width
    return out

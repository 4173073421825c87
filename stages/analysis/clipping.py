"""Clipping: flat-topped runs at full scale, and flat tops that a later gain moved lower.

A clipped waveform sits on its rail for several samples in a row. Hard clipping puts the
rail at full scale; but a take clipped in the interface and then turned down (by the
recorder, an editor, a loudness tool) has the same flat tops at, say, −6 dBFS, where a
full-scale test misses them. So besides the full-scale rail this looks at the clip's own
extremes: samples equal (within ``rel_tol``) to the largest positive or the largest
negative value, in runs of ``min_run`` or more. Natural peaks touch their maximum once;
a steady low-frequency tone may repeat it, but only a few samples per second.

Lossy codecs (MP3, AAC) ring around flat tops, so hidden clipping in them is not
guaranteed to be seen; hard clipping mostly is (the ringing overshoots full scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.loudness import BLOCK_ROWS, ROW_VALUES, channel_reduce

__all__ = ["ClippingResult", "channel_extremes", "detect_clipping"]

FULL_SCALE = 0.999
MIN_RUN = 3
MIN_LEVEL = 1e-3  # quieter than −60 dBFS: flat runs there are silence, not clipping


@dataclass(frozen=True)
class ClippingResult:
    """``ratio``: share of samples in flat-topped runs (worst channel); ``level`` their |x|."""

    ratio: float
    hard_ratio: float  # the part at full scale
    level: float | None  # rail level (0..1) of the worst channel's flat tops, None if none

    @property
    def hidden(self) -> bool:
        """True when the flat tops lie clearly under full scale (clipped, then turned down)."""
        return self.level is not None and self.level < FULL_SCALE and self.ratio > self.hard_ratio


def _in_runs(indices: np.ndarray, min_run: int) -> np.ndarray:
    """Those of the sorted sample ``indices`` that lie in runs of ``min_run`` or more neighbours.

    Works on the (few) candidate indices rather than a mask of the whole clip, so the cost is
    a comparison pass over the samples plus work proportional to the candidates.
    """
    if indices.size < min_run:
        return indices[:0]
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    lengths = np.diff(np.concatenate(([0], breaks, [indices.size])))
    return indices[np.repeat(lengths >= min_run, lengths)]


def channel_extremes(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel maximum and minimum, ``(ch,)`` each, in one contiguous pass apiece."""
    x = np.asarray(samples)
    if x.size == 0:
        empty = np.empty(0 if x.ndim == 1 else x.shape[1], dtype=x.dtype)
        return empty, empty
    # fmax/fmin, not maximum/minimum: they skip numpy's NaN propagation, which halves the
    # cost of an axis-0 reduction (decode has replaced any NaN already; here NaN is ignored).
    return channel_reduce(x, np.fmax), channel_reduce(x, np.fmin)


def _candidates(
    x: np.ndarray, hi_thr: np.ndarray, lo_thr: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per channel, the sorted frame indices ``>= hi_thr[c]``, and those ``<= lo_thr[c]``.

    ``x >= thresholds`` on ``(frames, ch)`` would loop over 2 values at a time, and two
    separate passes would each fetch the whole clip from memory. So the samples are compared
    as rows of whole frames against the thresholds tiled to the row length, a cache-sized
    block of rows at a time, both tests on each block while it is in cache.
    """
    n_ch = 1 if x.ndim == 1 else x.shape[1]
    flat = x.reshape(-1)
    per_row = max(1, ROW_VALUES // n_ch)
    width = per_row * n_ch
    n_rows = flat.size // width
    cut = n_rows * width
    body = flat[:cut].reshape(n_rows, width)
    hi_row, lo_row = np.tile(hi_thr, per_row), np.tile(lo_thr, per_row)
    hi_any, lo_any = hi_thr.min(), lo_thr.max()  # a row can only hold a hit past these
    highs: list[np.ndarray] = []
    lows: list[np.ndarray] = []
    for first in range(0, n_rows, BLOCK_ROWS):
        block = body[first : first + BLOCK_ROWS]
        # Row extremes first (contiguous SIMD reductions): hits are rare, so only the few
        # rows that reach a threshold are compared value by value.
        hit_rows = np.flatnonzero(np.fmax.reduce(block, axis=1) >= hi_any)
        highs.append(_row_hits(block, hit_rows, first, width, hi_row, np.greater_equal))
        hit_rows = np.flatnonzero(np.fmin.reduce(block, axis=1) <= lo_any)
        lows.append(_row_hits(block, hit_rows, first, width, lo_row, np.less_equal))
    tail = flat[cut:]  # under one row, starting on a frame: the tiled pattern lines up
    highs.append(cut + np.flatnonzero(tail >= hi_row[: tail.size]))
    lows.append(cut + np.flatnonzero(tail <= lo_row[: tail.size]))
    return _per_channel(np.concatenate(highs), n_ch), _per_channel(np.concatenate(lows), n_ch)


def _row_hits(
    block: np.ndarray,
    rows: np.ndarray,
    first: int,
    width: int,
    threshold: np.ndarray,
    test: np.ufunc,
) -> np.ndarray:
    """Flat indices (into the whole clip) of the values of ``block[rows]`` passing ``test``."""
    if rows.size == 0:
        return np.empty(0, dtype=np.intp)
    hits = np.flatnonzero(test(block[rows], threshold))
    return (first + rows[hits // width]) * width + hits % width


def _per_channel(hits: np.ndarray, n_ch: int) -> list[np.ndarray]:
    """Flat sample indices of interleaved audio split into sorted frame indices per channel."""
    if n_ch == 1:
        return [hits]
    channel = hits % n_ch
    return [hits[channel == c] // n_ch for c in range(n_ch)]


def detect_clipping(
    samples: np.ndarray,
    *,
    full_scale: float = FULL_SCALE,
    min_run: int = MIN_RUN,
    rel_tol: float = 1e-4,
    extremes: tuple[np.ndarray, np.ndarray] | None = None,
) -> ClippingResult:
    """Share of samples in flat-topped runs, at full scale or at the channel's own extremes.

    ``extremes``: the `channel_extremes` of ``samples`` when the caller has them already.
    Interleaved audio is scanned as a whole, never a channel at a time: a channel of
    ``(frames, ch)`` samples is a strided view, and each pass over one reads all of them.
    """
    x = np.asarray(samples, dtype=np.float32)
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    frames = x.shape[0]
    worst = ClippingResult(0.0, 0.0, None)
    if frames < min_run or x.size == 0:
        return worst
    his, los = extremes if extremes is not None else channel_extremes(x)
    his = np.asarray(his, dtype=np.float32)
    los = np.asarray(los, dtype=np.float32)
    n_ch = his.shape[0]
    no_hard = [np.empty(0, dtype=np.intp)] * n_ch
    hard_all = no_hard
    if float(his.max()) >= full_scale or float(los.min()) <= -full_scale:
        rail = np.full(n_ch, full_scale, dtype=np.float32)
        above, below = _candidates(x, rail, -rail)
        hard_all = [np.union1d(a, b) for a, b in zip(above, below, strict=True)]
    # Each channel's rail: within rel_tol of its own extremes (a channel under MIN_LEVEL has
    # none; an impossible threshold keeps it out of the scan).
    # (Thresholds in float64, rounded to float32 once: what comparing with a Python float does.)
    his64, los64 = his.astype(np.float64), los.astype(np.float64)
    hi_thr = np.where(his64 >= MIN_LEVEL, his64 * (1.0 - rel_tol), np.inf).astype(np.float32)
    lo_thr = np.where(los64 <= -MIN_LEVEL, los64 * (1.0 - rel_tol), -np.inf).astype(np.float32)
    hi_hits, lo_hits = _candidates(x, hi_thr, lo_thr)
    for c in range(n_ch):  # per channel: work on the (few) candidate indices only
        hi, lo = float(his[c]), float(los[c])
        if max(hi, -lo) < MIN_LEVEL:
            continue
        hard = _in_runs(hard_all[c], min_run)
        flat = [hard, _in_runs(hi_hits[c], min_run), _in_runs(lo_hits[c], min_run)]
        flat_idx = np.unique(np.concatenate(flat))
        ratio = float(flat_idx.size) / frames
        if ratio > worst.ratio:
            values = x[flat_idx] if x.ndim == 1 else x[flat_idx, c]
            level = float(np.abs(values).min()) if flat_idx.size else None
            worst = ClippingResult(ratio, float(hard.size) / frames, level)
    return worst

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

__all__ = ["ClippingResult", "detect_clipping"]

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


def detect_clipping(
    samples: np.ndarray,
    *,
    full_scale: float = FULL_SCALE,
    min_run: int = MIN_RUN,
    rel_tol: float = 1e-4,
) -> ClippingResult:
    """Share of samples in flat-topped runs, at full scale or at the channel's own extremes."""
    x = np.asarray(samples)
    columns = [x] if x.ndim == 1 else [x[:, c] for c in range(x.shape[1])]
    frames = x.shape[0]
    worst = ClippingResult(0.0, 0.0, None)
    if frames < min_run:
        return worst
    for column in columns:  # one pass per channel
        col = np.ascontiguousarray(column, dtype=np.float32)
        hi, lo = float(col.max()), float(col.min())
        if max(hi, -lo) < MIN_LEVEL:
            continue
        if hi >= full_scale or lo <= -full_scale:
            hard = _in_runs(np.flatnonzero((col >= full_scale) | (col <= -full_scale)), min_run)
        else:  # nothing reaches full scale (most takes): skip the pass
            hard = np.empty(0, dtype=np.intp)
        flat = [hard]
        if hi >= MIN_LEVEL:
            flat.append(_in_runs(np.flatnonzero(col >= hi * (1.0 - rel_tol)), min_run))
        if lo <= -MIN_LEVEL:
            flat.append(_in_runs(np.flatnonzero(col <= lo * (1.0 - rel_tol)), min_run))
        flat_idx = np.unique(np.concatenate(flat))
        ratio = float(flat_idx.size) / frames
        if ratio > worst.ratio:
            level = float(np.abs(col[flat_idx]).min()) if flat_idx.size else None
            worst = ClippingResult(ratio, float(hard.size) / frames, level)
    return worst

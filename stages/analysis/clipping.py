"""Clipping: flat-topped runs at full scale, and flat tops that a later gain moved lower.

A clipped waveform sits on its rail for several samples in a row. Hard clipping puts the
rail at full scale; but a take clipped in the interface and then turned down (by the
recorder, an editor, a loudness tool) has the same flat tops at, say, −6 dBFS, where a
full-scale test misses them. So besides the full-scale rail this looks at the clip's own
extremes: samples equal (within ``rel_tol``) to the largest positive or the largest
negative value, in runs of ``min_run`` or more. Natural peaks touch their maximum once;
a steady low-frequency tone may repeat it, but only a few samples per second.

A noise floor added *after* the gain (a generator that mixes in room tone last, a dithered
export) scatters the flat tops by the noise, and an exact rail no longer exists (a few exact
runs remain by chance). So a second test looks for a *noisy rail*, and its answer replaces the
strict one when it finds at least ``NOISY_OVER_EXACT`` times as much: many samples within
``NEAR_RAIL`` of the extreme piled up at one level, within ``TOL_SIGMAS`` times the noise of
the pauses, in runs. A smooth crest (a natural peak, or a limiter's ceiling) spreads its
samples towards the top at a density rising gently to the peak, so its samples just under the
level are as many as at it; flat tops put far more at the level than just under it
(``SPIKE``). Noise louder than ``MAX_TOL`` of the rail hides the tops: no verdict then.

Lossy codecs (MP3, AAC) and resampling filter the flat tops into rippled plateaus, so
clipping that went through them afterwards is not seen, hidden or at full scale
(`benchmarks/constructions.py`: 0 of 12 at 1 % clipped, MP3 at 128 kbit/s or soxr to 16 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.loudness import BLOCK_ROWS, ROW_VALUES, channel_reduce

__all__ = ["ClippingResult", "channel_extremes", "detect_clipping"]

FULL_SCALE = 0.999
MIN_RUN = 3
MIN_LEVEL = 1e-3  # quieter than −60 dBFS: flat runs there are silence, not clipping
NEAR_RAIL = 0.02  # a noisy rail is looked for within this share under the extreme
MIN_NEAR = 16  # ... among at least this many samples there (natural peaks: a handful)
NOISE_BLOCK = 256  # samples per block; the noise is the 5th percentile of their RMS
TOL_SIGMAS = 3.0  # a noisy flat top lies within this many noise RMS of its rail
MAX_TOL = 0.01  # noise wider than this share of the rail hides flat tops
NOISY_OVER_EXACT = 2.0  # a noisy rail replaces exact flat tops only when it holds this many more
SPIKE = 4.0  # flat tops: at least this many samples at the rail as in as wide a band 3-5 tol under


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
    # One scan for the samples near each extreme (for a noisy rail, below); the strict
    # candidates are those of them past the strict thresholds.
    near_hi = np.where(his64 >= MIN_LEVEL, his64 * (1.0 - NEAR_RAIL), np.inf).astype(np.float32)
    near_lo = np.where(los64 <= -MIN_LEVEL, los64 * (1.0 - NEAR_RAIL), -np.inf).astype(np.float32)
    near_highs, near_lows = _candidates(x, near_hi, near_lo)
    hi_hits = [_past(x, near, c, hi_thr[c], 1.0) for c, near in enumerate(near_highs)]
    lo_hits = [_past(x, near, c, lo_thr[c], -1.0) for c, near in enumerate(near_lows)]
    for c in range(n_ch):  # per channel: work on the (few) candidate indices only
        hi, lo = float(his[c]), float(los[c])
        if max(hi, -lo) < MIN_LEVEL or hi - lo < MIN_LEVEL:
            continue  # silence, or a constant (DC): no waveform to have flat tops
        hard = _in_runs(hard_all[c], min_run)
        flat = [hard, _in_runs(hi_hits[c], min_run), _in_runs(lo_hits[c], min_run)]
        flat_idx = np.unique(np.concatenate(flat))
        ratio = float(flat_idx.size) / frames
        if ratio > worst.ratio:
            values = x[flat_idx] if x.ndim == 1 else x[flat_idx, c]
            level = float(np.abs(values).min()) if flat_idx.size else None
            worst = ClippingResult(ratio, float(hard.size) / frames, level)
    # Exact flat tops, when there are any, are the better measure; a noisy rail is taken only
    # where it sees far more (a later noise floor leaves a few exact runs by chance).
    noisy = _noisy_rails(x, near_highs, near_lows, min_run=min_run, rel_tol=rel_tol)
    return noisy if noisy.ratio > NOISY_OVER_EXACT * worst.ratio else worst


def _past(x: np.ndarray, near: np.ndarray, c: int, threshold: float, sign: float) -> np.ndarray:
    """Those ``near`` frame indices whose channel ``c`` value is past ``threshold``."""
    values = x[near] if x.ndim == 1 else x[near, c]
    return near[sign * values >= sign * threshold]


def _noisy_rails(
    x: np.ndarray,
    highs: list[np.ndarray],
    lows: list[np.ndarray],
    *,
    min_run: int,
    rel_tol: float,
) -> ClippingResult:
    """The worst channel's flat tops under a later noise floor (module docstring), or none.

    ``highs`` / ``lows``: per channel, the frame indices within `NEAR_RAIL` of its extremes.
    """
    frames = x.shape[0]
    min_near = max(MIN_NEAR, min_run)
    worst = ClippingResult(0.0, 0.0, None)
    for c in range(len(highs)):
        if highs[c].size < min_near and lows[c].size < min_near:
            continue  # the usual case: a natural peak or two near the extreme
        channel = x if x.ndim == 1 else x[:, c]
        noise = _noise_rms(channel)
        flat: list[np.ndarray] = []
        levels: list[float] = []
        for sign, near in ((1.0, highs[c]), (-1.0, lows[c])):
            if near.size < min_near:
                continue
            found = _flat_at_noisy_rail(channel, near, sign, noise, min_run, rel_tol)
            if found is not None:
                flat.append(found[0])
                levels.append(found[1])
        if flat:
            ratio = float(np.unique(np.concatenate(flat)).size) / frames
            if ratio > worst.ratio:
                level = min(levels)
                worst = ClippingResult(ratio, ratio if level >= FULL_SCALE else 0.0, level)
    return worst


def _noise_rms(channel: np.ndarray) -> float:
    """RMS of the quietest blocks (5th percentile of ``NOISE_BLOCK``-sample blocks)."""
    n_blocks = channel.shape[0] // NOISE_BLOCK
    if n_blocks == 0:
        return 0.0
    blocks = np.asarray(channel[: n_blocks * NOISE_BLOCK], dtype=np.float32)
    blocks = blocks.reshape(n_blocks, NOISE_BLOCK)
    power = np.einsum("ij,ij->i", blocks, blocks) / NOISE_BLOCK
    return float(np.sqrt(np.percentile(power, 5.0)))


def _flat_at_noisy_rail(
    channel: np.ndarray,
    near: np.ndarray,
    sign: float,
    noise: float,
    min_run: int,
    rel_tol: float,
) -> tuple[np.ndarray, float] | None:
    """Indices in flat runs at the level where ``near``'s values pile up, and that level."""
    values = sign * np.asarray(channel[near], dtype=np.float64)
    extreme = float(values.max())
    tol = max(TOL_SIGMAS * noise, rel_tol * extreme)
    if tol > MAX_TOL * extreme:
        return None
    ordered = np.sort(values)
    within = np.searchsorted(ordered, ordered + tol, "right") - np.searchsorted(
        ordered, ordered - tol, "left"
    )
    rail = float(ordered[int(np.argmax(within))])
    at_rail = near[np.abs(values - rail) <= tol]
    signed = sign * np.asarray(channel, dtype=np.float32)
    under = int(np.count_nonzero((signed >= rail - 5 * tol) & (signed <= rail - 3 * tol)))
    if at_rail.size < SPIKE * max(under, 1):
        return None
    flat = _in_runs(at_rail, min_run)
    return (flat, rail) if flat.size else None

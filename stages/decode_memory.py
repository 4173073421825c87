"""Bound the memory one decoded input takes: frames × channels kept, not just the duration.

A 3.9 MB FLAC of 8 channels at 192 kHz holds 10 minutes of 920 million samples (3.7 GB as
float32): the duration limit alone lets a small file eat a worker's memory. Decode keeps
every channel while they fit in `kept_values_budget`; past it, it keeps the mono downmix
(what normalize makes of them anyway), built block by block as the file is read; an input
whose downmix alone does not fit is refused before it is decoded.
"""

from __future__ import annotations

import os

import numpy as np

# Float32 values one input may keep: 128 Mi (512 MiB), or 10 minutes of 96 kHz stereo per
# 600 s of `--max-input-s` when that is raised (whoever accepts long inputs, accepts their
# size). Everyday takes (10 minutes of 48 kHz stereo: 57.6 M values) are far under it.
MIN_KEPT_VALUES = 1 << 27
KEPT_VALUES_PER_S = 2 * 96_000
BLOCK_FRAMES = 1 << 16  # frames decoded per block when reading in blocks


RAM_SHARE = 8  # one input never keeps more than this share of the machine's memory


def kept_values_budget(max_duration_s: float, ram_bytes: int | None = None) -> int:
    """How many float32 values one decoded input may keep.

    Grows with ``max_duration_s`` (whoever accepts long inputs accepts their size), but
    never past 1/`RAM_SHARE` of the machine's memory (``ram_bytes``, default: asked of the
    OS), whatever ``--max-input-s`` says: every worker of a run may hold one input at once.
    """
    wanted = max(MIN_KEPT_VALUES, int(max_duration_s * KEPT_VALUES_PER_S))
    ram = physical_memory() if ram_bytes is None else ram_bytes
    if ram is None:
        return wanted
    return min(wanted, max(MIN_KEPT_VALUES, ram // RAM_SHARE // 4))


def physical_memory() -> int | None:
    """Bytes of RAM in this machine, None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def kept_channels(frames: int, channels: int, budget: int) -> int | None:
    """Channels to keep of ``frames`` × ``channels``: all, 1 (the downmix), or None (too big)."""
    if frames * channels <= budget:
        return channels
    return 1 if frames <= budget else None


class SampleSink:
    """Float32 blocks of ``(n, channels)`` gathered into one array, downmixed on the way if asked.

    The downmix is normalize's (`stages.normalize.downmix`: the channels added in order, times
    1/count, in float32), so a downmixed source gives normalize the same mono, bit for bit.
    Room grows by half when the expected length was short; `add` refuses a block that would
    pass ``max_frames`` (the caller says why: too long, or too big).
    """

    def __init__(self, channels: int, *, downmix: bool, expected_frames: int, max_frames: int):
        self.channels = channels
        self.downmix = downmix and channels > 1
        self.max_frames = max_frames
        self.frames = 0
        self._capacity = min(max(expected_frames, 1), max(max_frames, 1))
        self._buf = self._empty(0)  # the room is taken at the first block

    def _empty(self, frames: int) -> np.ndarray:
        shape = (frames,) if self.downmix or self.channels == 1 else (frames, self.channels)
        return np.empty(shape, dtype=np.float32)

    def add(self, block: np.ndarray) -> bool:
        """Append ``block`` (``(n,)`` for mono, else ``(n, channels)``); False past max_frames."""
        n = block.shape[0]
        end = self.frames + n
        if end > self.max_frames:
            return False
        if end > self._buf.shape[0]:
            room = self._capacity if self._buf.shape[0] == 0 else self._buf.shape[0] * 3 // 2
            grown = self._empty(min(self.max_frames, max(end, room)))
            grown[: self.frames] = self._buf[: self.frames]
            self._buf = grown
        out = self._buf[self.frames : end]
        if self.downmix:
            np.add(block[:, 0], block[:, 1], out=out)
            for c in range(2, self.channels):
                out += block[:, c]
            out *= np.float32(1.0 / self.channels)
        else:
            out[...] = block
        self.frames = end
        return True

    def samples(self) -> np.ndarray:
        """The frames added so far (a view: room never written costs no memory)."""
        return self._buf[: self.frames]

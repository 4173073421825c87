"""Keep freed audio buffers inside the process instead of handing them back to the kernel.

Every clip allocates a few arrays of 0.1–15 MB (the decoded source, a downmix, spectra).
glibc serves blocks that large with a fresh ``mmap`` and unmaps them on free, so each new
clip page-faults its way through zeroed memory again: in a profile of the default chain,
a third of `normalize`'s time went to page faults. Raising the mmap and trim thresholds
lets freed blocks be reused. Peak memory stays bounded by the largest clip's working set
(it does not grow with the batch); only a process's idle footprint stays at that peak.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD_BYTES = 128 << 20

_result: bool | None = None  # once tried: whether it took effect


def keep_freed_memory() -> bool:
    """Tune glibc's allocator once per process (no-op elsewhere); True when it took effect."""
    global _result
    if _result is None:
        _result = _tune()
    return _result


def _tune() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running process's own libc
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok

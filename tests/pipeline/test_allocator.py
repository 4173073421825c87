import sys

import numpy as np
import pytest

from pipeline import allocator


def test_tuning_happens_once_and_takes_effect_on_linux():
    first = allocator.keep_freed_memory()
    assert allocator.keep_freed_memory() is first
    if sys.platform.startswith("linux"):
        assert first  # glibc (musl would say False, harmlessly)
    # Large buffers still allocate, free and hold their data correctly afterwards.
    a = np.ones(4 << 20, dtype=np.float32)
    del a
    b = np.full(4 << 20, 2.0, dtype=np.float32)
    assert float(b.sum()) == pytest.approx(2.0 * (4 << 20))

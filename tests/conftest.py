"""Shared test helpers: where the bundled fixtures live, and small synthetic signals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def tone(freq_hz: float, dur_s: float, rate: int, *, amp: float = 0.5) -> np.ndarray:
    """A float32 sine of ``dur_s`` seconds at ``freq_hz``, peak ``amp``."""
    t = np.arange(round(dur_s * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def speechlike(dur_s: float, rate: int, *, f0_hz: float = 140.0, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal (peak ~0.5): speech-like for VAD and SNR.

    Harmonics of ``f0_hz`` with a 1/k roll-off, gated on and off at ~4 syllables a second,
    with a little seeded jitter so two calls with different seeds differ.
    """
    rng = np.random.default_rng(seed)
    n = round(dur_s * rate)
    t = np.arange(n) / rate
    f0 = f0_hz * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    k = np.arange(1, 16)[:, None]
    voiced = (np.sin(k * phase[None, :]) / k * (k * f0_hz < rate / 2)).sum(axis=0)
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.28)), 0, None) ** 0.5
    out = voiced * envelope
    peak = float(np.max(np.abs(out))) or 1.0
    return (0.5 * out / peak).astype(np.float32)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The committed ``fixtures/`` folder (session/ and bad/ recordings, labels.json)."""
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_labels() -> dict[str, Any]:
    """``fixtures/labels.json``: known speech bounds, SNR and expected findings per file."""
    labels: dict[str, Any] = json.loads((FIXTURES / "labels.json").read_text())
    return labels

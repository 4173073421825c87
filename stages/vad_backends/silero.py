"""Silero VAD backend: the ONNX model that the ``silero-vad`` package ships, run by onnxruntime.

Install with ``pip install onnxruntime`` and ``pip install --no-deps silero-vad`` (the
package's own dependencies pull torch, which this backend never imports): that is the
``voiceprep[silero]`` extra plus one no-deps line. The model file is located without
importing ``silero_vad`` (its ``__init__`` imports torch).

The model scores 32 ms windows (512 samples at 16 kHz; other rates are resampled) with a
recurrent state carried from window to window, and each window sees the 64 samples before
it as context. Where the package ships the batched "sequence" export, one ONNX call scores
up to ``BLOCK_FRAMES`` windows; otherwise the streaming export is called window by window.
One onnxruntime session per model file and process, single-threaded.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np

from pipeline.errors import ConfigurationError

__all__ = [
    "SileroDetector",
    "model_path",
    "require_silero",
    "speech_probabilities",
]

MODEL_RATE = 16000
WINDOW = 512  # samples per scored window at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window each window sees
STATE_SHAPE = (2, 1, 128)
BLOCK_FRAMES = 512  # windows per call of the sequence export (~16 s)
STREAMING_MODEL = "silero_vad.onnx"
SEQUENCE_MODEL = "silero_vad_16k_sequence.onnx"
# (threshold_on, threshold_off) on the speech probability, by aggressiveness 0..3.
THRESHOLDS = ((0.3, 0.15), (0.4, 0.25), (0.5, 0.35), (0.65, 0.5))
INSTALL_HINT = (
    "install the silero extra: `pip install 'voiceprep[silero]'` and "
    "`pip install --no-deps silero-vad` (no-deps keeps torch out)"
)


def _package_dir(package: str) -> str | None:
    """Folder of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def model_path(name: str = STREAMING_MODEL) -> str | None:
    """Path of ``name`` inside the installed ``silero_vad`` package's data folder, or None."""
    folder = _package_dir("silero_vad")
    if folder is None:
        return None
    path = os.path.join(folder, "data", name)
    return path if os.path.isfile(path) else None


def require_silero() -> None:
    """Raise `ConfigurationError` saying what to install unless the silero backend can run."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise ConfigurationError(f"the silero vad backend needs onnxruntime; {INSTALL_HINT}")
    if model_path() is None and model_path(SEQUENCE_MODEL) is None:
        raise ConfigurationError(
            f"the silero vad backend needs the model file from the silero-vad package; "
            f"{INSTALL_HINT}"
        )


@cache
def _session(path: str) -> Any:
    """One single-threaded CPU onnxruntime session per model file and process."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the exports carry unused initialisers; not worth a warning
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def _windows(x: np.ndarray) -> np.ndarray:
    """(n, CONTEXT + WINDOW) rows: each 512-sample window after the 64 samples before it."""
    n = -(-x.shape[0] // WINDOW)
    padded = np.zeros(CONTEXT + n * WINDOW, dtype=np.float32)
    padded[CONTEXT : CONTEXT + x.shape[0]] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + WINDOW)
    return np.ascontiguousarray(view[: n * WINDOW : WINDOW])


def speech_probabilities(samples: np.ndarray, *, sequence: bool | None = None) -> np.ndarray:
    """Silero's speech probability per 32 ms window of mono 16 kHz float audio.

    ``sequence`` picks the batched export (None: use it when the package ships it). Both
    exports give the same numbers; the batched one is several times faster.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    rows = _windows(x)
    seq_path = model_path(SEQUENCE_MODEL)
    if sequence is None:
        sequence = seq_path is not None
    if sequence:
        if seq_path is None:
            raise ConfigurationError(f"this silero-vad has no {SEQUENCE_MODEL}; upgrade it")
        session = _session(seq_path)
        h = np.zeros((1, 1, 128), dtype=np.float32)
        c = np.zeros((1, 1, 128), dtype=np.float32)
        out = []
        for first in range(0, rows.shape[0], BLOCK_FRAMES):  # one call per ~16 s
            probs, h, c = session.run(
                ["speech_probs", "hn", "cn"],
                {"input": rows[first : first + BLOCK_FRAMES], "h": h, "c": c},
            )
            out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
        return np.concatenate(out)
    path = model_path()
    if path is None:
        raise ConfigurationError(f"silero-vad's {STREAMING_MODEL} is missing; {INSTALL_HINT}")
    session = _session(path)
    state = np.zeros(STATE_SHAPE, dtype=np.float32)
    rate = np.array(MODEL_RATE, dtype=np.int64)
    probs = np.empty(rows.shape[0], dtype=np.float32)
    for i in range(rows.shape[0]):  # the streaming export takes one window per call
        out_prob, state = session.run(None, {"input": rows[i : i + 1], "state": state, "sr": rate})
        probs[i] = out_prob[0, 0]
    return probs


@dataclass(frozen=True)
class SileroDetector:
    """Speech where Silero's probability rises above an on-threshold, until it falls below
    an off-threshold (``aggressiveness`` 0–3 raises both)."""

    name: ClassVar[str] = "silero"

    aggressiveness: int = 2

    def __post_init__(self) -> None:
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ConfigurationError(
                f"vad aggressiveness must be 0, 1, 2 or 3, got {self.aggressiveness}"
            )

    def speech_frames(self, samples: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
        from stages.vad_backends.energy import hysteresis

        x = np.asarray(samples, dtype=np.float32)
        if rate != MODEL_RATE:
            import soxr

            x = soxr.resample(x, rate, MODEL_RATE, quality="MQ").astype(np.float32)
        probs = speech_probabilities(x)
        on, off = THRESHOLDS[self.aggressiveness]
        return hysteresis(probs, on, off), WINDOW / MODEL_RATE

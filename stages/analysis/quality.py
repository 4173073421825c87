"""DNSMOS P.835 quality scores (SIG, BAK, OVRL) from the ONNX models ``speechmos`` ships.

An optional, extra signal for voice-cloning samples (``pip install 'voiceprep[dnsmos]'``):
Microsoft's DNSMOS P.835 predicts the 1–5 opinion scores listeners give for the speech
signal (SIG), the background (BAK) and overall (OVRL). The model scores 9.01 s windows of
16 kHz audio; shorter clips are repeated to fill one window, as the reference does. The
reference slides the window by 1 s, which makes DNSMOS ~5× real time; by default windows
here tile the clip (the last one ends at the clip's end), ~35× real time on one core, and
the mean score differs little. Raw model outputs are mapped to MOS by the reference's
cubic/quadratic polynomials (P.835 or personalised). Only ``speechmos``'s model files are
used (found without importing the package, which needs ``requests`` and downloads
nothing, but is not needed); one single-threaded onnxruntime session per process.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from pipeline.errors import ConfigurationError
from stages.normalize import mono

__all__ = ["MODEL_RATE", "WINDOW_S", "QualityResult", "detect_quality", "dnsmos_model_path"]

MODEL_RATE = 16000
WINDOW_S = 9.01
WINDOW = int(WINDOW_S * MODEL_RATE)  # 144160 samples: the model's fixed input length
INSTALL_HINT = "install the extra: `pip install 'voiceprep[dnsmos]'` (onnxruntime + speechmos)"

# Polynomials (highest power first) from raw network outputs to MOS, from the DNSMOS
# P.835 reference: (sig, bak, ovrl), for the standard and the personalised model.
_POLY = {
    False: (
        (-0.08397278, 1.22083953, 0.0052439),
        (-0.13166888, 1.60915514, -0.39604546),
        (-0.06766283, 1.11546468, 0.04602535),
    ),
    True: (
        (-0.01019296, 0.02751166, 1.19576786, -0.24348726),
        (-0.04976499, 0.44276479, -0.1644611, 0.96883132),
        (-0.00533021, 0.005101, 1.18058466, -0.11236046),
    ),
}


@dataclass(frozen=True)
class QualityResult:
    """DNSMOS P.835 scores on the 1–5 MOS scale (means over windows) and the windows scored."""

    sig: float
    bak: float
    ovrl: float
    windows: int


def dnsmos_model_path(*, personalized: bool = False) -> str | None:
    """Path of the DNSMOS P.835 ONNX file inside the installed ``speechmos``, or None."""
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = next(iter(spec.submodule_search_locations))
    sub = "pdnsmos_models" if personalized else "dnsmos_models"
    path = os.path.join(folder, sub, "sig_bak_ovr.onnx")
    return path if os.path.isfile(path) else None


def require_dnsmos(*, personalized: bool = False) -> str:
    """The model path, or a `ConfigurationError` saying what to install."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise ConfigurationError(f"DNSMOS quality scores need onnxruntime; {INSTALL_HINT}")
    path = dnsmos_model_path(personalized=personalized)
    if path is None:
        raise ConfigurationError(f"DNSMOS quality scores need the speechmos models; {INSTALL_HINT}")
    return path


@cache
def _session(path: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def window_starts(n: int, *, hop_s: float | None = None) -> np.ndarray:
    """First sample of each ``WINDOW``-long window over ``n >= WINDOW`` samples.

    ``hop_s=None`` tiles the clip with as few windows as cover it, the last one ending at
    the end; a number slides by that many seconds as the reference does (``hop_s=1.0``).
    """
    if n <= WINDOW:
        return np.zeros(1, dtype=np.int64)
    if hop_s is None:
        count = -(-n // WINDOW)
        return np.linspace(0, n - WINDOW, count).round().astype(np.int64)
    hop = max(1, round(hop_s * MODEL_RATE))
    return np.arange(0, n - WINDOW + 1, hop, dtype=np.int64)


def detect_quality(
    samples: np.ndarray,
    rate: int,
    *,
    personalized: bool = False,
    hop_s: float | None = None,
    max_windows: int = 8,
) -> QualityResult:
    """DNSMOS P.835 SIG/BAK/OVRL of mono (or multichannel, downmixed) float audio.

    ``personalized`` uses the model that also penalises interfering talkers. At most
    ``max_windows`` evenly spread windows are scored, bounding the cost of long clips.
    Raises `ConfigurationError` when the extra is not installed.
    """
    path = require_dnsmos(personalized=personalized)
    x = mono(samples)
    if x.shape[0] == 0:
        raise ValueError("no audio to score")
    if rate != MODEL_RATE:
        import soxr

        x = soxr.resample(x, rate, MODEL_RATE, quality="HQ").astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    if x.shape[0] < WINDOW:  # repeat a short clip to fill exactly one window
        x = np.tile(x, -(-WINDOW // x.shape[0]))[:WINDOW]
    starts = window_starts(x.shape[0], hop_s=hop_s)
    if starts.shape[0] > max_windows:
        starts = starts[np.linspace(0, starts.shape[0] - 1, max_windows).round().astype(int)]
    batch = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[starts]
    raw = np.asarray(_session(path).run(None, {"input_1": np.ascontiguousarray(batch)})[0])
    sig_p, bak_p, ovrl_p = (np.poly1d(c) for c in _POLY[personalized])
    return QualityResult(
        sig=float(np.mean(sig_p(raw[:, 0]))),
        bak=float(np.mean(bak_p(raw[:, 1]))),
        ovrl=float(np.mean(ovrl_p(raw[:, 2]))),
        windows=int(starts.shape[0]),
    )

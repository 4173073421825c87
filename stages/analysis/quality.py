"""DNSMOS P.835 quality scores (SIG, BAK, OVRL) from the ONNX models ``speechmos`` ships.

An optional, extra signal for voice-cloning samples (``pip install 'voiceprep[dnsmos]'``):
Microsoft's DNSMOS P.835 predicts the 1–5 opinion scores listeners give for the speech
signal (SIG), the background (BAK) and overall (OVRL). The model scores 9.01 s windows of
16 kHz audio; shorter clips are repeated to fill one window, as the reference does. The
reference slides the window by 1 s, which makes DNSMOS ~5× real time; by default windows
here tile the clip (the last one ends at the clip's end), ~35–45× real time on one core, and
the mean score differs little. Raw model outputs are mapped to MOS by the reference's
cubic/quadratic polynomials (P.835 or personalised). The personalised model was trained to
count a talker other than the main one as background; the gap between the two models' BAK
(`QualityResult.interference`) is a cue for a voice *under* the main one, which the
speaker checks miss (`stages.analyze`; `locate_interference` says where). Only
``speechmos``'s model files are used (found without importing the package, which needs
``requests`` and downloads nothing, but is not needed); one single-threaded onnxruntime
session per process.
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

__all__ = [
    "INTERFERENCE_LIMIT",
    "MODEL_RATE",
    "WINDOW_S",
    "QualityResult",
    "detect_quality",
    "dnsmos_model_path",
    "locate_interference",
]

MODEL_RATE = 16000
WINDOW_S = 9.01
WINDOW = int(WINDOW_S * MODEL_RATE)  # 144160 samples: the model's fixed input length
# `QualityResult.interference` from which a second voice is reported: above every single
# voice of the dev split (benchmarks/README.md, "A voice under the main one, ninth session").
INTERFERENCE_LIMIT = 1.4
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
    """DNSMOS P.835 scores on the 1–5 MOS scale (means over windows) and the windows scored.

    ``interference`` (only when asked for): the standard model's BAK minus the personalised
    model's. Microsoft trained the personalised model to hear a talker other than the main
    one as background, so a voice under the main one lowers its BAK only; steady noise
    lowers both. Real single voices read about −1 to 1 (some synthetic ones up to 2.1), an
    overlapping second voice 1 to 2.
    """

    sig: float
    bak: float
    ovrl: float
    windows: int
    interference: float | None = None


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
    interference: bool = False,
    hop_s: float | None = None,
    max_windows: int = 8,
) -> QualityResult:
    """DNSMOS P.835 SIG/BAK/OVRL of mono (or multichannel, downmixed) float audio.

    ``personalized`` reports the model that also penalises interfering talkers instead of
    the standard one; ``interference`` scores the same windows with both and fills
    `QualityResult.interference` (twice the cost). At most ``max_windows`` evenly spread
    windows are scored, bounding the cost of long clips. Raises `ConfigurationError` when
    the extra is not installed.
    """
    require_dnsmos(personalized=personalized)  # say what to install before any work
    x = _filled(_at_model_rate(samples, rate))
    starts = window_starts(x.shape[0], hop_s=hop_s)
    if starts.shape[0] > max_windows:
        starts = starts[np.linspace(0, starts.shape[0] - 1, max_windows).round().astype(int)]
    batch = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(x, WINDOW)[starts])
    mos = _mos(batch, personalized)
    gap = None
    if interference:
        other = _mos(batch, not personalized)
        standard, personal = (other, mos) if personalized else (mos, other)
        gap = float(standard[1].mean() - personal[1].mean())
    sig, bak, ovrl = (float(v) for v in mos.mean(axis=1))
    return QualityResult(sig, bak, ovrl, int(starts.shape[0]), gap)


def locate_interference(
    samples: np.ndarray,
    rate: int,
    *,
    stretch_s: float = 4.5,
    max_stretches: int = 8,
) -> tuple[float, float]:
    """The ``stretch_s`` of the clip where DNSMOS hears an interfering talker most, in seconds.

    Stretches half overlapping each other are each repeated to fill a model window and
    scored with both models; the one with the largest `QualityResult.interference` wins.
    On the evaluation sets it covers most of the true overlap for 46 of 55 overlapped
    pairs. A clip no longer than ``stretch_s`` is returned whole.
    """
    x = _at_model_rate(samples, rate)
    width = round(stretch_s * MODEL_RATE)
    if x.shape[0] <= width:
        return 0.0, x.shape[0] / MODEL_RATE
    count = min(max_stretches, -(-2 * (x.shape[0] - width) // width) + 1)
    starts = np.linspace(0, x.shape[0] - width, count).round().astype(np.int64)
    batch = np.stack([_filled(x[s : s + width]) for s in starts])
    gaps = _mos(batch, False)[1] - _mos(batch, True)[1]
    best = int(starts[int(np.argmax(gaps))])
    return best / MODEL_RATE, (best + width) / MODEL_RATE


def _at_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at `MODEL_RATE`, within full scale."""
    x = mono(samples)
    if x.shape[0] == 0:
        raise ValueError("no audio to score")
    if rate != MODEL_RATE:
        import soxr

        x = soxr.resample(x, rate, MODEL_RATE, quality="HQ")
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def _filled(x: np.ndarray) -> np.ndarray:
    """``x`` repeated to fill one model window when shorter, as the reference does."""
    if x.shape[0] >= WINDOW:
        return x
    return np.tile(x, -(-WINDOW // x.shape[0]))[:WINDOW]


def _mos(batch: np.ndarray, personalized: bool) -> np.ndarray:
    """SIG, BAK and OVRL (rows) of each window of ``batch`` (columns) on the MOS scale."""
    path = require_dnsmos(personalized=personalized)
    raw = np.asarray(_session(path).run(None, {"input_1": batch})[0])
    return np.stack([np.poly1d(c)(raw[:, i]) for i, c in enumerate(_POLY[personalized])])

"""webrtcvad backend: the WebRTC project's GMM voice detector, per 10–30 ms frame.

Good at telling voice from steady noise; its edges are loose (it tends to call the
low-level noise around a phrase speech), which `Vad`'s energy refinement corrects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["WEBRTC_RATES", "WebrtcDetector", "webrtc_frames"]

WEBRTC_RATES = (8000, 16000, 32000)  # 48 kHz works too but is ~8x slower than resampling


def webrtc_frames(
    samples: np.ndarray, rate: int, *, aggressiveness: int = 2, frame_ms: int = 30
) -> tuple[np.ndarray, int]:
    """webrtcvad's speech flag per ``frame_ms`` frame of mono float audio.

    Returns ``(flags, vad_rate)``. Audio at a rate webrtcvad does not take is resampled
    (a copy, for the VAD only) to 16 kHz; ``flags[i]`` covers ``[i, i + 1) * frame_ms``.
    """
    # The C extension itself: the `webrtcvad` wrapper module spends ~35 ms importing
    # importlib.metadata for its version string, and adds a Python call per frame.
    import _webrtcvad

    vad_rate = rate if rate in WEBRTC_RATES else 16000
    x = samples
    if vad_rate != rate:
        import soxr

        x = soxr.resample(samples, rate, vad_rate, quality="MQ")
    pcm = np.clip(np.asarray(x, dtype=np.float32) * 32768.0, -32768.0, 32767.0).astype("<i2")
    step = vad_rate * frame_ms // 1000
    n_frames = pcm.shape[0] // step
    data = pcm[: n_frames * step].tobytes()
    vad = _webrtcvad.create()
    _webrtcvad.init(vad)
    _webrtcvad.set_mode(vad, aggressiveness)
    process, view, width = _webrtcvad.process, memoryview(data), 2 * step
    flags = np.fromiter(
        (process(vad, vad_rate, view[i * width : (i + 1) * width], step) for i in range(n_frames)),
        dtype=bool,
        count=n_frames,
    )
    return flags, vad_rate


@dataclass(frozen=True)
class WebrtcDetector:
    """webrtcvad at ``aggressiveness`` 0–3 on ``frame_ms`` (10, 20 or 30) frames."""

    name: ClassVar[str] = "webrtc"

    aggressiveness: int = 2
    frame_ms: int = 30

    def speech_frames(self, samples: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
        flags, _ = webrtc_frames(
            samples, rate, aggressiveness=self.aggressiveness, frame_ms=self.frame_ms
        )
        return flags, self.frame_ms / 1000.0

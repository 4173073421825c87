"""Speech detectors behind one small interface, so `Vad` can swap how it finds speech.

Every backend answers one question: which fixed-length frames of a mono clip hold speech?
``speech_frames(samples, rate)`` returns ``(flags, hop_s)`` where ``flags[i]`` covers
``[i * hop_s, (i + 1) * hop_s)`` seconds. Smoothing (hangover, minimum length) and edge
refinement are `Vad`'s job and the same for every backend.

- ``webrtc`` (default): webrtcvad's GMM; tells voice from noise well, loose edges.
- ``energy``: band energy over an adaptive noise floor with hysteresis; the fast path for
  large batches, tight edges, but anything loud and voice-band (music, tones) counts.
- ``silero``: Silero VAD's ONNX model run by onnxruntime (extra ``voiceprep[silero]``);
  the most robust to noise, and the slowest.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.errors import ConfigurationError

__all__ = ["BACKENDS", "SpeechDetector", "make_detector"]

BACKENDS = ("webrtc", "energy", "silero")


@runtime_checkable
class SpeechDetector(Protocol):
    """Anything that flags speech frames of mono float audio."""

    @property
    def name(self) -> str:
        """The backend's name, as `Vad(backend=...)` and ``--vad`` spell it."""
        ...

    def speech_frames(self, samples: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
        """Boolean speech flag per frame, and the frame hop in seconds."""
        ...


def make_detector(backend: str, *, aggressiveness: int = 2, frame_ms: int = 30) -> SpeechDetector:
    """The detector called ``backend``; ``aggressiveness`` 0–3 goes from lenient to strict.

    Raises `ConfigurationError` for an unknown backend, or one whose extra is not installed.
    """
    if backend == "webrtc":
        from stages.vad_backends.webrtc import WebrtcDetector

        return WebrtcDetector(aggressiveness=aggressiveness, frame_ms=frame_ms)
    if backend == "energy":
        from stages.vad_backends.energy import EnergyDetector

        return EnergyDetector(aggressiveness=aggressiveness)
    if backend == "silero":
        from stages.vad_backends.silero import SileroDetector, require_silero

        require_silero()
        return SileroDetector(aggressiveness=aggressiveness)
    raise ConfigurationError(
        f"unknown vad backend {backend!r}; choose one of {', '.join(BACKENDS)}"
    )

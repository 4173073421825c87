"""The record that flows through every stage: a `Clip` and the `Finding`s stages attach to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np


class Severity(str, Enum):
    """How bad a finding is. Only ``ERROR`` stops a clip from flowing further."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """What a stage says about a clip.

    ``code`` is a stable snake_case word that scripts can rely on (listed in the README);
    ``message`` is for a person and says what was measured and what to do about it.
    """

    code: str
    severity: Severity
    stage: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "stage": self.stage,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Finding:
        return cls(data["code"], Severity(data["severity"]), data["stage"], data["message"])


@dataclass(frozen=True)
class SourceInfo:
    """What decode learned about the input file, before any processing."""

    container: str  # "wav", "flac", "ogg", "mp3", "mp4", ...
    codec: str  # "pcm_16", "pcm_24", "float", "alaw", "ulaw", "vorbis", "mp3", "aac", ...
    channels: int
    sample_rate: int
    bit_depth: int | None  # None for lossy codecs
    bytes: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Clip:
    """One recording on its way through the pipeline.

    ``samples`` is float32 with shape ``(frames,)`` for mono or ``(frames, channels)``;
    after ``normalize`` it is always mono at ``rate``. ``offset_s`` is where
    ``samples[0]`` lies in the source, so positions can be reported in source time
    after trimming. ``segments`` are speech regions as ``(start_s, end_s)`` pairs in
    the time of the current ``samples``.
    """

    source: str
    name: str = ""  # safe output stem; the runner makes it unique within a batch
    samples: np.ndarray | None = None
    rate: int = 0
    info: SourceInfo | None = None
    offset_s: float = 0.0
    segments: list[tuple[float, float]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True once any stage has reported an error: later stages leave the clip alone."""
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def duration_s(self) -> float:
        if self.samples is None or self.rate <= 0:
            return 0.0
        return float(self.samples.shape[0]) / self.rate

    def report(self, code: str, severity: Severity, stage: str, message: str) -> Finding:
        """Attach a finding to this clip and return it."""
        finding = Finding(code, severity, stage, message)
        self.findings.append(finding)
        return finding

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

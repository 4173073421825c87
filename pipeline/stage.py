"""The shape every stage has: a configured, picklable callable from `Clip` to `Clip`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pipeline.clip import Clip, Severity


class Stage(ABC):
    """A step of the pipeline.

    Subclasses are dataclasses holding their configuration (so they pickle for process
    pools and Dask workers) and implement `process`. Calling a stage on a clip that
    already carries an error returns it untouched: a failed clip stops flowing.
    """

    name: ClassVar[str]

    def __call__(self, clip: Clip) -> Clip:
        if clip.failed:
            return clip
        return self.process(clip)

    @abstractmethod
    def process(self, clip: Clip) -> Clip:
        """Do this stage's work on a clip that has no error yet."""

    def error(self, clip: Clip, code: str, message: str) -> Clip:
        clip.report(code, Severity.ERROR, self.name, message)
        return clip

    def warn(self, clip: Clip, code: str, message: str) -> Clip:
        clip.report(code, Severity.WARNING, self.name, message)
        return clip

    def info(self, clip: Clip, code: str, message: str) -> Clip:
        clip.report(code, Severity.INFO, self.name, message)
        return clip

"""The shape every stage has: a configured, picklable callable from `Clip` to `Clip`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pipeline.clip import Clip, Severity


class Stage(ABC):
    """A step of the pipeline.

    Subclasses are dataclasses holding their configuration (so they pickle for process
    pools and Dask workers) and implement `process`. Calling a stage on a clip that
    already carries an error returns it untouched: a failed clip stops flowing. The one
    exception is ``runs_after``: error codes that do not stop this stage, because what it
    finds still tells the user something (analysis of a take trim found too short: is it
    speech at all?).
    """

    name: ClassVar[str]
    runs_after: ClassVar[frozenset[str]] = frozenset()

    def __call__(self, clip: Clip) -> Clip:
        if not self.runs_on(clip):
            return clip
        return self.process(clip)

    def runs_on(self, clip: Clip) -> bool:
        """False when an earlier error stops this stage (see ``runs_after``)."""
        if not clip.failed:
            return True
        errors = {f.code for f in clip.findings if f.severity is Severity.ERROR}
        return errors <= self.runs_after

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

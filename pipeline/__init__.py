"""voiceprep's engine: the data model, the pipeline runner, vendor profiles and results.

Public surface::

    from pipeline import Pipeline, Results, Clip, Finding, Severity, load_profile
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.3.9"

__all__ = [
    "Clip",
    "ConfigurationError",
    "Finding",
    "InputError",
    "Pipeline",
    "Profile",
    "Results",
    "RunOptions",
    "Severity",
    "SourceInfo",
    "Stage",
    "VendorError",
    "VoiceprepError",
    "__version__",
    "available_profiles",
    "load_profile",
]

_WHERE = {
    "Clip": "pipeline.clip",
    "Finding": "pipeline.clip",
    "Severity": "pipeline.clip",
    "SourceInfo": "pipeline.clip",
    "Stage": "pipeline.stage",
    "Pipeline": "pipeline.runner",
    "RunOptions": "pipeline.runner",
    "Results": "pipeline.results",
    "Profile": "pipeline.profiles",
    "load_profile": "pipeline.profiles",
    "available_profiles": "pipeline.profiles",
    "VoiceprepError": "pipeline.errors",
    "ConfigurationError": "pipeline.errors",
    "InputError": "pipeline.errors",
    "VendorError": "pipeline.errors",
}

if TYPE_CHECKING:
    from pipeline.clip import Clip, Finding, Severity, SourceInfo
    from pipeline.errors import ConfigurationError, InputError, VendorError, VoiceprepError
    from pipeline.profiles import Profile, available_profiles, load_profile
    from pipeline.results import Results
    from pipeline.runner import Pipeline, RunOptions
    from pipeline.stage import Stage


def __getattr__(name: str) -> Any:
    """Import on first use, so `voiceprep --help` does not pay for numpy and friends."""
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")

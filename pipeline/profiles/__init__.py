"""Vendor format profiles: the rules of each platform, read from the TOML files beside this module.

A profile is data, not code: `validate` and `encode` read it, and adding a vendor means
adding one ``profiles/<name>.toml``. Each rule says whether the vendor documents it;
breaking a documented rule is an error, breaking one of our own defaults a warning.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from pipeline.errors import ConfigurationError
from pipeline.formats import OutputFormat, output_format


@dataclass(frozen=True)
class Rule:
    """One constraint of a profile: ``allowed`` values, or ``minimum``/``maximum`` bounds."""

    name: str
    documented: bool
    allowed: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    source: str = ""  # where the vendor says so, e.g. "VENDORS.md §4 [YS-AUDIO]"

    def __post_init__(self) -> None:
        for label, bound in (("min", self.minimum), ("max", self.maximum)):
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, (int, float))
                or not math.isfinite(bound)
            ):
                raise ConfigurationError(
                    f"rule {self.name}: {label} must be a number, got {bound!r}"
                )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ConfigurationError(
                f"rule {self.name}: min ({self.minimum:g}) is larger than max ({self.maximum:g})"
            )
        if self.name == "filename" and self.maximum is not None and self.maximum < 1:
            raise ConfigurationError(
                f"rule filename: max is a length in characters and must be at least 1, got "
                f"{self.maximum:g}"
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except (re.error, TypeError) as exc:
                raise ConfigurationError(
                    f"rule {self.name}: pattern {self.pattern!r} is not a regular expression "
                    f"({exc})"
                ) from None

    def describe(self) -> str:
        parts = []

        def num(v: float) -> str:
            return f"{v:,.0f}" if abs(v) >= 10000 else f"{v:g}"

        if self.allowed:
            parts.append("one of " + ", ".join(str(v) for v in self.allowed))
        if self.minimum is not None:
            parts.append(f"≥ {num(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"≤ {num(self.maximum)}")
        if self.pattern:
            parts.append(f"matching {self.pattern}")
        kind = "documented" if self.documented else "our default (not documented)"
        return f"{'; '.join(parts)} [{kind}]"


@dataclass(frozen=True)
class LoudnessTarget:
    """Integrated loudness to aim for, and the sample peak never to exceed.

    With ``limiter = true``, peaks that would pass the ceiling at the target gain are turned
    down by a look-ahead limiter, by at most ``max_limiting_db``, so the target is reached;
    off, the ceiling holds the loudness back (and `normalize` warns ``loudness_ceiling``).
    """

    target_lufs: float = -16.0
    ceiling_dbfs: float = -1.0
    limiter: bool = False  # off in the built-in profiles: voice cloning wants natural dynamics
    max_limiting_db: float = 6.0

    def __post_init__(self) -> None:
        if not isinstance(self.limiter, bool):
            raise ConfigurationError(
                f"[loudness] limiter must be true or false, got {self.limiter!r}"
            )
        if not 0.0 <= self.max_limiting_db <= 24.0:
            raise ConfigurationError(
                f"[loudness] max_limiting_db must be between 0 and 24 dB, got "
                f"{self.max_limiting_db!r}; 6 is a safe start for speech"
            )


@dataclass(frozen=True)
class TrimWindow:
    """How much silence to keep around speech, and the duration the result must fit."""

    pad_ms: float = 200.0
    min_s: float | None = None
    max_s: float | None = None


@dataclass(frozen=True)
class AnalysisThresholds:
    """Where a measured value becomes a finding. Severity says how much the vendor cares."""

    min_snr_db: float = 15.0
    max_clipping_ratio: float = 0.001
    max_dc_offset: float = 0.02
    min_speech_ratio: float = 0.2
    quality_severity: str = "warning"  # "error" for voice cloning, where the vendor rejects
    max_hum_db: float = -35.0  # mains hum level relative to the active speech level
    min_bandwidth_hz: float = 5500.0  # checked only up to 80 % of the output's Nyquist
    min_dnsmos_ovrl: float | None = None  # DNSMOS OVRL (1–5) under this: low_quality; None: never
    speaker_severity: str = "warning"  # multiple_speakers; "error" for voice cloning
    min_second_voice_s: float = 1.5  # a second voice must hold this much speech to count


@dataclass(frozen=True)
class Profile:
    """Everything voiceprep knows about one upload target."""

    name: str
    vendor: str
    api: str
    summary: str
    output: OutputFormat
    sample_rate: int
    loudness: LoudnessTarget
    trim: TrimWindow
    analysis: AnalysisThresholds
    rules: dict[str, Rule] = field(default_factory=dict)

    def filename_ok(self, stem: str) -> bool:
        rule = self.rules.get("filename")
        if rule is None:
            return True
        if rule.maximum is not None and len(stem) > rule.maximum:
            return False
        return rule.pattern is None or re.fullmatch(rule.pattern, stem) is not None


def _rules(raw: dict[str, dict[str, Any]]) -> dict[str, Rule]:
    rules = {}
    for name, spec in raw.items():
        rules[name] = Rule(
            name=name,
            documented=bool(spec.get("documented", False)),
            allowed=tuple(spec.get("allowed", ())),
            minimum=spec.get("min"),
            maximum=spec.get("max"),
            pattern=spec.get("pattern"),
            source=spec.get("source", ""),
        )
    return rules


def parse_profile(data: dict[str, Any]) -> Profile:
    """Build a `Profile` from the mapping a profile TOML file holds."""
    try:
        out = data["output"]
        return Profile(
            name=data["name"],
            vendor=data["vendor"],
            api=data["api"],
            summary=data["summary"],
            output=output_format(out["format"]),
            sample_rate=int(out["sample_rate"]),
            loudness=LoudnessTarget(**data.get("loudness", {})),
            trim=TrimWindow(**data.get("trim", {})),
            analysis=AnalysisThresholds(**data.get("analysis", {})),
            rules=_rules(data.get("rules", {})),
        )
    except KeyError as exc:
        raise ConfigurationError(
            f"profile {data.get('name', '?')!r} is missing {exc}; compare it with a built-in "
            "profile (`voiceprep profiles`)"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"profile {data.get('name', '?')!r} is malformed: {exc}") from None


@cache
def _builtin() -> dict[str, Profile]:
    profiles = {}
    for entry in sorted(resources.files("pipeline.profiles").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            profile = parse_profile(tomllib.loads(entry.read_text(encoding="utf-8")))
            profiles[profile.name] = profile
    return profiles


def available_profiles() -> list[str]:
    return list(_builtin())


def load_profile(name: str | os.PathLike[str]) -> Profile:
    """The built-in profile ``name``, or a profile TOML file at that path."""
    name = os.fspath(name)
    if name.endswith(".toml"):
        try:
            with open(name, "rb") as fh:
                return parse_profile(tomllib.load(fh))
        except ConfigurationError as exc:
            raise ConfigurationError(f"profile file {name}: {exc}") from None
        except OSError as exc:
            raise ConfigurationError(f"cannot read profile file {name}: {exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"profile file {name} is not valid TOML: {exc}") from None
    try:
        return _builtin()[name]
    except KeyError:
        known = ", ".join(available_profiles())
        raise ConfigurationError(
            f"unknown profile {name!r}; choose one of {known} (see `voiceprep profiles`)"
        ) from None

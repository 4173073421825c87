"""What a sandbox run is configured with: test credentials, limits, faults and a clock.

Every default mirrors the vendor (VENDORS.md) or, where the vendor documents nothing,
the emulator default VENDORS.md names. Tests shrink the slow parts (callback retry
schedule, review delays) and drive time with `ManualClock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.errors import ConfigurationError

__all__ = ["DEFAULT_RATES", "ManualClock", "SandboxConfig"]

DEFAULT_RATES: dict[str, float] = {
    "tencent-ccc.UploadIvrAudio": 1.0,
    "tencent-ccc.DescribeIvrAudioList": 20.0,
    # VOD limits each action on its own (§6, §8): CreateAigcCustomVoice 20/s;
    # DescribeTaskDetail and PullEvents have no published figure of their own, so the
    # VOD-wide 20/s; ConfirmEvents 100/s.
    "tencent-vod.CreateAigcCustomVoice": 20.0,
    "tencent-vod.DescribeTaskDetail": 20.0,
    "tencent-vod.PullEvents": 20.0,
    "tencent-vod.ConfirmEvents": 100.0,
    "aliyun": 100.0,
    "huawei.importVoiceFile": 10.0,
}
"""Requests per second per bucket; a bucket holds one second's worth (at least 1)."""


@dataclass
class ManualClock:
    """A clock tests move by hand: ``clock()`` is the time, ``advance(s)`` moves it."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass
class SandboxConfig:
    """Configuration of one sandbox server.

    Credentials map key id → secret per vendor. Fault rates are probabilities per
    request (0–1): ``error_rate`` answers the vendor's internal error, ``throttle_rate``
    its rate-limit error, ``drop_rate`` closes the connection before the request is
    handled, ``lost_response_rate`` after it was handled (the client cannot know it
    landed). ``clock`` is what "now" means for signatures, tokens, quotas and tasks.
    """

    tencent_keys: dict[str, str] = field(default_factory=lambda: {"AKIDsandbox": "sandbox-secret"})
    alibaba_keys: dict[str, str] = field(default_factory=lambda: {"LTAIsandbox": "sandbox-secret"})
    huawei_apps: dict[str, str] = field(default_factory=lambda: {"sandbox-app": "sandbox-secret"})
    yeastar_clients: dict[str, str] = field(
        default_factory=lambda: {"sandbox-client": "sandbox-secret"}
    )

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    """Seed of the fault dice, for reproducible fault sequences."""

    rates_per_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    ccc_daily_files: int = 50
    ccc_utc_offset_h: float = 8.0
    """CCC's quota day is the Beijing day (the journal's `DailyQuota` counts the same day)."""
    alibaba_callee_limits: tuple[tuple[float, int], ...] = ((60.0, 1), (3600.0, 5), (86400.0, 20))
    """IvrCall per-callee throttle: (window seconds, calls allowed)."""

    aliyun_report_url: str | None = None
    """Where IvrCall results are pushed (VoiceCallReport, then VoiceReport, §5.2 HTTP batch
    push); None: nothing is pushed."""
    aliyun_report_retry_s: tuple[float, ...] = (60.0, 300.0, 600.0)
    """Waits (sandbox clock) before each retry of a push the receiver did not take;
    after the last the report is dropped."""
    aliyun_report_timeout_s: float = 0.7
    """The receiver's time to answer (§5.2: 700 ms); longer counts as a failure."""

    yeastar_prompts: dict[str, str] = field(default_factory=dict)
    """Prompts already on the PBX: name (file stem) → exist_type (specify, tts, record)."""
    yeastar_max_prompts: int = 128
    yeastar_max_tokens: int = 8
    yeastar_login_failures_before_block: int = 5

    huawei_callback_delays_s: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    """Wait before each review-callback try; its length is the try budget (6)."""
    huawei_default_token_s: int = 600

    review_after_polls: int = 1
    """CCC/Alibaba reviews and VOD task stages advance after this many polls..."""
    review_after_s: float = 5.0
    """...or this many seconds, whichever comes first."""

    fetch_timeout_s: float = 10.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_rate", "lost_response_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{name} must be between 0 and 1, got {value}")
        if self.latency_ms < 0:
            raise ConfigurationError("latency_ms must be 0 or more")
        if self.aliyun_report_url is not None and not self.aliyun_report_url.startswith(
            ("http://", "https://")
        ):
            raise ConfigurationError(
                f"aliyun_report_url {self.aliyun_report_url!r} must be an http(s) URL"
            )
        if any(d < 0 for d in self.aliyun_report_retry_s):
            raise ConfigurationError("aliyun_report_retry_s must not be negative")
        if not self.huawei_callback_delays_s:
            raise ConfigurationError("huawei_callback_delays_s needs at least one try")

    def with_faults(self, **faults: Any) -> SandboxConfig:
        """A copy with some fault settings changed (validated again)."""
        allowed = {"error_rate", "throttle_rate", "drop_rate", "lost_response_rate", "latency_ms"}
        unknown = set(faults) - allowed
        if unknown:
            raise ConfigurationError(
                f"unknown fault setting(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(sorted(allowed))}"
            )
        return replace(self, **faults)

    def fault_settings(self) -> Mapping[str, float]:
        return {
            "error_rate": self.error_rate,
            "throttle_rate": self.throttle_rate,
            "drop_rate": self.drop_rate,
            "lost_response_rate": self.lost_response_rate,
            "latency_ms": self.latency_ms,
        }

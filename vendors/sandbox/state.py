"""The sandbox's memory: what each emulated vendor has stored, issued and counted.

Everything lives in plain dicts on one `SandboxState`, mutated only from the server's
event loop. Tests read it directly (``server.app.state.sandbox``) to check what a
client really did (how many files CCC received, which prompts Yeastar holds, which
callbacks Huawei delivered).
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vendors.sandbox.config import SandboxConfig
from vendors.signing import MemoryNonceStore

__all__ = [
    "AliyunReport",
    "AliyunVoiceFile",
    "CallbackRecord",
    "CccFile",
    "HuaweiUpload",
    "SandboxState",
    "TokenBucket",
    "VodTask",
    "YeastarPrompt",
    "request_id",
]


def request_id() -> str:
    """A fresh request id in the vendors' uuid form."""
    return str(uuid.uuid4())


@dataclass
class TokenBucket:
    """``rate_per_s`` requests a second, bursts up to ``capacity`` (one second's worth)."""

    rate_per_s: float
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means the caller is over the limit."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Review:
    """An asynchronous outcome that becomes final after some polls or some time."""

    created: float
    polls: int = 0

    def stage(self, now: float, *, after_polls: int, after_s: float, stages: int = 1) -> int:
        """How many steps (0..stages) have passed: one per ``after_polls`` polls or
        ``after_s`` seconds, whichever is further along."""
        by_polls = self.polls // max(1, after_polls)
        by_time = int((now - self.created) // after_s) if after_s > 0 else stages
        return min(stages, max(by_polls, by_time))


@dataclass
class CccFile:
    file_id: int
    sdk_app_id: int
    custom_file_name: str
    audio_file_name: str
    url: str
    review: Review
    problem: str | None = None
    """Why review will reject it (None: it will be approved)."""

    def status(self, now: float, config: SandboxConfig) -> int:
        done = self.review.stage(
            now, after_polls=config.review_after_polls, after_s=config.review_after_s
        )
        if not done:
            return 0
        return 2 if self.problem else 1


@dataclass
class VodTask:
    task_id: str
    sub_app_id: int | None
    voice_name: str
    voice_url: str | None
    video_id: str | None
    session_id: str
    session_context: str
    review: Review
    err_code: int = 0
    err_code_ext: str = ""
    message: str = "SUCCESS"
    voice_id: str = field(default_factory=lambda: "voice-" + secrets.token_hex(8))

    STATES = ("WAITING", "PROCESSING", "FINISH")

    def state(self, now: float, config: SandboxConfig) -> str:
        step = self.review.stage(
            now, after_polls=config.review_after_polls, after_s=config.review_after_s, stages=2
        )
        return self.STATES[step]


@dataclass
class AliyunVoiceFile:
    voice_code: str
    filename: str
    size: int
    review: Review
    problem: str | None = None
    pinned_state: str | None = None
    """An audit state set by hand (tests), for those review never reaches by itself:
    ``AUDIT_SATE_CANCEL``, ``AUDIT_PAUSE``, ``AUDIT_ORDER_FINISHED``, ..."""

    def audit_state(self, now: float, config: SandboxConfig) -> str:
        if self.pinned_state is not None:
            return self.pinned_state
        done = self.review.stage(
            now, after_polls=config.review_after_polls, after_s=config.review_after_s
        )
        if not done:
            return "AUDIT_STATE_INIT"
        return "AUDIT_STATE_NOT_PASS" if self.problem else "AUDIT_STATE_PASS"


@dataclass
class HuaweiUpload:
    """A voice file or a template; ``kind`` is ``file`` or ``template``."""

    id: str
    kind: str
    name: str
    app_key: str
    problem: str | None
    callback_url: str | None
    payload: dict[str, Any]


@dataclass
class CallbackRecord:
    """One review callback Huawei owes: every try, and whether the receiver took it."""

    file_id: str
    url: str
    body: dict[str, Any]
    tries: list[str] = field(default_factory=list)
    """One entry per try: ``ok`` or what went wrong."""
    delivered: bool = False
    dropped: bool = False


@dataclass
class AliyunReport:
    """One Alibaba call-result push (``VoiceCallReport`` or ``VoiceReport``): the JSON
    array POSTed, every try, and whether the receiver took it."""

    kind: str
    call_id: str
    url: str
    body: list[dict[str, Any]]
    tries: list[str] = field(default_factory=list)
    """One entry per try: ``ok`` or what went wrong."""
    tried_at: list[float] = field(default_factory=list)
    """Sandbox-clock time of each try."""
    delivered: bool = False
    dropped: bool = False


@dataclass
class YeastarPrompt:
    name: str
    filename: str
    exist_type: str
    size: int
    uploads: int = 1


@dataclass
class YeastarToken:
    client_id: str
    access: str
    refresh: str
    access_expires: float
    refresh_expires: float
    issued: float


@dataclass
class SandboxState:
    """All the stores of one sandbox server."""

    config: SandboxConfig
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    """Requests seen per vendor (after faults; for tests and /_sandbox/state)."""
    faults: dict[str, int] = field(default_factory=dict)

    # Tencent CCC
    ccc_files: dict[int, CccFile] = field(default_factory=dict)
    ccc_daily: dict[tuple[int, str], int] = field(default_factory=dict)
    ccc_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100001))
    # Tencent VOD
    vod_tasks: dict[str, VodTask] = field(default_factory=dict)
    vod_sessions: dict[str, float] = field(default_factory=dict)
    vod_delivered: dict[str, float] = field(default_factory=dict)
    vod_confirmed: set[str] = field(default_factory=set)
    # Alibaba
    nonces: MemoryNonceStore = field(default_factory=MemoryNonceStore)
    aliyun_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    """upload token → (AccessKeyId, expiry)."""
    aliyun_files: dict[str, AliyunVoiceFile] = field(default_factory=dict)
    aliyun_calls: list[dict[str, Any]] = field(default_factory=list)
    aliyun_callee_log: dict[str, deque[float]] = field(default_factory=dict)
    aliyun_reports: list[AliyunReport] = field(default_factory=list)
    # Huawei
    huawei_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    """bearer token → (app_key, expiry)."""
    huawei_uploads: dict[str, HuaweiUpload] = field(default_factory=dict)
    huawei_callbacks: list[CallbackRecord] = field(default_factory=list)
    huawei_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1182733043937561608)
    )
    background: set[Any] = field(default_factory=set)
    """Running background tasks (review callbacks), kept so they are not collected."""
    # Yeastar
    yeastar_prompts: dict[str, YeastarPrompt] = field(default_factory=dict)
    yeastar_tokens: list[YeastarToken] = field(default_factory=list)
    yeastar_login_failures: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kind in self.config.yeastar_prompts.items():
            self.yeastar_prompts[name] = YeastarPrompt(name, f"{name}.wav", kind, 0)

    def now(self) -> float:
        return self.config.clock()

    def allow(self, bucket: str) -> bool:
        """Take one request from ``bucket``'s token bucket; buckets not configured are unlimited."""
        rate = self.config.rates_per_s.get(bucket)
        if rate is None or rate <= 0:
            return True
        now = self.now()
        tb = self.buckets.get(bucket)
        if tb is None:
            capacity = max(1.0, rate)
            tb = self.buckets[bucket] = TokenBucket(rate, capacity, capacity, now)
        return tb.take(now)

    def ccc_day(self) -> str:
        tz = dt.timezone(dt.timedelta(hours=self.config.ccc_utc_offset_h))
        return dt.datetime.fromtimestamp(self.now(), tz).strftime("%Y-%m-%d")

    def summary(self) -> dict[str, Any]:
        """Counts of everything held, for ``GET /_sandbox/state``."""
        return {
            "requests": dict(self.requests),
            "faults": dict(self.faults),
            "tencent_ccc": {
                "files": len(self.ccc_files),
                "daily": {f"{app}/{day}": n for (app, day), n in self.ccc_daily.items()},
            },
            "tencent_vod": {"tasks": len(self.vod_tasks)},
            "aliyun": {
                "voice_files": len(self.aliyun_files),
                "calls": len(self.aliyun_calls),
                "reports": [
                    {"kind": r.kind, "call_id": r.call_id, "tries": r.tries}
                    for r in self.aliyun_reports
                ],
            },
            "huawei": {
                "uploads": len(self.huawei_uploads),
                "callbacks": [
                    {"file_id": c.file_id, "tries": c.tries, "delivered": c.delivered}
                    for c in self.huawei_callbacks
                ],
            },
            "yeastar": {
                "prompts": sorted(self.yeastar_prompts),
                "live_tokens": sum(1 for t in self.yeastar_tokens if t.access_expires > self.now()),
            },
        }

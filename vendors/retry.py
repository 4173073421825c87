"""When to send a vendor request again, and how long to wait first.

Only transient faults are retried: timeouts, dropped connections, HTTP 5xx,
``RequestLimitExceeded``/``Throttling``, ``InternalError``, Yeastar ``-2`` (the clients
map them to `VendorUnavailable` / `VendorRateLimited`). Auth and validation errors are
never retried: sending the same thing again cannot fix them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.errors import ConfigurationError
from vendors.errors import VendorRateLimited, is_retryable

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for retryable vendor errors.

    Attempt ``n`` (1-based) that failed waits ``min(max_delay_s, base_delay_s * 2**(n-1))``
    scaled by a random factor in ``[0.5, 1]`` (so parallel workers spread out), or the
    vendor's own retry-after hint when that is longer. ``max_attempts`` counts the
    first try: 1 disables retries.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy.max_attempts must be at least 1 (1 = no retry)")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ConfigurationError(
                "RetryPolicy needs 0 <= base_delay_s <= max_delay_s; check the retry settings"
            )

    def should_retry(self, exc: BaseException, *, attempt: int) -> bool:
        """Whether to try again after ``attempt`` (1-based) failed with ``exc``."""
        return attempt < self.max_attempts and is_retryable(exc)

    def delay_s(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) before the next one."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempt - 1))
        delay = ceiling * (0.5 + 0.5 * self.rng())
        if isinstance(exc, VendorRateLimited) and exc.retry_after_s:
            delay = max(delay, min(exc.retry_after_s, self.max_delay_s))
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy that sends each request once."""

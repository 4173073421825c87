"""Typed vendor errors: what a vendor API refused, and whether trying again can help.

    VendorError (pipeline.errors)        code, message, request_id; .retryable
    ├── VendorAuthError                  bad key, signature, expired token, no permission
    ├── VendorValidationError            the request broke a field rule (ours or the vendor's)
    ├── VendorRateLimited                too many requests now; retryable after a pause
    ├── VendorQuotaExceeded              a daily/count quota is used up; not retryable today
    ├── VendorUnavailable                timeout, dropped connection, 5xx, InternalError; retryable
    ├── VendorNameClash                  Yeastar: a prompt of that name exists, force not asked
    ├── VendorOutcomeUnknown             an earlier attempt may have landed and nothing tells
    │                                    whether it did; the user checks, then --retry-unknown
    └── VendorRefused                    any other refusal (a business rule); not retryable

Messages never carry credentials: clients build them from the vendor's code and message
and from our own checks, never from request headers or URLs.
"""

from __future__ import annotations

from pipeline.errors import VendorError

__all__ = [
    "VendorAuthError",
    "VendorError",
    "VendorNameClash",
    "VendorOutcomeUnknown",
    "VendorQuotaExceeded",
    "VendorRateLimited",
    "VendorRefused",
    "VendorUnavailable",
    "VendorValidationError",
    "is_retryable",
]


class _Typed(VendorError):
    retryable_default = False

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed if sent again later."""
        return self.retryable_default


class VendorAuthError(_Typed):
    """Credentials, signature, token or permission refused; fix the setup, never retry."""


class VendorValidationError(_Typed):
    """The request breaks a field rule; fix the input or option named in the message."""

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(vendor, code, message, request_id)
        self.field = field


class VendorRateLimited(_Typed):
    """The vendor's rate limit was hit; ``retry_after_s`` is its hint when it gave one."""

    retryable_default = True

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(vendor, code, message, request_id)
        self.retry_after_s = retry_after_s


class VendorQuotaExceeded(_Typed):
    """A count quota (CCC's 50 files a day) is used up; nothing was sent that would be lost."""


class VendorUnavailable(_Typed):
    """A transient fault: timeout, dropped connection, HTTP 5xx, ``InternalError``.

    ``maybe_delivered`` is False only when the request surely never reached the vendor
    (connection refused); then sending again cannot create a duplicate.
    """

    retryable_default = True

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        maybe_delivered: bool = True,
    ) -> None:
        super().__init__(vendor, code, message, request_id)
        self.maybe_delivered = maybe_delivered


class VendorNameClash(_Typed):
    """Yeastar already holds a prompt of this name and overwriting was not asked for."""

    def __init__(
        self,
        vendor: str,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        name: str = "",
        exist_type: str | None = None,
    ) -> None:
        super().__init__(vendor, code, message, request_id)
        self.name = name
        self.exist_type = exist_type


class VendorOutcomeUnknown(_Typed):
    """An earlier attempt at this item may have reached the vendor, and nothing the client
    can ask tells whether it did; sending could make a second copy. The upload stage marks
    the item ``unknown``; the message says what to check before ``--retry-unknown``."""

    CODE = "OutcomeUnknown"


class VendorRefused(_Typed):
    """Any other refusal with the vendor's code; not retryable."""


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a vendor error that sending again may cure."""
    return bool(getattr(exc, "retryable", False))

"""The one exception tree of voiceprep.

    VoiceprepError
    ├── ConfigurationError      bad option, unknown profile, unusable setting
    ├── InputError              an input could not be read (raised inside decode, becomes a finding)
    └── VendorError             a vendor API refused a request (code, message, request id)

    VoiceprepWarning            something was skipped and the work went on (the CLI prints
                                these as one line on stderr)

Per-clip problems are not exceptions: they are `Finding`s on the clip, so one bad file
never stops a batch. Exceptions are for the caller's mistakes and for vendor refusals.
"""

from __future__ import annotations


class VoiceprepError(Exception):
    """Base class of every error voiceprep raises on purpose."""


class ConfigurationError(VoiceprepError):
    """An option, profile or setting cannot be used as given; the message says how to fix it."""


class InputError(VoiceprepError):
    """An input file cannot be used; ``code`` is the finding code it turns into."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class VendorError(VoiceprepError):
    """A vendor API refused a request."""

    def __init__(self, vendor: str, code: str, message: str, request_id: str | None = None):
        super().__init__(
            f"{vendor} refused the request: {code}: {message} (request id {request_id})"
        )
        self.vendor = vendor
        self.code = code
        self.message = message
        self.request_id = request_id


class VoiceprepWarning(UserWarning):
    """Something was left out and the work went on; the message says what and what to do."""

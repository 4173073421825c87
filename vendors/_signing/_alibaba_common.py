"""What Alibaba's two signing schemes share: error codes, timestamps, query parsing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from enum import Enum
from urllib.parse import parse_qsl

from pipeline.errors import ConfigurationError
from vendors._signing._common import percent_encode

MAX_SKEW_S = 900.0
"""Alibaba's gateway rejects requests whose timestamp is more than 15 min off."""

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class AlibabaError(str, Enum):
    """The gateway error codes the Alibaba verifiers answer with (VENDORS.md §5.3)."""

    SIGNATURE_DOES_NOT_MATCH = "SignatureDoesNotMatch"
    INCOMPLETE_SIGNATURE = "IncompleteSignature"
    TIMESTAMP_EXPIRED = "InvalidTimeStamp.Expired"
    TIMESTAMP_FORMAT = "InvalidTimeStamp.Format"
    NONCE_USED = "SignatureNonceUsed"
    ACCESS_KEY_NOT_FOUND = "InvalidAccessKeyId.NotFound"

    @property
    def http_status(self) -> int:
        """The HTTP status the gateway sends with this code (404 for an unknown key)."""
        return 404 if self is AlibabaError.ACCESS_KEY_NOT_FOUND else 400


def format_timestamp(unix_s: float) -> str:
    """UTC ``yyyy-MM-ddTHH:mm:ssZ``, the form both schemes sign."""
    return dt.datetime.fromtimestamp(int(unix_s), dt.UTC).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> float | None:
    """Unix seconds of a ``yyyy-MM-ddTHH:mm:ssZ`` timestamp, or None if malformed."""
    try:
        parsed = dt.datetime.strptime(text, _TIMESTAMP_FORMAT)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC).timestamp()


def canonical_query(params: Mapping[str, str]) -> str:
    """``k=v`` pairs joined by ``&``: sorted by name, name and value RFC 3986-encoded.

    Sorting is by the raw name, as the official SDKs and the vendor's doc do; for real
    parameter names (letters, digits, ``.``) that equals sorting the encoded names.
    """
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def single_valued(pairs: Iterable[tuple[str, str]], where: str) -> dict[str, str]:
    """Pairs as a dict; a repeated name is an error (neither scheme defines its order)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out:
            raise ConfigurationError(
                f"parameter {name!r} appears twice in the {where}; send each name once "
                "(lists are flattened as Name.1, Name.2, ...)"
            )
        out[name] = value
    return out


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Decoded ``(name, value)`` pairs of a raw query string, blanks kept."""
    return parse_qsl(raw, keep_blank_values=True)


def skew_message(skew_s: float, limit_s: float) -> str:
    return (
        f"timestamp is {skew_s:.0f} s from server time (limit {limit_s:.0f} s); "
        "sync the client clock (NTP) and send UTC"
    )

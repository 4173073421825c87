"""Alibaba Cloud ACS3-HMAC-SHA256 signing (the "V3" scheme), both ways.

CanonicalRequest = method, path, canonical query, ``name:value`` lines of the signed
headers, their names, hex SHA-256 of the body; StringToSign = ``ACS3-HMAC-SHA256\\n`` +
hex SHA-256 of it; Signature = hex HMAC-SHA256 under the AccessKeySecret
(VENDORS.md §5.3). `ACS3Auth` signs outgoing httpx requests; `verify_acs3` checks a
received one and answers with the gateway's error codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from pipeline.errors import ConfigurationError
from vendors._signing._alibaba_common import (
    MAX_SKEW_S,
    AlibabaError,
    canonical_query,
    format_timestamp,
    parse_query,
    parse_timestamp,
    single_valued,
    skew_message,
)
from vendors._signing._common import (
    NonceStore,
    RequestParts,
    SecretLookup,
    Verdict,
    reveal,
    same_text,
    sha256_hex,
)
from vendors.credentials import Credentials, Secret, as_secret, mask_id

__all__ = [
    "ACS3_ALGORITHM",
    "ACS3Auth",
    "ACS3Signature",
    "acs3_canonical_headers",
    "acs3_canonical_request",
    "acs3_signature",
    "acs3_string_to_sign",
    "sign_acs3",
    "verify_acs3",
]

ACS3_ALGORITHM: Final = "ACS3-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"ACS3-HMAC-SHA256 Credential=(?P<id>[^,\s]+),SignedHeaders=(?P<signed>[a-z0-9;_.-]+),"
    r"Signature=(?P<sig>[0-9a-f]{64})"
)
_REQUIRED_HEADERS: Final = ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")


def acs3_canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """``(CanonicalHeaders, SignedHeaders)``: ``lower(name):trim(value)`` lines, sorted."""
    items = sorted((k.strip().lower(), v.strip()) for k, v in headers.items())
    return "".join(f"{k}:{v}\n" for k, v in items), ";".join(k for k, _ in items)


def acs3_canonical_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    hashed_payload: str,
) -> str:
    """The CanonicalRequest; ``headers`` are exactly the headers to sign."""
    canonical_headers, signed_headers = acs3_canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            signed_headers,
            hashed_payload,
        ]
    )


def acs3_string_to_sign(canonical_request: str) -> str:
    """``ACS3-HMAC-SHA256\\n`` + hex SHA-256 of the canonical request."""
    return f"{ACS3_ALGORITHM}\n{sha256_hex(canonical_request)}"


def acs3_signature(secret: str | Secret, *, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of ``string_to_sign`` keyed with the AccessKeySecret itself."""
    key = reveal(secret).encode("utf-8")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ACS3Signature:
    """Every intermediate of one ACS3 signature, ending with the Authorization header."""

    canonical_request: str
    string_to_sign: str
    signed_headers: str
    signature: str
    authorization: str


def sign_acs3(
    *,
    access_key_id: str,
    access_key_secret: str | Secret,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    hashed_payload: str,
) -> ACS3Signature:
    """Sign one request. ``headers`` are exactly the headers to sign (with their values)."""
    canonical = acs3_canonical_request(
        method=method, path=path, query=query, headers=headers, hashed_payload=hashed_payload
    )
    to_sign = acs3_string_to_sign(canonical)
    signature = acs3_signature(access_key_secret, string_to_sign=to_sign)
    _, signed = acs3_canonical_headers(headers)
    return ACS3Signature(
        canonical_request=canonical,
        string_to_sign=to_sign,
        signed_headers=signed,
        signature=signature,
        authorization=(
            f"{ACS3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed},"
            f"Signature={signature}"
        ),
    )


def _must_sign(headers: Mapping[str, str]) -> list[str]:
    """Names the gateway requires in the signed set: host, content-type, every x-acs-*."""
    return [
        name for name in headers if name in ("host", "content-type") or name.startswith("x-acs-")
    ]


def _path(request: httpx.Request) -> str:
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


class ACS3Auth(httpx.Auth):
    """httpx auth that signs Alibaba requests with ACS3-HMAC-SHA256.

    The caller sets ``x-acs-action`` and ``x-acs-version``; this sets ``x-acs-date``,
    ``x-acs-signature-nonce``, ``x-acs-content-sha256``, ``x-acs-security-token`` (with a
    session token) and ``Authorization``, and rewrites the query in canonical encoding.
    It signs ``host``, ``content-type`` and every ``x-acs-*`` header, plus any names in
    ``sign_headers`` (the official SDK also signs ``accept`` and ``user-agent``).
    """

    requires_request_body = True

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str | Secret,
        security_token: str | Secret | None = None,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
        sign_headers: Sequence[str] = (),
    ) -> None:
        if not access_key_id or not reveal(access_key_secret):
            raise ConfigurationError(
                "Alibaba Cloud credentials are empty; set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        self.access_key_id = access_key_id
        self._secret = as_secret(access_key_secret)
        self._token = None if security_token is None else as_secret(security_token)
        self.clock = clock
        self.nonce = nonce
        self.sign_headers = tuple(h.lower() for h in sign_headers)

    @classmethod
    def from_credentials(cls, credentials: Credentials) -> ACS3Auth:
        """Build from `vendors.credentials.from_env("alibaba")`."""
        return cls(credentials.key_id, credentials.secret, credentials.token)

    def __repr__(self) -> str:
        token = ", security_token=Secret('***')" if self._token is not None else ""
        return (
            f"ACS3Auth(access_key_id={mask_id(self.access_key_id)!r}, "
            f"access_key_secret=Secret('***'){token})"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        missing = [h for h in ("x-acs-action", "x-acs-version") if h not in request.headers]
        if missing:
            raise ConfigurationError(
                f"cannot sign an ACS3 request without the {' and '.join(missing)} header(s)"
            )
        hashed_payload = sha256_hex(request.content)
        request.headers["x-acs-date"] = format_timestamp(self.clock())
        request.headers["x-acs-signature-nonce"] = self.nonce()
        request.headers["x-acs-content-sha256"] = hashed_payload
        if self._token is not None:
            request.headers["x-acs-security-token"] = self._token.reveal()
        query = single_valued(parse_query(request.url.query.decode("ascii")), "query")
        request.url = request.url.copy_with(query=canonical_query(query).encode("ascii") or None)
        headers = {k.lower(): v for k, v in request.headers.items()}
        names = [*_must_sign(headers), *(h for h in self.sign_headers if h in headers)]
        signed = sign_acs3(
            access_key_id=self.access_key_id,
            access_key_secret=self._secret,
            method=request.method,
            path=_path(request),
            query=query,
            headers={name: headers[name] for name in dict.fromkeys(names)},
            hashed_payload=hashed_payload,
        )
        request.headers["Authorization"] = signed.authorization
        yield request


def verify_acs3(
    request: RequestParts,
    secrets: SecretLookup,
    *,
    now: float,
    nonces: NonceStore,
    max_skew_s: float = MAX_SKEW_S,
) -> Verdict[AlibabaError]:
    """Check a received ACS3-HMAC-SHA256 request as Alibaba's gateway does.

    Order: Authorization shape and signed set → x-acs-date → AccessKeyId → body hash →
    signature → nonce replay (recorded only for requests that pass).
    """
    m = _AUTHORIZATION.fullmatch(request.headers.get("authorization", "").strip())
    if m is None:
        return Verdict(
            AlibabaError.INCOMPLETE_SIGNATURE,
            "Authorization is missing or not 'ACS3-HMAC-SHA256 Credential=<AK>,"
            "SignedHeaders=<a;b>,Signature=<64 hex>'",
        )
    key_id, signed_names = m["id"], m["signed"].split(";")
    unsigned = [
        n for n in (*_REQUIRED_HEADERS, *_must_sign(request.headers)) if n not in signed_names
    ]
    absent = [n for n in (*_REQUIRED_HEADERS, *signed_names) if n not in request.headers]
    if unsigned or absent:
        return Verdict(
            AlibabaError.INCOMPLETE_SIGNATURE,
            f"headers not signed: {', '.join(dict.fromkeys(unsigned)) or 'none'}; "
            f"signed but absent: {', '.join(dict.fromkeys(absent)) or 'none'}",
            key_id,
        )
    sent_at = parse_timestamp(request.headers["x-acs-date"])
    if sent_at is None:
        return Verdict(
            AlibabaError.TIMESTAMP_FORMAT,
            f"x-acs-date {request.headers['x-acs-date']!r} is not UTC yyyy-MM-ddTHH:mm:ssZ",
            key_id,
        )
    if abs(now - sent_at) > max_skew_s:
        return Verdict(
            AlibabaError.TIMESTAMP_EXPIRED, skew_message(abs(now - sent_at), max_skew_s), key_id
        )
    secret = secrets(key_id)
    if secret is None:
        return Verdict(AlibabaError.ACCESS_KEY_NOT_FOUND, "AccessKeyId not found", key_id)
    hashed_payload = request.headers["x-acs-content-sha256"]
    if not same_text(hashed_payload, sha256_hex(request.body)):
        return Verdict(
            AlibabaError.SIGNATURE_DOES_NOT_MATCH,
            "x-acs-content-sha256 is not the SHA-256 of the body received; "
            "hash the exact bytes sent",
            key_id,
        )
    try:
        query = single_valued(parse_query(request.query), "query")
    except ConfigurationError as exc:
        return Verdict(AlibabaError.SIGNATURE_DOES_NOT_MATCH, str(exc), key_id)
    expected = sign_acs3(
        access_key_id=key_id,
        access_key_secret=secret,
        method=request.method,
        path=request.path,
        query=query,
        headers={name: request.headers[name] for name in signed_names},
        hashed_payload=hashed_payload,
    )
    if not same_text(expected.signature, m["sig"]):
        return Verdict(
            AlibabaError.SIGNATURE_DOES_NOT_MATCH,
            "signature does not match the request; sign the headers, query and body as sent "
            "with the current AccessKeySecret",
            key_id,
        )
    if not nonces.add(key_id, request.headers["x-acs-signature-nonce"], now=now):
        return Verdict(
            AlibabaError.NONCE_USED,
            "x-acs-signature-nonce was already used; send a fresh nonce with every request",
            key_id,
        )
    return Verdict(None, "ok", key_id)

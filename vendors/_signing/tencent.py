"""Tencent Cloud API 3.0 request signing (TC3-HMAC-SHA256), both ways.

`sign_tc3` computes every step of the vendor's algorithm (VENDORS.md §1) from the
parts of a request; `TC3Auth` applies it to outgoing httpx requests; `verify_tc3`
recomputes it for a received request the way Tencent's gateway does and answers with
Tencent's error codes, so the sandbox server can reuse it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import httpx

from pipeline.errors import ConfigurationError
from vendors._signing._common import (
    RequestParts,
    SecretLookup,
    Verdict,
    hmac_sha256,
    reveal,
    same_text,
    sha256_hex,
)
from vendors.credentials import Credentials, Secret, as_secret, mask_id

__all__ = [
    "TC3_ALGORITHM",
    "TC3Auth",
    "TC3Error",
    "TC3Signature",
    "sign_tc3",
    "tc3_canonical_headers",
    "tc3_canonical_request",
    "tc3_date",
    "tc3_signature",
    "tc3_signing_key",
    "tc3_string_to_sign",
    "verify_tc3",
]

TC3_ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_S = 300.0
"""Tencent rejects a request whose X-TC-Timestamp is more than 5 min from its clock."""

_REQUIRED_SIGNED = ("content-type", "host")
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[^/,\s]+)/tc3_request,\s*SignedHeaders=(?P<signed>[a-z0-9;_.-]+),\s*"
    r"Signature=(?P<sig>[0-9a-f]{64})"
)


def tc3_date(timestamp: int) -> str:
    """The credential-scope date: the **UTC** ``YYYY-MM-DD`` of a Unix timestamp."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")


def tc3_canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """``(CanonicalHeaders, SignedHeaders)`` for exactly the headers given.

    Names and values are lower-cased and trimmed, then sorted by name.
    """
    items = sorted((k.strip().lower(), v.strip().lower()) for k, v in headers.items())
    canonical = "".join(f"{name}:{value}\n" for name, value in items)
    return canonical, ";".join(name for name, _ in items)


def tc3_canonical_request(
    *, method: str, query: str, headers: Mapping[str, str], body: bytes | str
) -> str:
    """The CanonicalRequest: method, ``/``, query, signed headers, their names, body hash.

    ``query`` is the URL query as sent (used for GET only; POST signs ``""``); a GET
    hashes an empty body.
    """
    method = method.upper()
    canonical_headers, signed_headers = tc3_canonical_headers(headers)
    get = method == "GET"
    payload_hash = sha256_hex(b"" if get else body)
    return "\n".join(
        [method, "/", query if get else "", canonical_headers, signed_headers, payload_hash]
    )


def tc3_string_to_sign(*, timestamp: int, service: str, canonical_request: str) -> str:
    """``TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n<hash>``."""
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return "\n".join([TC3_ALGORITHM, str(timestamp), scope, sha256_hex(canonical_request)])


def tc3_signing_key(secret_key: str | Secret, *, date: str, service: str) -> bytes:
    """kSigning: the key chain ``"TC3"+SecretKey`` → date → service → ``tc3_request``."""
    key = hmac_sha256(("TC3" + reveal(secret_key)).encode("utf-8"), date)
    key = hmac_sha256(key, service)
    return hmac_sha256(key, "tc3_request")


def tc3_signature(secret_key: str | Secret, *, date: str, service: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of ``string_to_sign`` under the derived signing key."""
    key = tc3_signing_key(secret_key, date=date, service=service)
    return hmac_sha256(key, string_to_sign).hex()


@dataclass(frozen=True)
class TC3Signature:
    """Every intermediate of one TC3 signature, ending with the Authorization header."""

    canonical_request: str
    hashed_canonical_request: str
    credential_scope: str
    string_to_sign: str
    signed_headers: str
    signature: str
    authorization: str


def sign_tc3(
    *,
    secret_id: str,
    secret_key: str | Secret,
    service: str,
    timestamp: int,
    method: str,
    headers: Mapping[str, str],
    body: bytes | str = b"",
    query: str = "",
) -> TC3Signature:
    """Sign one request. ``headers`` are exactly the headers to sign (with their values)."""
    canonical = tc3_canonical_request(method=method, query=query, headers=headers, body=body)
    date = tc3_date(timestamp)
    scope = f"{date}/{service}/tc3_request"
    to_sign = tc3_string_to_sign(timestamp=timestamp, service=service, canonical_request=canonical)
    signature = tc3_signature(secret_key, date=date, service=service, string_to_sign=to_sign)
    _, signed = tc3_canonical_headers(headers)
    authorization = (
        f"{TC3_ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return TC3Signature(
        canonical_request=canonical,
        hashed_canonical_request=sha256_hex(canonical),
        credential_scope=scope,
        string_to_sign=to_sign,
        signed_headers=signed,
        signature=signature,
        authorization=authorization,
    )


class TC3Auth(httpx.Auth):
    """httpx auth that signs Tencent Cloud API 3.0 requests with TC3-HMAC-SHA256.

    Sets ``X-TC-Timestamp`` (from ``clock``), ``X-TC-Token`` when a session token is
    given, a default ``Content-Type`` when none is set, and ``Authorization``. The
    caller sets ``X-TC-Action``/``X-TC-Version``. ``service`` defaults to the host's
    first label (``ccc``, ``vod``). ``sign_headers`` adds headers to the signed set
    (Tencent's current doc example signs ``x-tc-action``).
    """

    requires_request_body = True

    def __init__(
        self,
        secret_id: str,
        secret_key: str | Secret,
        service: str | None = None,
        token: str | Secret | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sign_headers: Sequence[str] = (),
    ) -> None:
        if not secret_id or not reveal(secret_key):
            raise ConfigurationError(
                "Tencent Cloud credentials are empty; set TENCENTCLOUD_SECRET_ID and "
                "TENCENTCLOUD_SECRET_KEY"
            )
        self.secret_id = secret_id
        self._secret_key = as_secret(secret_key)
        self._token = None if token is None else as_secret(token)
        self.service = service
        self.clock = clock
        self.sign_headers = tuple(h.lower() for h in sign_headers)

    @classmethod
    def from_credentials(cls, credentials: Credentials, service: str | None = None) -> TC3Auth:
        """Build from `vendors.credentials.from_env("tencent")`."""
        return cls(credentials.key_id, credentials.secret, service, credentials.token)

    def __repr__(self) -> str:
        token = ", token=Secret('***')" if self._token is not None else ""
        return (
            f"TC3Auth(secret_id={mask_id(self.secret_id)!r}, secret_key=Secret('***'), "
            f"service={self.service!r}{token})"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "content-type" not in request.headers:
            request.headers["Content-Type"] = (
                "application/x-www-form-urlencoded"
                if request.method == "GET"
                else "application/json"
            )
        timestamp = int(self.clock())
        request.headers["X-TC-Timestamp"] = str(timestamp)
        if self._token is not None:
            request.headers["X-TC-Token"] = self._token.reveal()
        names = dict.fromkeys((*_REQUIRED_SIGNED, *self.sign_headers))
        missing = [name for name in names if name not in request.headers]
        if missing:
            raise ConfigurationError(
                f"cannot sign: header(s) {', '.join(missing)} not set on the request; "
                "set them or drop them from sign_headers"
            )
        host = request.headers["host"]
        signed = sign_tc3(
            secret_id=self.secret_id,
            secret_key=self._secret_key,
            service=self.service or host.split(".", 1)[0],
            timestamp=timestamp,
            method=request.method,
            headers={name: request.headers[name] for name in names},
            body=request.content,
            query=request.url.query.decode("ascii"),
        )
        request.headers["Authorization"] = signed.authorization
        yield request


class TC3Error(str, Enum):
    """The Tencent error codes `verify_tc3` answers with (VENDORS.md §1)."""

    SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"
    SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
    INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
    SECRET_ID_NOT_FOUND = "AuthFailure.SecretIdNotFound"


def verify_tc3(
    request: RequestParts,
    secrets: SecretLookup,
    *,
    now: float,
    service: str | None = None,
    max_skew_s: float = MAX_SKEW_S,
) -> Verdict[TC3Error]:
    """Check a received request's TC3 signature as Tencent's gateway does.

    Order: parse Authorization → clock skew → SecretId → signature. The signature is
    recomputed from the headers named in ``SignedHeaders`` and the body bytes received.
    ``service`` (e.g. ``"ccc"``), when given, must be the one in the credential scope;
    leave it None where the Host is not the vendor's (a loopback sandbox).
    """
    auth = request.headers.get("authorization", "")
    m = _AUTHORIZATION.fullmatch(auth.strip())
    if m is None:
        return Verdict(
            TC3Error.INVALID_AUTHORIZATION,
            "Authorization is missing or not 'TC3-HMAC-SHA256 Credential=<id>/<date>/"
            "<service>/tc3_request, SignedHeaders=<names>, Signature=<64 hex>'",
        )
    key_id = m["id"]
    raw_ts = request.headers.get("x-tc-timestamp", "")
    if not raw_ts.isdigit():
        return Verdict(
            TC3Error.INVALID_AUTHORIZATION,
            f"X-TC-Timestamp {raw_ts!r} is not Unix seconds",
            key_id,
        )
    signed_names = m["signed"].split(";")
    absent = [n for n in (*_REQUIRED_SIGNED, *signed_names) if n not in request.headers]
    if any(n not in signed_names for n in _REQUIRED_SIGNED) or absent:
        return Verdict(
            TC3Error.INVALID_AUTHORIZATION,
            f"SignedHeaders {m['signed']!r} must include content-type and host, all present "
            f"in the request (missing: {', '.join(absent) or 'none'})",
            key_id,
        )
    timestamp = int(raw_ts)
    skew_s = abs(now - timestamp)
    if skew_s > max_skew_s:
        return Verdict(
            TC3Error.SIGNATURE_EXPIRE,
            f"X-TC-Timestamp is {skew_s:.0f} s from server time (limit {max_skew_s:.0f} s); "
            "sync the client clock",
            key_id,
        )
    secret = secrets(key_id)
    if secret is None:
        return Verdict(TC3Error.SECRET_ID_NOT_FOUND, "SecretId not found", key_id)
    scope_service = m["service"]
    if m["date"] != tc3_date(timestamp) or service not in (None, scope_service):
        return Verdict(
            TC3Error.SIGNATURE_FAILURE,
            f"credential scope {m['date']}/{scope_service} does not match the timestamp's "
            f"UTC date {tc3_date(timestamp)} and service {service or scope_service!r}",
            key_id,
        )
    expected = sign_tc3(
        secret_id=key_id,
        secret_key=secret,
        service=scope_service,
        timestamp=timestamp,
        method=request.method,
        headers={name: request.headers[name] for name in signed_names},
        body=request.body,
        query=request.query,
    )
    if not same_text(expected.signature, m["sig"]):
        return Verdict(
            TC3Error.SIGNATURE_FAILURE,
            "signature does not match the request; sign the exact bytes sent "
            "(body, Content-Type, Host) with the current key",
            key_id,
        )
    return Verdict(None, "ok", key_id)

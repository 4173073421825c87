"""Alibaba Cloud RPC signing, HMAC-SHA1 (``SignatureVersion=1.0``), both ways.

All parameters except ``Signature`` are signed: name and value percent-encoded
(RFC 3986), sorted, joined; ``StringToSign = METHOD&%2F&enc(query)``; the key is
``AccessKeySecret + "&"`` (VENDORS.md §5.3). `RpcAuth` signs outgoing httpx requests;
`verify_rpc` checks a received one and answers with the gateway's error codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Generator, Mapping
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
    percent_encode,
    reveal,
    same_text,
)
from vendors.credentials import Credentials, Secret, as_secret, mask_id

__all__ = [
    "RpcAuth",
    "rpc_canonical_query",
    "rpc_signature",
    "rpc_string_to_sign",
    "verify_rpc",
]

SIGNATURE_METHOD: Final = "HMAC-SHA1"
SIGNATURE_VERSION: Final = "1.0"
_FORM = "application/x-www-form-urlencoded"
_REQUIRED: Final = (
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
)


def rpc_canonical_query(params: Mapping[str, str]) -> str:
    """The CanonicalizedQueryString of every parameter except ``Signature``."""
    return canonical_query({k: v for k, v in params.items() if k != "Signature"})


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&<percent-encoded canonical query>``."""
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(rpc_canonical_query(params))}"


def rpc_signature(secret: str | Secret, *, method: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1 of the string-to-sign under ``AccessKeySecret + "&"``."""
    key = (reveal(secret) + "&").encode("utf-8")
    digest = hmac.new(key, rpc_string_to_sign(method, params).encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


def _form_params(content_type: str, body: bytes) -> list[tuple[str, str]]:
    if not content_type.lower().startswith(_FORM) or not body:
        return []
    return parse_query(body.decode("utf-8"))


class RpcAuth(httpx.Auth):
    """httpx auth that signs Alibaba RPC requests with HMAC-SHA1 (``SignatureVersion=1.0``).

    Put ``Action``, ``Version`` and the business parameters in the query (or a form
    body); this adds ``AccessKeyId``, ``Format`` (``JSON`` unless set),
    ``SignatureMethod``, ``SignatureVersion``, ``SignatureNonce``, ``Timestamp``,
    ``SecurityToken`` (with a session token) and ``Signature``, and rewrites the query
    in canonical encoding so what is sent is exactly what was signed.
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

    @classmethod
    def from_credentials(cls, credentials: Credentials) -> RpcAuth:
        """Build from `vendors.credentials.from_env("alibaba")`."""
        return cls(credentials.key_id, credentials.secret, credentials.token)

    def __repr__(self) -> str:
        token = ", security_token=Secret('***')" if self._token is not None else ""
        return (
            f"RpcAuth(access_key_id={mask_id(self.access_key_id)!r}, "
            f"access_key_secret=Secret('***'){token})"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        query = single_valued(parse_query(request.url.query.decode("ascii")), "query")
        form = single_valued(
            _form_params(request.headers.get("content-type", ""), request.content), "form body"
        )
        missing = [name for name in ("Action", "Version") if name not in {**form, **query}]
        if missing:
            raise ConfigurationError(
                f"cannot sign an Alibaba RPC request without {' and '.join(missing)}; "
                "put them in the query"
            )
        query.setdefault("Format", "JSON")
        query.update(
            AccessKeyId=self.access_key_id,
            SignatureMethod=SIGNATURE_METHOD,
            SignatureVersion=SIGNATURE_VERSION,
            SignatureNonce=self.nonce(),
            Timestamp=format_timestamp(self.clock()),
        )
        if self._token is not None:
            query["SecurityToken"] = self._token.reveal()
        query.pop("Signature", None)
        signature = rpc_signature(self._secret, method=request.method, params={**form, **query})
        sent = canonical_query(query) + "&Signature=" + percent_encode(signature)
        request.url = request.url.copy_with(query=sent.encode("ascii"))
        yield request


def verify_rpc(
    request: RequestParts,
    secrets: SecretLookup,
    *,
    now: float,
    nonces: NonceStore,
    max_skew_s: float = MAX_SKEW_S,
) -> Verdict[AlibabaError]:
    """Check a received RPC HMAC-SHA1 request as Alibaba's gateway does.

    Order: required parameters → timestamp → AccessKeyId → signature → nonce replay.
    The nonce is recorded only for requests that pass, so forgeries cannot burn nonces.
    """
    try:
        params = single_valued(parse_query(request.query), "query")
        params.update(
            single_valued(
                _form_params(request.headers.get("content-type", ""), request.body), "form"
            )
        )
    except (ConfigurationError, UnicodeDecodeError) as exc:
        return Verdict(AlibabaError.INCOMPLETE_SIGNATURE, f"unparsable parameters: {exc}")
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        return Verdict(
            AlibabaError.INCOMPLETE_SIGNATURE,
            f"signature parameters missing: {', '.join(missing)}",
            params.get("AccessKeyId"),
        )
    key_id = params["AccessKeyId"]
    if (params["SignatureMethod"], params["SignatureVersion"]) != (
        SIGNATURE_METHOD,
        SIGNATURE_VERSION,
    ):
        return Verdict(
            AlibabaError.INCOMPLETE_SIGNATURE,
            f"SignatureMethod/SignatureVersion must be {SIGNATURE_METHOD}/{SIGNATURE_VERSION}",
            key_id,
        )
    sent_at = parse_timestamp(params["Timestamp"])
    if sent_at is None:
        return Verdict(
            AlibabaError.TIMESTAMP_FORMAT,
            f"Timestamp {params['Timestamp']!r} is not UTC yyyy-MM-ddTHH:mm:ssZ",
            key_id,
        )
    if abs(now - sent_at) > max_skew_s:
        return Verdict(
            AlibabaError.TIMESTAMP_EXPIRED, skew_message(abs(now - sent_at), max_skew_s), key_id
        )
    secret = secrets(key_id)
    if secret is None:
        return Verdict(AlibabaError.ACCESS_KEY_NOT_FOUND, "AccessKeyId not found", key_id)
    expected = rpc_signature(secret, method=request.method, params=params)
    if not same_text(expected, params["Signature"]):
        return Verdict(
            AlibabaError.SIGNATURE_DOES_NOT_MATCH,
            "signature does not match the parameters; sign every parameter as sent "
            "with the current AccessKeySecret",
            key_id,
        )
    if not nonces.add(key_id, params["SignatureNonce"], now=now):
        return Verdict(
            AlibabaError.NONCE_USED,
            "SignatureNonce was already used; send a fresh nonce with every request",
            key_id,
        )
    return Verdict(None, "ok", key_id)

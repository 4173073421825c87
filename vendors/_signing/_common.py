"""Pieces both signers share: request parts, verdicts, hashing, encoding, nonce stores."""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx

from vendors.credentials import Secret

SecretLookup = Callable[[str], "str | Secret | None"]
"""Maps a key id to its secret, or None when the id is unknown (e.g. ``keys.get``)."""

E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class RequestParts:
    """A received request as a verifier needs it: exactly the bytes that were sent.

    ``headers`` keys are lower-cased on construction; ``query`` is the raw query string
    after ``?`` (still percent-encoded), ``path`` the raw path.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> RequestParts:
        """The parts of an httpx request (its body must already be read)."""
        return cls(
            method=request.method,
            path=request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            query=request.url.query.decode("ascii"),
            headers=dict(request.headers.items()),
            body=request.content,
        )


@dataclass(frozen=True)
class Verdict(Generic[E]):
    """The outcome of verifying a signed request: ``error`` is None when it passed.

    ``error.value`` is the vendor's own error code, ``message`` says what was wrong,
    ``key_id`` is the claimed key id when one could be parsed.
    """

    error: E | None
    message: str = "ok"
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        """The vendor error code string, e.g. ``AuthFailure.SignatureFailure``."""
        return None if self.error is None else str(self.error.value)


def reveal(secret: str | Secret) -> str:
    return secret.reveal() if isinstance(secret, Secret) else secret


def sha256_hex(data: str | bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (str is UTF-8 encoded)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def percent_encode(text: str) -> str:
    """RFC 3986 encoding of UTF-8 ``text``: only ``A-Z a-z 0-9 - _ . ~`` stay as they are.

    Space becomes ``%20`` (never ``+``), ``*`` becomes ``%2A``, hex digits are upper case.
    """
    return quote(text, safe="~", encoding="utf-8")


def same_text(a: str, b: str) -> bool:
    """Constant-time string comparison (for signatures)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def body_bytes(request: httpx.Request) -> bytes:
    """The request body; httpx has read it because the Auth sets ``requires_request_body``."""
    return request.content


class NonceStore(Protocol):
    """Remembers nonces for a while; `add` says whether a nonce is new."""

    def add(self, key_id: str, nonce: str, *, now: float) -> bool:
        """Record ``nonce`` for ``key_id``; False if it was already seen and not yet expired."""
        ...


@dataclass
class MemoryNonceStore:
    """An in-process `NonceStore` that forgets a nonce ``ttl_s`` seconds after first use.

    The default of 30 min is twice Alibaba's 15-min clock window: a request stays
    acceptable for 15 min either side of its timestamp, so its nonce must be kept
    that long to catch every replay.
    """

    ttl_s: float = 1800.0
    _seen: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _order: deque[tuple[float, tuple[str, str]]] = field(default_factory=deque, repr=False)

    def add(self, key_id: str, nonce: str, *, now: float) -> bool:
        while self._order and self._order[0][0] <= now:
            expiry, key = self._order.popleft()
            if self._seen.get(key) == expiry:
                del self._seen[key]
        key = (key_id, nonce)
        if self._seen.get(key, now) > now:
            return False
        expiry = now + self.ttl_s
        self._seen[key] = expiry
        self._order.append((expiry, key))
        return True

    @property
    def remembered(self) -> int:
        """How many nonces are held (expired ones are dropped lazily on `add`)."""
        return len(self._seen)

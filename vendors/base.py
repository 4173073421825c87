"""What every vendor client shares: receipts, upload items, the client protocols, the
factory, and the one request driver behind both the sync and the async clients.

A client describes each exchange as a *flow*: a generator that yields `Call`s (build a
request, parse its response) and receives the parsed results (or has the typed error
thrown in), ending with a `Receipt`; it may also yield a float, seconds to pause.
`SyncClient` drives flows with ``httpx.Client`` and ``time.sleep``; `AsyncClient` with
``httpx.AsyncClient`` and ``asyncio.sleep``. Rate limiting, retries with backoff and
transport-error mapping live in the drivers; tokens, idempotency and validation in the
flows, written once per vendor.

    >>> client = make_client("tencent-ccc", endpoint="http://127.0.0.1:8080", sdk_app_id=1400)
    >>> item = UploadItem(path="out/hello.wav", name="hello",
    ...                   url="http://127.0.0.1:8765/hello.wav", source="in/hello.m4a")
    >>> receipt = client.upload(item)

``endpoint`` names a sandbox root (``voiceprep sandbox``); the vendor's path prefix is
appended (``/tencent``, ``/aliyun``, ``/huawei``, ``/yeastar``). ``vendor_endpoint``
is used exactly as given (a real PBX, a regional host).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Final, Protocol, TypeVar, runtime_checkable

import httpx

from pipeline.errors import ConfigurationError, VendorError
from vendors.credentials import Credentials, load_credentials
from vendors.errors import VendorRateLimited, VendorRefused, VendorUnavailable
from vendors.limits import RateLimiter, rate_limiter
from vendors.retry import RetryPolicy

__all__ = [
    "PROFILE_VENDORS",
    "STATUSES",
    "VENDORS",
    "AsyncClient",
    "AsyncVendorClient",
    "Call",
    "ClientCore",
    "Receipt",
    "SyncClient",
    "UploadItem",
    "VendorClient",
    "make_async_client",
    "make_client",
    "sandbox_url",
    "vendor_for_profile",
]

T = TypeVar("T")
Flow = Generator["Call | float", Any, T]
"""A client's exchange: yields calls (or seconds to pause), receives results, returns T."""

STATUSES: Final = ("submitted", "approved", "rejected", "exists", "failed")

# vendor -> (module, client class stem, credentials name, sandbox prefix); the async
# class is the stem prefixed with "Async".
VENDORS: Final[dict[str, tuple[str, str, str, str]]] = {
    "tencent-ccc": ("vendors.tencent", "TencentCccClient", "tencent", "tencent"),
    "tencent-vod": ("vendors.tencent", "TencentVodClient", "tencent", "tencent"),
    "aliyun": ("vendors.alibaba", "AlibabaClient", "alibaba", "aliyun"),
    "huawei": ("vendors.huawei", "HuaweiClient", "huawei", "huawei"),
    "yeastar": ("vendors.yeastar", "YeastarClient", "yeastar", "yeastar"),
}

PROFILE_VENDORS: Final[dict[str, str]] = {
    "tencent-ccc-ivr": "tencent-ccc",
    "tencent-vod-voice": "tencent-vod",
    "aliyun-voice": "aliyun",
    "huawei-ivr": "huawei",
    "yeastar-prompt": "yeastar",
}


SECRET_QUERY_PARAMS: Final = frozenset({"access_token", "SecurityToken", "Signature"})
"""Query parameters that carry credentials; redacted from httpx's request log lines."""


class RedactQuery(logging.Filter):
    """Replaces credential query parameters in httpx's ``HTTP Request: ...`` log records.

    Yeastar sends its access token as ``?access_token=`` and Alibaba RPC may send a
    ``SecurityToken``; httpx logs every URL at INFO level, so without this a verbose
    run would write tokens into its log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(arg: object) -> object:
    if isinstance(arg, httpx.URL) and SECRET_QUERY_PARAMS & set(arg.params.keys()):
        params = [
            (k, "***" if k in SECRET_QUERY_PARAMS else v) for k, v in arg.params.multi_items()
        ]
        return arg.copy_with(params=params)
    return arg


logging.getLogger("httpx").addFilter(RedactQuery())


@dataclass
class UploadItem:
    """One finished output to upload.

    ``name`` is the prompt/file name (the output's stem), ``url`` a presigned or served
    URL for the URL-based vendors (CCC, VOD), ``source`` the original input. Set
    ``resumed`` when an earlier attempt at this item started but never recorded a
    receipt: the client then checks for (and adopts) what that attempt may have created
    instead of creating a second copy.

    ``progress`` is what attempts at this item noted with `note` (how far they got: CCC's
    highest FileId before the upload, Yeastar's ``force`` step, VOD's TaskId); ``save``
    persists it (the upload stage: in the run journal) before the next request leaves,
    and a resumed item starts from the last attempt's notes. ``notes_kept`` is False when
    the attempt that left the item unfinished recorded no progress (voiceprep 0.3.6 or
    older, or one stopped before its first look): an empty ``progress`` then says nothing
    about how far it got.
    """

    path: str
    name: str
    url: str | None
    source: str
    resumed: bool = False
    progress: dict[str, Any] = field(default_factory=dict)
    notes_kept: bool = True
    save: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False, compare=False)

    def note(self, **facts: Any) -> None:
        """Record how far this attempt got (a None value removes that fact) and save it."""
        for key, value in facts.items():
            if value is None:
                self.progress.pop(key, None)
            else:
                self.progress[key] = value
        if self.save is not None:
            self.save(dict(self.progress))


@dataclass
class Receipt:
    """What the vendor said about one upload; stored in the journal and the results.

    ``status``: ``submitted`` (accepted, review or processing pending), ``approved``,
    ``rejected`` (review or task failed), ``exists`` (already there: an earlier attempt
    created it), ``failed`` (the vendor refused this file inside an otherwise successful
    request, e.g. CCC's FailedFileList). Request-level refusals raise typed errors instead.
    """

    vendor: str
    source: str
    output: str
    remote_id: str | None
    status: str
    request_id: str | None
    at: float
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"receipt status {self.status!r} is not one of {STATUSES}")

    @property
    def final(self) -> bool:
        """True when nothing will change any more (no need to poll)."""
        return self.status != "submitted"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@runtime_checkable
class VendorClient(Protocol):
    """A synchronous client for one vendor's upload API."""

    @property
    def vendor(self) -> str:
        """The vendor name, e.g. ``tencent-ccc``, ``aliyun``, ``yeastar``."""
        ...

    @property
    def needs_url(self) -> bool:
        """True when the vendor fetches a URL (publish first) instead of taking bytes."""
        ...

    def upload(self, item: UploadItem) -> Receipt:
        """Send one file; returns the vendor's receipt or raises a typed `VendorError`."""
        ...

    def poll(self, receipt: Receipt) -> Receipt:
        """Ask the vendor how an asynchronous outcome stands; returns an updated receipt."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncVendorClient(Protocol):
    """The async twin of `VendorClient`."""

    @property
    def vendor(self) -> str: ...

    @property
    def needs_url(self) -> bool: ...

    async def upload(self, item: UploadItem) -> Receipt: ...

    async def poll(self, receipt: Receipt) -> Receipt: ...

    async def aclose(self) -> None: ...


@dataclass
class Call:
    """One HTTP exchange of a flow: how to build the request and read the response.

    ``build`` is called again for every attempt (fresh timestamps, nonces, tokens);
    ``parse`` returns the useful part of the response or raises a typed `VendorError`.
    ``limit`` names the rate-limit key. With ``retry=False`` the driver hands every
    error to the flow at once (which then decides, e.g. CCC checks whether a dropped
    upload arrived before sending it again).
    """

    build: Callable[[], httpx.Request]
    parse: Callable[[httpx.Response], Any]
    auth: httpx.Auth | None = None
    limit: str | None = None
    retry: bool = True
    what: str = "request"
    idempotent: bool = True  # False: never resend what may have reached the vendor


def may_resend(call: Call, exc: VendorError) -> bool:
    """Whether ``call`` may be sent again after ``exc`` (policy aside).

    A non-idempotent call (an upload with no way to look it up afterwards) is resent only when
    it cannot have been delivered: a refused connection, or an answer that says it failed.
    """
    maybe_delivered = isinstance(exc, VendorUnavailable) and exc.maybe_delivered
    return call.retry and (call.idempotent or not maybe_delivered)


def transport_error(vendor: str, what: str, exc: httpx.TransportError) -> VendorUnavailable:
    """A retryable `VendorUnavailable` for a timeout or connection fault (no URL, no token)."""
    if isinstance(exc, httpx.TimeoutException):
        delivered = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return VendorUnavailable(
            vendor,
            "Timeout",
            f"{what}: no answer in time ({type(exc).__name__}); check the endpoint and network",
            maybe_delivered=delivered,
        )
    return VendorUnavailable(
        vendor,
        "ConnectionError",
        f"{what}: connection failed or dropped ({type(exc).__name__}); "
        "check that the endpoint is reachable",
        maybe_delivered=not isinstance(exc, httpx.ConnectError),
    )


def json_object(response: httpx.Response, vendor: str, what: str) -> dict[str, Any]:
    """The response's JSON object; non-JSON bodies become typed errors by HTTP status.

    HTTP 429 is always `VendorRateLimited` (with the ``Retry-After`` seconds if given).
    """
    if response.status_code == 429:
        try:
            retry_after_s: float | None = float(response.headers.get("retry-after", ""))
        except ValueError:
            retry_after_s = None
        raise VendorRateLimited(
            vendor, "HTTP429", f"{what}: too many requests", retry_after_s=retry_after_s
        )
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        return data
    status = response.status_code
    if status >= 500:
        raise VendorUnavailable(vendor, f"HTTP{status}", f"{what}: server error HTTP {status}")
    raise VendorRefused(
        vendor,
        f"HTTP{status}",
        f"{what}: HTTP {status} with a body that is not a JSON object; "
        "check that the endpoint points at the vendor's API",
    )


class ClientCore:
    """State and flows shared by a vendor's sync and async client (no I/O here)."""

    vendor: ClassVar[str]
    needs_url: ClassVar[bool] = False
    default_endpoint: ClassVar[str | None] = None
    credentials_name: ClassVar[str]

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        state_dir: str | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        url = endpoint or self.default_endpoint
        if not url:
            raise ConfigurationError(
                f"{self.vendor} has no default endpoint; pass --vendor-endpoint with its base URL"
            )
        self.endpoint = url.rstrip("/")
        self.credentials = credentials or load_credentials(self.credentials_name)
        self.state_dir = state_dir
        self.retry_policy = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self.clock = clock
        self._limiters: dict[str, RateLimiter | None] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, credentials={self.credentials!r})"
        )

    def account(self) -> str | None:
        """The vendor account the requests act for beyond the credentials' id (CCC
        SdkAppId, VOD SubAppId, Huawei app key), if any."""
        return None

    @property
    def target(self) -> str:
        """Where receipts of this client are made: its endpoint (a sandbox URL, an exact
        vendor URL, or the vendor's default) and account, e.g.
        ``https://ccc.tencentcloudapi.com SdkAppId=1400000001``. Upload ledgers and CCC's
        daily quota are kept per target."""
        account = self.account()
        return self.endpoint + (f" {account}" if account else "")

    @classmethod
    def sandbox_options(cls, root: str) -> dict[str, Any]:
        """Client options a sandbox root implies besides the endpoint (e.g. a second host)."""
        return {}

    def limiter(self, key: str | None) -> RateLimiter | None:
        """The shared limiter for ``key`` (None: unlimited)."""
        if key is None:
            return None
        if key not in self._limiters:
            self._limiters[key] = rate_limiter(key, state_dir=self.state_dir)
        return self._limiters[key]

    def receipt(self, item: UploadItem, **fields: Any) -> Receipt:
        """A receipt for ``item`` stamped now."""
        fields.setdefault("at", self.clock())
        fields.setdefault("detail", {})
        return Receipt(vendor=self.vendor, source=item.source, output=item.path, **fields)

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        raise NotImplementedError

    def poll_flow(self, receipt: Receipt) -> Flow[Receipt]:
        """Default: nothing to ask (the outcome arrives by callback or is already final)."""
        return receipt
        yield  # pragma: no cover - makes this a generator


class SyncClient(ClientCore):
    """Drives a vendor's flows with ``httpx.Client``."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, timeout=self.timeout_s)

    def upload(self, item: UploadItem) -> Receipt:
        """Send one file; returns the vendor's receipt or raises a typed `VendorError`."""
        return self.run(self.upload_flow(item))

    def poll(self, receipt: Receipt) -> Receipt:
        """Ask how an asynchronous outcome stands; returns an updated receipt."""
        if receipt.final:
            return receipt
        return self.run(self.poll_flow(receipt))

    def close(self) -> None:
        self._http.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its end: send each call, feed back results or errors."""
        result: Any = None
        error: VendorError | None = None
        while True:
            try:
                call = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            result, error = None, None
            if isinstance(call, float):
                self._sleep(call)
                continue
            try:
                result = self.send(call)
            except VendorError as exc:
                error = exc

    def send(self, call: Call) -> Any:
        """One call with rate limiting and retries of retryable errors."""
        attempt = 0
        while True:
            attempt += 1
            limiter = self.limiter(call.limit)
            if limiter is not None:
                limiter.acquire(sleep=self._sleep)
            try:
                request = call.build()
                try:
                    response = self._http.send(request, auth=call.auth or httpx.USE_CLIENT_DEFAULT)
                except httpx.TransportError as exc:
                    raise transport_error(self.vendor, call.what, exc) from None
                return call.parse(response)
            except VendorError as exc:
                if not (
                    may_resend(call, exc) and self.retry_policy.should_retry(exc, attempt=attempt)
                ):
                    raise
                self._sleep(self.retry_policy.delay_s(attempt, exc))


class AsyncClient(ClientCore):
    """Drives a vendor's flows with ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, timeout=self.timeout_s)

    async def upload(self, item: UploadItem) -> Receipt:
        """Send one file; returns the vendor's receipt or raises a typed `VendorError`."""
        return await self.run(self.upload_flow(item))

    async def poll(self, receipt: Receipt) -> Receipt:
        """Ask how an asynchronous outcome stands; returns an updated receipt."""
        if receipt.final:
            return receipt
        return await self.run(self.poll_flow(receipt))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its end: send each call, feed back results or errors."""
        result: Any = None
        error: VendorError | None = None
        while True:
            try:
                call = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            result, error = None, None
            if isinstance(call, float):
                await self._sleep(call)
                continue
            try:
                result = await self.send(call)
            except VendorError as exc:
                error = exc

    async def send(self, call: Call) -> Any:
        """One call with rate limiting and retries of retryable errors."""
        attempt = 0
        while True:
            attempt += 1
            limiter = self.limiter(call.limit)
            if limiter is not None:
                wait_s = limiter.reserve() - limiter.clock()
                if wait_s > 0:
                    await self._sleep(wait_s)
            try:
                request = call.build()
                try:
                    response = await self._http.send(
                        request, auth=call.auth or httpx.USE_CLIENT_DEFAULT
                    )
                except httpx.TransportError as exc:
                    raise transport_error(self.vendor, call.what, exc) from None
                return call.parse(response)
            except VendorError as exc:
                if not (
                    may_resend(call, exc) and self.retry_policy.should_retry(exc, attempt=attempt)
                ):
                    raise
                await self._sleep(self.retry_policy.delay_s(attempt, exc))


def vendor_for_profile(profile: str) -> str:
    """The client vendor name for a profile name (``tencent-ccc-ivr`` → ``tencent-ccc``)."""
    if profile in VENDORS:
        return profile
    try:
        return PROFILE_VENDORS[profile]
    except KeyError:
        known = ", ".join(sorted(VENDORS))
        raise ConfigurationError(f"no upload client for {profile!r}; use one of: {known}") from None


def sandbox_url(root: str, vendor: str) -> str:
    """The vendor's base URL under a sandbox root (``http://127.0.0.1:8080`` → ``…/tencent``)."""
    return f"{root.rstrip('/')}/{VENDORS[vendor_for_profile(vendor)][3]}"


def _client_class(vendor: str, asynchronous: bool) -> type[Any]:
    name = vendor_for_profile(vendor)
    module_name, class_name, _, _ = VENDORS[name]
    module = importlib.import_module(module_name)
    cls: type[Any] = getattr(module, f"Async{class_name}" if asynchronous else class_name)
    return cls


def _endpoint(vendor: str, endpoint: str | None, vendor_endpoint: str | None) -> str | None:
    if endpoint and vendor_endpoint:
        raise ConfigurationError(
            "give either endpoint (a sandbox root) or vendor_endpoint, not both"
        )
    if vendor_endpoint:
        return vendor_endpoint
    return sandbox_url(endpoint, vendor) if endpoint else None


def _options(cls: type[Any], root: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` over what the sandbox ``root`` (if any) implies for ``cls``."""
    implied: dict[str, Any] = cls.sandbox_options(root) if root else {}
    return {**options, **{k: v for k, v in implied.items() if options.get(k) is None}}


def make_client(
    vendor: str,
    *,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    state_dir: str | None = None,
    vendor_endpoint: str | None = None,
    **options: Any,
) -> Any:
    """A synchronous `VendorClient` for ``vendor`` (a vendor or profile name).

    ``endpoint`` is a sandbox root (the vendor prefix is appended); ``vendor_endpoint``
    an exact base URL; neither means the real cloud. Credentials default to the
    vendor's environment variables. ``state_dir`` (the run's out dir) holds the shared
    rate limiter and, in its journal, CCC's daily quota. Other ``options`` go to the
    vendor's client (``sdk_app_id``, ``sub_app_id``, ``locale``, ``force``, ...).
    """
    cls = _client_class(vendor, asynchronous=False)
    return cls(
        endpoint=_endpoint(vendor, endpoint, vendor_endpoint),
        credentials=credentials,
        state_dir=state_dir,
        **_options(cls, endpoint, options),
    )


def make_async_client(
    vendor: str,
    *,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    state_dir: str | None = None,
    vendor_endpoint: str | None = None,
    **options: Any,
) -> Any:
    """The async twin of `make_client`: an `AsyncVendorClient`."""
    cls = _client_class(vendor, asynchronous=True)
    return cls(
        endpoint=_endpoint(vendor, endpoint, vendor_endpoint),
        credentials=credentials,
        state_dir=state_dir,
        **_options(cls, endpoint, options),
    )


# --- checks every client makes before a request leaves -----------------------------------


def name_problem(name: str, *, max_chars: int, forbidden: re.Pattern[str]) -> str | None:
    """Why ``name`` breaks a vendor's naming rule (empty, over ``max_chars``, or holding
    characters ``forbidden`` matches, the first ten named), or None when it is fine."""
    if not name:
        return "is empty"
    if len(name) > max_chars:
        return f"is {len(name)} characters long, over {max_chars}"
    bad = sorted(set(forbidden.findall(name)))
    if bad:
        return "contains " + " ".join(repr(c) for c in bad[:10])
    return None


def file_extension(vendor: str, path: str, allowed: tuple[str, ...], *, what: str) -> str:
    """The lower-case extension of ``path`` (no dot) if ``allowed``, else a validation error."""
    import os

    from vendors.errors import VendorValidationError

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in allowed:
        raise VendorValidationError(
            vendor,
            "LocalValidation",
            f"{what}: {os.path.basename(path)!r} is .{ext or '(none)'}; the vendor takes "
            f"{', '.join('.' + a for a in allowed)}; run with a profile whose format fits",
            field="file",
        )
    return ext


def file_bytes(vendor: str, path: str, *, max_bytes: int, what: str) -> bytes:
    """The file's bytes if it exists and is within ``max_bytes``, else a validation error."""
    import os

    from vendors.errors import VendorValidationError

    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise VendorValidationError(
                vendor,
                "LocalValidation",
                f"{what}: {os.path.basename(path)!r} is {size} bytes, over the vendor's "
                f"limit of {max_bytes} bytes; shorten the audio or use a smaller format",
                field="file",
            )
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise VendorValidationError(
            vendor,
            "LocalValidation",
            f"{what}: cannot read {path!r} ({exc.strerror}); run `voiceprep run` again first",
            field="file",
        ) from None

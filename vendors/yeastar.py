"""Yeastar P-Series PBX client: custom-prompt upload that never overwrites by surprise.

Tokens (VENDORS.md §4): `get_token` with the Client ID/Secret gives a 30-min access
token and a 24-h refresh token; the client renews with `refresh_token` a minute before
expiry, falls back to `get_token`, and on errcode 10004 renews once and sends again.
The token travels as ``?access_token=``; every request carries a ``User-Agent``.

Upload is ``ask`` then ``force``: ``ask`` only checks whether a prompt of that name
exists. If it does, the client stops with `VendorNameClash` unless overwriting was
asked for (``force=True``) or the prompt may be our own: a ``record`` prompt, and an
earlier attempt at this item noted that it had sent ``force`` (`UploadItem.note`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import httpx

from pipeline.errors import ConfigurationError, VendorError
from vendors.base import (
    AsyncClient,
    Call,
    ClientCore,
    Flow,
    Receipt,
    SyncClient,
    UploadItem,
    file_bytes,
    file_extension,
    json_object,
    name_problem,
)
from vendors.errors import (
    VendorAuthError,
    VendorNameClash,
    VendorQuotaExceeded,
    VendorRefused,
    VendorUnavailable,
    VendorValidationError,
)

__all__ = ["AsyncYeastarClient", "YeastarClient", "prompt_name_problem", "yeastar_error"]

API_ROOT: Final = "/openapi/v1.0"
MAX_BYTES: Final = 8 * 1024 * 1024
TOKEN_EXPIRED: Final = 10004
REFRESH_MARGIN_S: Final = 60.0
_MIME: Final = {"wav": "audio/wav", "mp3": "audio/mpeg", "gsm": "audio/gsm"}
NAME_MAX: Final = 250
_FORBIDDEN = re.compile(r"""[\s\x00-\x1f\x7f'"!:@#$%^*.&(){}\[\];/,`\\]""")
"""VENDORS.md §4's forbidden characters, plus whitespace, control characters and ``\\``."""


def prompt_name_problem(stem: str) -> str | None:
    """Why ``stem`` cannot name a prompt (VENDORS.md §4), or None when it can.

    The one naming rule of the client and the sandbox: no spaces, none of
    ``' " ! : @ # $ % ^ * . & ( ) { } [ ] ; / , ` \\``, 1–250 characters.
    """
    return name_problem(stem, max_chars=NAME_MAX, forbidden=_FORBIDDEN)


def yeastar_error(vendor: str, errcode: int, errmsg: str) -> VendorError:
    """The typed error for a Yeastar ``errcode``."""
    code = str(errcode)
    if errcode in (-2, 70082):
        return VendorUnavailable(vendor, code, errmsg)
    if errcode in (TOKEN_EXPIRED, 10005, 70004):
        return VendorAuthError(vendor, code, errmsg)
    if errcode in (40001, 40002, 40004):
        return VendorValidationError(vendor, code, errmsg)
    if errcode == 60002:
        return VendorQuotaExceeded(
            vendor, code, f"{errmsg}: the PBX holds its maximum of custom prompts; delete some"
        )
    return VendorRefused(vendor, code, errmsg)


class _YeastarCore(ClientCore):
    vendor = "yeastar"
    needs_url = False
    default_endpoint = None
    credentials_name = "yeastar"

    def __init__(self, *, force: bool = False, user_agent: str = "OpenAPI", **core: Any) -> None:
        super().__init__(**core)
        if not user_agent:
            raise ConfigurationError("Yeastar requires a User-Agent on every request")
        self.force = force
        self.user_agent = user_agent
        self.base = self.endpoint + API_ROOT
        self._access: str | None = None
        self._access_expires = 0.0
        self._refresh: str | None = None
        self._refresh_expires = 0.0

    def parse(self, what: str, response: httpx.Response) -> dict[str, Any]:
        data = json_object(response, self.vendor, what)
        if response.status_code >= 500:
            raise VendorUnavailable(self.vendor, f"HTTP{response.status_code}", f"{what}: error")
        try:
            errcode = int(data.get("errcode", -1))
        except (TypeError, ValueError):
            errcode = -1
        if errcode != 0:
            raise yeastar_error(self.vendor, errcode, f"{what}: {data.get('errmsg', '')}")
        return data

    def _json_call(self, path: str, body: Callable[[], dict[str, str]], what: str) -> Call:
        url = self.base + path
        headers = {"User-Agent": self.user_agent}

        def build() -> httpx.Request:
            return httpx.Request("POST", url, json=body(), headers=headers)

        return Call(build, partial(self.parse, what), None, None, True, what)

    def token_flow(self, *, renew: bool = False) -> Flow[str]:
        """A valid access token: cached, refreshed near expiry, or fetched anew."""
        now = self.clock()
        if not renew and self._access is not None and now < self._access_expires - REFRESH_MARGIN_S:
            return self._access
        data: dict[str, Any] | None = None
        refresh = self._refresh
        if refresh is not None and now < self._refresh_expires - REFRESH_MARGIN_S:
            try:
                data = yield self._json_call(
                    "/refresh_token", lambda: {"refresh_token": refresh}, "refresh_token"
                )
            except VendorAuthError:
                data = None
        if data is None:
            creds = self.credentials
            data = yield self._json_call(
                "/get_token",
                lambda: {"username": creds.key_id, "password": creds.secret.reveal()},
                "get_token",
            )
        access = data.get("access_token")
        if not access:
            raise VendorRefused(self.vendor, "NoToken", "get_token answered without access_token")
        self._access = str(access)
        self._access_expires = now + float(data.get("access_token_expire_time") or 1800)
        self._refresh = data.get("refresh_token") or None
        self._refresh_expires = now + float(data.get("refresh_token_expire_time") or 86400)
        return self._access

    def upload_call(self, filename: str, content: bytes, is_check: str, token: str) -> Call:
        url = self.base + "/custom_prompt/upload"
        mime = _MIME[filename.rsplit(".", 1)[-1]]
        headers = {"User-Agent": self.user_agent}

        def build() -> httpx.Request:
            return httpx.Request(
                "POST",
                url,
                params={"access_token": token},
                files={"file": (filename, content, mime)},
                data={"is_check": is_check},
                headers=headers,
            )

        what = f"custom_prompt/upload ({is_check})"
        return Call(build, partial(self.parse, what), None, None, True, what)

    def authed_flow(self, make: Callable[[str], Call]) -> Flow[dict[str, Any]]:
        """Send with the current token; on errcode 10004 renew once and send again."""
        token = yield from self.token_flow()
        try:
            data: dict[str, Any] = yield make(token)
        except VendorAuthError as exc:
            if exc.code != str(TOKEN_EXPIRED):
                raise
            token = yield from self.token_flow(renew=True)
            data = yield make(token)
        return data

    def check(self, item: UploadItem) -> tuple[str, bytes]:
        """Validate ``item``; returns the filename (which names the prompt) and the bytes."""
        ext = file_extension(self.vendor, item.path, tuple(_MIME), what="custom_prompt/upload")
        content = file_bytes(
            self.vendor, item.path, max_bytes=MAX_BYTES, what="custom_prompt/upload"
        )
        problem = prompt_name_problem(item.name)
        if problem is not None:
            raise VendorValidationError(
                self.vendor,
                "LocalValidation",
                f"prompt name {item.name[:60]!r} {problem}; Yeastar takes at most {NAME_MAX} "
                "characters and no spaces or special characters (' \" ! : @ # $ % ^ * . & ( ) "
                "{ } [ ] ; / , ` \\): rename the output",
                field="file",
            )
        return f"{item.name}.{ext}", content

    @staticmethod
    def maybe_ours(item: UploadItem, exist_type: str) -> bool:
        """Whether the existing prompt may be this item's own upload from an earlier attempt.

        Only an uploaded prompt (``record``) can be ours, and only if that attempt got as
        far as sending ``force``; ``tts`` and ``specify`` prompts never are.
        """
        return item.resumed and exist_type == "record" and bool(item.progress.get("force_sent"))

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        filename, content = self.check(item)
        asked = yield from self.authed_flow(
            lambda token: self.upload_call(filename, content, "ask", token)
        )
        exist_type = asked.get("exist_type") or None
        if exist_type and not (self.force or self.maybe_ours(item, str(exist_type))):
            raise VendorNameClash(
                self.vendor,
                "NameExists",
                f"a {exist_type} prompt named {filename!r} already exists on the PBX; "
                "rename the output, or pass --force to overwrite it",
                name=filename,
                exist_type=str(exist_type),
            )
        item.note(force_sent=True)  # saved before it leaves: from here the PBX may hold ours
        yield from self.authed_flow(
            lambda token: self.upload_call(filename, content, "force", token)
        )
        return self.receipt(
            item,
            remote_id=filename,
            status="approved",
            request_id=None,
            detail={"prompt": filename, "overwrote": exist_type},
        )


class YeastarClient(_YeastarCore, SyncClient):
    """Uploads custom prompts to a Yeastar P-Series PBX (sync)."""


class AsyncYeastarClient(_YeastarCore, AsyncClient):
    """Uploads custom prompts to a Yeastar P-Series PBX (async)."""

"""Huawei Cloud AICC (CEC) client: IVR voice-file upload and TTS voice templates.

Every call carries ``Authorization: Bearer <token>`` and ``X-APP-Key`` (VENDORS.md §3).
Tokens come from ``tokenByAkSk`` with ``X-Token-Expire`` (at most 3600 s); they are
cached, renewed shortly before they expire, and renewed once more when the API answers
401. Review outcomes are not polled (there is no API for it): Huawei POSTs them to
``callBackUrl``; `apply_review_callback` turns such a payload into an updated receipt.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, Final

import httpx

from pipeline.errors import ConfigurationError
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
    VendorRateLimited,
    VendorRefused,
    VendorUnavailable,
    VendorValidationError,
)

__all__ = [
    "AsyncHuaweiClient",
    "HuaweiClient",
    "apply_review_callback",
    "voice_file_name_problem",
]

TOKEN_PATH: Final = "/apigovernance/api/oauth/tokenByAkSk"
UPLOAD_PATH: Final = "/apiaccess/rest/cc-management/v1/importVoiceFile/upload"
TEMPLATE_PATH: Final = "/apiaccess/rest/cc-management/v1/createVoiceTemplate"
MAX_TOKEN_S: Final = 3600
MAX_ENCODED_BYTES: Final = 8 * 1024 * 1024
MAX_RAW_BYTES: Final = MAX_ENCODED_BYTES // 4 * 3
LOCALES: Final = ("zh_CN", "en_US", "pt_BR", "th_TH")
VOICE_TYPES: Final = ("0", "1", "2", "3")
NAME_MAX: Final = 50
_NOT_NAME_CHAR = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff]")
"""Anything but ASCII letters, digits and Chinese (CJK Unified Ideographs and Extension A)."""
_REVIEW: Final = {"2": "approved", "3": "rejected"}


def voice_file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a ``voiceFileName`` (VENDORS.md §3.3), or None when it can.

    The one rule of client and sandbox: 1–50 Chinese characters, ASCII letters and digits.
    Names are never rewritten to fit: ``a_1`` and ``a-1`` would both become ``a1``, and a
    Japanese or Korean name would vanish, so the user renames instead.
    """
    return name_problem(name, max_chars=NAME_MAX, forbidden=_NOT_NAME_CHAR)


def apply_review_callback(receipt: Receipt, payload: Mapping[str, Any], *, at: float) -> Receipt:
    """Update ``receipt`` from Huawei's review callback (``status`` 2 approved, 3 rejected)."""
    status = _REVIEW.get(str(payload.get("status", "")))
    if status is None or str(payload.get("fileId", "")) != (receipt.remote_id or ""):
        return receipt
    receipt.status = status
    receipt.at = at
    receipt.detail = {
        **receipt.detail,
        "review_status": str(payload["status"]),
        "comment": payload.get("comment"),
        "file_url": payload.get("fileUrl"),
    }
    return receipt


class _HuaweiCore(ClientCore):
    vendor = "huawei"
    needs_url = False
    default_endpoint = "https://service.besclouds.com"
    credentials_name = "huawei"
    LIMIT: ClassVar[str] = "huawei"

    def __init__(
        self,
        *,
        token_lifetime_s: int = 1800,
        locale: str = "zh_CN",
        voice_type: str = "0",
        callback_url: str | None = None,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        if not 1 <= token_lifetime_s <= MAX_TOKEN_S:
            raise ConfigurationError(f"Huawei token lifetime must be 1–{MAX_TOKEN_S} s")
        if locale not in LOCALES:
            raise ConfigurationError(f"Huawei locale {locale!r}; use one of {', '.join(LOCALES)}")
        if str(voice_type) not in VOICE_TYPES:
            raise ConfigurationError(
                "Huawei voiceType must be 0 (IVR), 1 (prompt tone), 2 (fault tone) "
                "or 3 (voice notification)"
            )
        self.token_lifetime_s = token_lifetime_s
        self.locale = locale
        self.voice_type = str(voice_type)
        self.callback_url = callback_url
        self._token: str | None = None
        self._token_expires = 0.0

    # --- token ----------------------------------------------------------------------------

    def account(self) -> str | None:
        return f"app={self.credentials.key_id}"

    def _refresh_margin_s(self) -> float:
        return min(60.0, 0.1 * self.token_lifetime_s)

    def token_call(self) -> Call:
        url = self.endpoint + TOKEN_PATH
        creds = self.credentials

        def build() -> httpx.Request:
            return httpx.Request(
                "POST",
                url,
                json={"app_key": creds.key_id, "app_secret": creds.secret.reveal()},
                headers={"X-Token-Expire": str(self.token_lifetime_s)},
            )

        return Call(build, self.parse_token, None, None, True, "tokenByAkSk")

    def parse_token(self, response: httpx.Response) -> dict[str, Any]:
        data = self.parse("tokenByAkSk", response)
        if not data.get("AccessToken"):
            raise VendorRefused(self.vendor, "NoToken", "tokenByAkSk answered without AccessToken")
        return data

    def token_flow(self, *, renew: bool = False) -> Flow[str]:
        """A valid bearer token, fetched when missing, about to expire, or refused."""
        now = self.clock()
        if renew or self._token is None or now > self._token_expires - self._refresh_margin_s():
            data = yield self.token_call()
            try:
                lifetime = float(data.get("Expires") or self.token_lifetime_s)
            except (TypeError, ValueError):
                lifetime = float(self.token_lifetime_s)
            self._token, self._token_expires = str(data["AccessToken"]), now + lifetime
        assert self._token is not None
        return self._token

    # --- API calls ------------------------------------------------------------------------

    def parse(self, what: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 401:
            raise VendorAuthError(
                self.vendor,
                "401",
                f"{what}: token or app key refused; check HUAWEI_CEC_APP_KEY/HUAWEI_CEC_APP_SECRET",
            )
        if status == 429:
            raise VendorRateLimited(self.vendor, "429", f"{what}: over 10 requests/s")
        data = json_object(response, self.vendor, what)
        if status >= 500:
            raise VendorUnavailable(self.vendor, f"HTTP{status}", f"{what}: server error")
        code = str(data.get("returnCode", "0" if "AccessToken" in data else ""))
        if status >= 400 or code != "0":
            message = f"{what}: {data.get('description', '')}"
            if code.startswith("03"):
                raise VendorValidationError(self.vendor, code, message)
            if code == "401":
                raise VendorAuthError(self.vendor, code, message)
            raise VendorRefused(self.vendor, code or f"HTTP{status}", message)
        return data

    def api_call(
        self, path: str, payload: dict[str, Any], token: str, what: str, *, idempotent: bool = True
    ) -> Call:
        url = self.endpoint + path
        headers = {"Authorization": f"Bearer {token}", "X-APP-Key": self.credentials.key_id}

        def build() -> httpx.Request:
            return httpx.Request("POST", url, json=payload, headers=headers)

        return Call(build, partial(self.parse, what), None, self.LIMIT, True, what, idempotent)

    def authed_flow(
        self, path: str, payload: dict[str, Any], what: str, *, idempotent: bool = True
    ) -> Flow[dict[str, Any]]:
        """POST with a bearer token; on 401 renew the token once and send again."""
        token = yield from self.token_flow()
        try:
            data: dict[str, Any] = yield self.api_call(
                path, payload, token, what, idempotent=idempotent
            )
        except VendorAuthError:
            token = yield from self.token_flow(renew=True)
            data = yield self.api_call(path, payload, token, what, idempotent=idempotent)
        return data

    # --- voice files ----------------------------------------------------------------------

    def upload_payload(self, item: UploadItem) -> dict[str, Any]:
        """The validated ``importVoiceFile/upload`` body for ``item``."""
        ext = file_extension(self.vendor, item.path, ("wav", "mp3"), what="importVoiceFile")
        content = file_bytes(
            self.vendor, item.path, max_bytes=MAX_RAW_BYTES, what="importVoiceFile"
        )
        payload: dict[str, Any] = {
            "fileInfo": base64.b64encode(content).decode("ascii"),
            "locale": self.locale,
            "voiceType": self.voice_type,
            "fileType": ext,
        }
        problem = voice_file_name_problem(item.name)
        if problem is not None:
            raise VendorValidationError(
                self.vendor,
                "LocalValidation",
                f"voiceFileName {item.name[:60]!r} {problem}; Huawei takes 1–{NAME_MAX} Chinese "
                "characters, ASCII letters and digits only (no _ - . or spaces): rename the "
                "output, or let `voiceprep run --profile huawei-ivr` name it",
                field="voiceFileName",
            )
        payload["voiceFileName"] = item.name
        if self.callback_url:
            payload["callBackUrl"] = self.callback_url
        return payload

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        payload = self.upload_payload(item)
        # No API finds an upload again: never resend one that may have arrived.
        data = yield from self.authed_flow(
            UPLOAD_PATH, payload, "importVoiceFile/upload", idempotent=False
        )
        file_id = data.get("fileId")
        if not file_id:
            raise VendorRefused(self.vendor, "NoFileId", "importVoiceFile answered without fileId")
        return self.receipt(
            item,
            remote_id=str(file_id),
            status="submitted",
            request_id=None,
            detail={"voice_file_name": payload.get("voiceFileName")},
        )

    # --- templates ------------------------------------------------------------------------

    def template_flow(self, body: dict[str, Any]) -> Flow[Receipt]:
        """Create a TTS voice template after checking it with `stages.templates`."""
        from stages.templates import check_huawei_request

        body = dict(body)
        if self.callback_url and "callBackUrl" not in body:
            body["callBackUrl"] = self.callback_url
        verdict = check_huawei_request(body)
        if not verdict.ok:
            raise VendorValidationError(self.vendor, "LocalValidation", verdict.format())
        data = yield from self.authed_flow(TEMPLATE_PATH, body, "createVoiceTemplate")
        name = str(body.get("name", ""))
        return Receipt(
            vendor=self.vendor,
            source=f"template:{name}",
            output="",
            remote_id=str(data.get("templateId") or "") or None,
            status="submitted",
            request_id=None,
            at=self.clock(),
            detail={"kind": "template", "name": name},
        )


def _template_body(
    name: str,
    text: str,
    *,
    language: str,
    scene: str | None,
    speed: int | None,
    volume: int | None,
    voicename: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "voicecontent": {"textcontent": text, "language": language},
    }
    for key, value in (
        ("scene", scene),
        ("speed", speed),
        ("volume", volume),
        ("voicename", voicename),
    ):
        if value is not None:
            body[key] = value
    return body


class HuaweiClient(_HuaweiCore, SyncClient):
    """Uploads IVR voice files and creates TTS templates on Huawei AICC (sync)."""

    def create_voice_template(
        self,
        name: str,
        text: str,
        *,
        language: str = "zh_CN",
        scene: str | None = "3",
        speed: int | None = None,
        volume: int | None = None,
        voicename: str | None = None,
    ) -> Receipt:
        """Check and create one TTS template; the receipt's ``remote_id`` is its templateId."""
        body = _template_body(
            name,
            text,
            language=language,
            scene=scene,
            speed=speed,
            volume=volume,
            voicename=voicename,
        )
        return self.run(self.template_flow(body))


class AsyncHuaweiClient(_HuaweiCore, AsyncClient):
    """Uploads IVR voice files and creates TTS templates on Huawei AICC (async)."""

    async def create_voice_template(
        self,
        name: str,
        text: str,
        *,
        language: str = "zh_CN",
        scene: str | None = "3",
        speed: int | None = None,
        volume: int | None = None,
        voicename: str | None = None,
    ) -> Receipt:
        """Check and create one TTS template; the receipt's ``remote_id`` is its templateId."""
        body = _template_body(
            name,
            text,
            language=language,
            scene=scene,
            speed=speed,
            volume=volume,
            voicename=voicename,
        )
        return await self.run(self.template_flow(body))

"""Alibaba Cloud voice (dyvms) client: voice-file upload, audit polling, `IvrCall`.

Upload is two hops (VENDORS.md §5.1): the RPC action `GetToken` (signed with HMAC-SHA1,
or ACS3-HMAC-SHA256 with ``signature="acs3"``) returns a 30-minute token, then the file
bytes go to the upload host with that token as ``authorization``. The token is cached
and renewed 5 minutes before it expires, and once more if the upload host refuses it.
`QueryVoiceFileAuditInfo` follows the ≈2 h review. 100 requests/s, shared by a run.

The upload host is not the RPC host: it is ``dysmsapi-custom.cn-shanghai.aliyuncs.com``
whatever ``vendor_endpoint`` says (a regional RPC host has no ``/dyvms/upload``), unless
``upload_endpoint`` names another; a sandbox root serves both.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, ClassVar, Final
from urllib.parse import urlparse

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
    sandbox_url,
)
from vendors.errors import (
    VendorAuthError,
    VendorQuotaExceeded,
    VendorRateLimited,
    VendorRefused,
    VendorUnavailable,
    VendorValidationError,
)
from vendors.signing import ACS3Auth, RpcAuth

__all__ = ["AlibabaClient", "AsyncAlibabaClient", "alibaba_error"]

API_VERSION: Final = "2017-05-25"
UPLOAD_ENDPOINT: Final = "http://dysmsapi-custom.cn-shanghai.aliyuncs.com"
MAX_BYTES: Final = 2 * 1024 * 1024 - 1  # "< 2 MB"
TOKEN_LIFETIME_S: Final = 30 * 60.0
TOKEN_MARGIN_S: Final = 5 * 60.0

_AUDIT: Final = {
    "AUDIT_STATE_PASS": "approved",
    "AUDIT_STATE_NOT_PASS": "rejected",
    "AUDIT_SATE_CANCEL": "rejected",  # (sic, §5.1): nobody will review this file any more
    "AUDIT_STATE_CANCEL": "rejected",  # the spelling Alibaba may one day fix
}
"""Final audit states; every other state (INIT, UPLOADING, REDOING, PAUSE, ORDER_FINISHED,
anything new) is still pending and is polled again."""
_AUDIT_NOTES: Final = {
    "AUDIT_SATE_CANCEL": "the review was cancelled, so the file cannot be used; upload it "
    "again (delete its journal row or rename the output) or ask Alibaba support why",
    "AUDIT_PAUSE": "the review is paused on Alibaba's side; run `voiceprep upload` again later",
    "AUDIT_ORDER_FINISHED": "approved by Alibaba's ticket system, waiting for the carrier's "
    "review; not usable until it passes",
    "AUDIT_STATE_UPLOADING": "approved; the file is still being uploaded to the carrier",
}
_AUDIT_NOTES["AUDIT_STATE_CANCEL"] = _AUDIT_NOTES["AUDIT_SATE_CANCEL"]
_AUTH_PREFIXES: Final = (
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidTimeStamp",
    "SignatureNonceUsed",
    "InvalidAccessKeyId",
    "InvalidSecurityToken",
    "Forbidden",
    "isp.RAM_PERMISSION_DENY",
)
_REFUSED: Final = (
    "isv.OUT_OF_SERVICE",
    "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.COMPLAINT_REJECT",
    "isv.BLACK_KEY_CONTROL_LIMIT",
)


def alibaba_error(
    vendor: str, code: str, message: str, request_id: str | None, *, http_status: int = 400
) -> VendorError:
    """The typed error for an Alibaba gateway or business ``Code``."""
    if code.startswith(_AUTH_PREFIXES):
        return VendorAuthError(vendor, code, message, request_id)
    if code.startswith("Throttling") or code == "ServiceUnavailable.Throttling":
        return VendorRateLimited(vendor, code, message, request_id)
    if code == "isv.BUSINESS_LIMIT_CONTROL":
        return VendorQuotaExceeded(vendor, code, message, request_id)
    if code in ("isp.SYSTEM_ERROR", "InternalError", "ServiceUnavailable") or http_status >= 500:
        return VendorUnavailable(vendor, code, message, request_id)
    if code in _REFUSED:
        return VendorRefused(vendor, code, message, request_id)
    if code.startswith(("MissingParameter", "InvalidParameter", "isv.")):
        return VendorValidationError(vendor, code, message, request_id)
    return VendorRefused(vendor, code, message, request_id)


class _AlibabaCore(ClientCore):
    vendor = "aliyun"
    needs_url = False
    default_endpoint = "https://dyvmsapi.aliyuncs.com"
    credentials_name = "alibaba"
    LIMIT: ClassVar[str] = "aliyun"

    @classmethod
    def sandbox_options(cls, root: str) -> dict[str, Any]:
        """The sandbox serves the upload host under its ``/aliyun`` prefix too."""
        return {"upload_endpoint": sandbox_url(root, cls.vendor)}

    def __init__(
        self,
        *,
        upload_endpoint: str | None = None,
        signature: str = "rpc",
        business_type: int = 0,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        upload_endpoint = upload_endpoint or UPLOAD_ENDPOINT
        if urlparse(upload_endpoint).scheme not in ("http", "https"):
            raise ConfigurationError(
                f"the Alibaba upload endpoint {upload_endpoint!r} is not an http(s) URL; "
                f"pass --upload-endpoint like {UPLOAD_ENDPOINT}"
            )
        self.upload_endpoint = upload_endpoint.rstrip("/")
        creds = self.credentials
        if signature == "rpc":
            self._auth: httpx.Auth = RpcAuth(
                creds.key_id, creds.secret, creds.token, clock=self.clock
            )
        elif signature == "acs3":
            self._auth = ACS3Auth(creds.key_id, creds.secret, creds.token, clock=self.clock)
        else:
            raise ConfigurationError(
                f"Alibaba signature must be 'rpc' or 'acs3', not {signature!r}"
            )
        self.signature = signature
        self.business_type = business_type
        self._token: str | None = None
        self._token_expires = 0.0

    # --- RPC ----------------------------------------------------------------------------

    def call(self, action: str, params: dict[str, str]) -> Call:
        """A signed RPC POST: parameters in the query, empty body (as the SDK sends it)."""
        url = self.endpoint + "/"
        if self.signature == "rpc":
            query = {"Action": action, "Version": API_VERSION, **params}
            headers: dict[str, str] = {}
        else:
            query = dict(params)
            headers = {"x-acs-action": action, "x-acs-version": API_VERSION}

        def build() -> httpx.Request:
            return httpx.Request("POST", url, params=query, headers=headers)

        return Call(build, partial(self.parse, action), self._auth, self.LIMIT, True, action)

    def parse(self, action: str, response: httpx.Response) -> dict[str, Any]:
        data = json_object(response, self.vendor, action)
        code = str(data.get("Code", "OK" if response.is_success else f"HTTP{response.status_code}"))
        if code != "OK" or not response.is_success:
            raise alibaba_error(
                self.vendor,
                code,
                str(data.get("Message", "")),
                data.get("RequestId"),
                http_status=response.status_code,
            )
        return data

    def token_flow(self, *, renew: bool = False) -> Flow[str]:
        """A valid upload token, fetched with `GetToken` when missing or about to expire."""
        now = self.clock()
        if renew or self._token is None or now > self._token_expires - TOKEN_MARGIN_S:
            data = yield self.call("GetToken", {"TokenType": "dyvms"})
            token = data.get("Token")
            if not isinstance(token, str) or not token:
                raise VendorRefused(
                    self.vendor,
                    "NoToken",
                    "GetToken answered without a Token",
                    data.get("RequestId"),
                )
            self._token, self._token_expires = token, now + TOKEN_LIFETIME_S
        assert self._token is not None
        return self._token

    # --- upload -------------------------------------------------------------------------

    def upload_call(self, filename: str, content: bytes, token: str) -> Call:
        url = f"{self.upload_endpoint}/dyvms/upload"
        headers = {"authorization": token, "Content-Type": "application/octet-stream"}

        def build() -> httpx.Request:
            return httpx.Request(
                "POST", url, params={"filename": filename}, content=content, headers=headers
            )

        # No API finds an upload again: never resend one that may have arrived.
        return Call(build, self.parse_upload, None, self.LIMIT, True, "voice-file upload", False)

    def parse_upload(self, response: httpx.Response) -> dict[str, Any]:
        data = json_object(response, self.vendor, "voice-file upload")
        code = str(data.get("code", f"HTTP{response.status_code}"))
        if response.status_code in (401, 403):
            raise VendorAuthError(
                self.vendor, code, "the upload host refused the token; get a new one"
            )
        if code != "OK" or not response.is_success:
            raise alibaba_error(
                self.vendor, code, str(data.get("msg", "")), None, http_status=response.status_code
            )
        voice = (data.get("data") or {}).get("voiceCode")
        if not voice:
            raise VendorRefused(self.vendor, "NoVoiceCode", "upload answered without a voiceCode")
        return data

    def check(self, item: UploadItem) -> tuple[str, bytes]:
        """Validate ``item``; returns the filename to send and the bytes."""
        ext = file_extension(self.vendor, item.path, ("wav", "mp3"), what="voice-file upload")
        content = file_bytes(self.vendor, item.path, max_bytes=MAX_BYTES, what="voice-file upload")
        if not item.name or any(c in item.name for c in "/\\?#&%"):
            raise VendorValidationError(
                self.vendor,
                "LocalValidation",
                f"file name {item.name!r} must be non-empty, without / \\ ? # & %; "
                "rename the output",
                field="filename",
            )
        return f"{item.name}.{ext}", content

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        filename, content = self.check(item)
        token = yield from self.token_flow()
        try:
            data = yield self.upload_call(filename, content, token)
        except VendorAuthError:
            token = yield from self.token_flow(renew=True)
            data = yield self.upload_call(filename, content, token)
        voice = str(data["data"]["voiceCode"])
        return self.receipt(
            item,
            remote_id=voice,
            status="submitted",
            request_id=None,
            detail={"filename": filename},
        )

    def poll_flow(self, receipt: Receipt) -> Flow[Receipt]:
        if receipt.remote_id is None:
            return receipt
        params = {"VoiceCodes": receipt.remote_id, "BusinessType": str(self.business_type)}
        data = yield self.call("QueryVoiceFileAuditInfo", params)
        rows = data.get("Data") or []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("VoiceCode") == receipt.remote_id:
                state = str(row.get("AuditState", ""))
                receipt.status = _AUDIT.get(state, "submitted")
                receipt.detail = {**receipt.detail, "audit_state": state}
                receipt.detail.pop("message", None)
                if state in _AUDIT_NOTES:
                    receipt.detail["message"] = _AUDIT_NOTES[state]
                if row.get("RejectInfo"):
                    receipt.detail["reject_info"] = row["RejectInfo"]
        receipt.request_id = data.get("RequestId") or receipt.request_id
        receipt.at = self.clock()
        return receipt

    # --- IvrCall --------------------------------------------------------------------------

    def ivr_call_flow(
        self, request: dict[str, Any], *, templates: dict[str, str] | None = None
    ) -> Flow[dict[str, Any]]:
        """Place one IVR call after checking it (stages.ivr); returns ``{CallId, RequestId}``."""
        from stages.ivr import check_ivr_call

        verdict = check_ivr_call(request, templates=templates)
        if not verdict.ok:
            raise VendorValidationError(self.vendor, "LocalValidation", verdict.format())
        params: dict[str, str] = {}
        for key, value in request.items():
            if key == "MenuKeyMap" and isinstance(value, list):
                for n, entry in enumerate(value, start=1):
                    for sub, sub_value in entry.items():
                        params[f"MenuKeyMap.{n}.{sub}"] = _text(sub_value)
            else:
                params[key] = _text(value)
        data = yield self.call("IvrCall", params)
        return {"CallId": data.get("CallId"), "RequestId": data.get("RequestId")}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AlibabaClient(_AlibabaCore, SyncClient):
    """Uploads voice files to Alibaba Cloud dyvms and places IVR calls (sync)."""

    def ivr_call(
        self, request: dict[str, Any], *, templates: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Place one IVR call after checking it; returns ``{CallId, RequestId}``."""
        return self.run(self.ivr_call_flow(request, templates=templates))


class AsyncAlibabaClient(_AlibabaCore, AsyncClient):
    """Uploads voice files to Alibaba Cloud dyvms and places IVR calls (async)."""

    async def ivr_call(
        self, request: dict[str, Any], *, templates: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Place one IVR call after checking it; returns ``{CallId, RequestId}``."""
        return await self.run(self.ivr_call_flow(request, templates=templates))

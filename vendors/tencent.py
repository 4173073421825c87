"""Tencent Cloud API 3.0 clients: CCC `UploadIvrAudio` and VOD `CreateAigcCustomVoice`.

Both POST JSON signed with TC3-HMAC-SHA256 and answer in the ``{"Response": ...}``
envelope (VENDORS.md §1). CCC takes a URL per file, at most 1 request/s and 50 files
a day (counted in the run journal, one reservation per file); its review outcome is
polled with `DescribeIvrAudioList`. CustomFileName is only an alias, so before the
first upload the client notes the newest FileId of that name; a retry or a resumed run
adopts only a file newer than that. A resumed item whose earlier attempt recorded no
progress (voiceprep 0.3.6 or older, or one stopped before its first look) is sent only
when CCC holds no file of that name, else its outcome is unknown.
VOD takes a URL of 5–30 s of one clean voice; a `SessionId` derived from the file's
content makes the vendor refuse a second task for the same file, so retries and resumed
runs cannot create duplicates; `DescribeTaskDetail` follows the task. When the vendor
refuses a repeat, the client follows the first task: by the TaskId noted when its answer
arrived, or, if that answer was lost, by finding the SessionId among the completion
events (`PullEvents`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Final
from urllib.parse import urlparse

import httpx

from pipeline.errors import ConfigurationError, VendorError
from pipeline.journal import JOURNAL_NAME, content_hash
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
)
from vendors.errors import (
    VendorAuthError,
    VendorOutcomeUnknown,
    VendorQuotaExceeded,
    VendorRateLimited,
    VendorRefused,
    VendorUnavailable,
    VendorValidationError,
)
from vendors.limits import DailyQuota
from vendors.signing import TC3Auth

__all__ = [
    "AsyncTencentCccClient",
    "AsyncTencentVodClient",
    "TencentCccClient",
    "TencentVodClient",
    "tencent_error",
]

CCC_MAX_BYTES: Final = 5 * 1024 * 1024
CCC_DAILY_FILES: Final = 50
CCC_NAME_MAX: Final = 64
VOD_NAME_MAX: Final = 20
VOD_SESSION_MAX: Final = 50
VOD_MIN_S, VOD_MAX_S = 5.0, 30.0

CCC_MAX_PAGES: Final = 100
_CCC_STATUS: Final = {0: "submitted", 1: "approved", 2: "rejected"}
_AUTH_CODES: Final = ("AuthFailure", "UnauthorizedOperation")
_VALIDATION_CODES: Final = (
    "InvalidParameter",
    "MissingParameter",
    "UnknownParameter",
    "InvalidAction",
    "NoSuchVersion",
    "RequestSizeLimitExceeded",
)


def tencent_error(vendor: str, code: str, message: str, request_id: str | None) -> VendorError:
    """The typed error for a Tencent ``Response.Error`` code."""
    head = code.split(".", 1)[0]
    if head in _AUTH_CODES:
        return VendorAuthError(vendor, code, message, request_id)
    if head == "RequestLimitExceeded":
        return VendorRateLimited(vendor, code, message, request_id)
    if head == "InternalError":
        return VendorUnavailable(vendor, code, message, request_id)
    if code == "FailedOperation.UploadFileOverflow" or head == "LimitExceeded":
        return VendorQuotaExceeded(vendor, code, message, request_id)
    if code.startswith(_VALIDATION_CODES):
        return VendorValidationError(vendor, code, message, request_id)
    return VendorRefused(vendor, code, message, request_id)


_LOST_TASK: Final = (
    "an earlier attempt created this voice task (SessionId {session}) but its answer, with "
    "the TaskId, was lost; `voiceprep upload` looks for the task among VOD's completion "
    "events (PullEvents) each time it polls. If it never shows up (events consumed "
    "elsewhere, or normal callbacks only), find the task with this SessionId in the VOD "
    "console's task list; it was billed, do not create it again"
)


def _file_id(info: dict[str, Any]) -> int:
    try:
        return int(info.get("FileId") or 0)
    except (TypeError, ValueError):
        return 0


def _int_option(value: int | str | None, env: str, what: str) -> int | None:
    raw = value if value is not None else os.environ.get(env) or None
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} must be an integer, got {raw!r}") from None


class _TencentCore(ClientCore):
    """TC3 signing and the Response envelope, shared by CCC and VOD."""

    credentials_name = "tencent"
    service: ClassVar[str]
    api_version: ClassVar[str]

    def __init__(self, **core: Any) -> None:
        super().__init__(**core)
        creds = self.credentials
        self._auth = TC3Auth(
            creds.key_id, creds.secret, self.service, creds.token, clock=self.clock
        )

    def call(self, action: str, payload: dict[str, Any], *, limit: str, retry: bool = True) -> Call:
        """A signed POST of ``payload`` to ``action``."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        url = self.endpoint + "/"
        headers = {
            "Content-Type": "application/json",
            "X-TC-Action": action,
            "X-TC-Version": self.api_version,
        }

        def build() -> httpx.Request:
            return httpx.Request("POST", url, content=body, headers=headers)

        return Call(build, partial(self.parse, action), self._auth, limit, retry, action)

    def parse(self, action: str, response: httpx.Response) -> dict[str, Any]:
        """``Response`` of a Tencent answer, or the typed error it carries."""
        data = json_object(response, self.vendor, action)
        body = data.get("Response")
        if not isinstance(body, dict):
            if response.status_code >= 500:
                raise VendorUnavailable(
                    self.vendor, f"HTTP{response.status_code}", f"{action}: server error"
                )
            raise VendorRefused(
                self.vendor, "BadEnvelope", f"{action}: answer has no Response object"
            )
        request_id = body.get("RequestId")
        error = body.get("Error")
        if isinstance(error, dict):
            raise tencent_error(
                self.vendor,
                str(error.get("Code", "UnknownError")),
                str(error.get("Message", "")),
                request_id,
            )
        if response.status_code >= 500:
            raise VendorUnavailable(
                self.vendor, f"HTTP{response.status_code}", f"{action}: server error", request_id
            )
        return body

    def invalid(self, field: str, message: str) -> VendorValidationError:
        return VendorValidationError(self.vendor, "LocalValidation", message, field=field)

    def require_url(self, item: UploadItem, what: str) -> str:
        url = item.url
        if not url or urlparse(url).scheme not in ("http", "https"):
            raise self.invalid(
                "url",
                f"{what} takes a URL, not bytes: {item.name!r} has no http(s) URL; "
                "publish the outputs first (publish stage, or serve them locally for the sandbox)",
            )
        return url


# --- CCC ------------------------------------------------------------------------------------


class _CccCore(_TencentCore):
    vendor = "tencent-ccc"
    needs_url = True
    default_endpoint = "https://ccc.tencentcloudapi.com"
    service = "ccc"
    api_version = "2020-02-10"
    UPLOAD_LIMIT: ClassVar[str] = "tencent-ccc.UploadIvrAudio"
    LIST_LIMIT: ClassVar[str] = "tencent-ccc.DescribeIvrAudioList"

    def __init__(
        self,
        *,
        sdk_app_id: int | str | None = None,
        daily_quota: int = CCC_DAILY_FILES,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        app_id = _int_option(sdk_app_id, "TENCENTCLOUD_CCC_SDKAPPID", "CCC SdkAppId")
        if app_id is None:
            raise ConfigurationError(
                "CCC needs its SdkAppId: pass sdk_app_id (--sdk-app-id) or set "
                "TENCENTCLOUD_CCC_SDKAPPID"
            )
        self.sdk_app_id = app_id
        db = None if self.state_dir is None else os.path.join(self.state_dir, JOURNAL_NAME)
        self.quota = DailyQuota(
            self.vendor,
            limit_per_day=daily_quota,
            db_path=db,
            clock=self.clock,
            scope=self.target,  # a sandbox rehearsal does not use up the real cloud's day
        )

    def account(self) -> str | None:
        return f"SdkAppId={self.sdk_app_id}"

    def check(self, item: UploadItem) -> str:
        """Validate ``item`` for UploadIvrAudio; returns its URL."""
        name = item.name
        if not name or len(name) > CCC_NAME_MAX or any(c in name for c in "/\\"):
            raise self.invalid(
                "CustomFileName",
                f"CustomFileName {name!r} must be 1–{CCC_NAME_MAX} characters without / or \\; "
                "rename the output",
            )
        file_extension(self.vendor, item.path, ("wav", "mp3"), what="UploadIvrAudio")
        file_bytes(self.vendor, item.path, max_bytes=CCC_MAX_BYTES, what="UploadIvrAudio")
        return self.require_url(item, "UploadIvrAudio")

    def _receipt(self, item: UploadItem, info: dict[str, Any], request_id: str | None,
                 *, status: str | None = None) -> Receipt:  # fmt: skip
        review = info.get("Status")
        return self.receipt(
            item,
            remote_id=None if info.get("FileId") is None else str(info["FileId"]),
            status=status
            or _CCC_STATUS.get(review if isinstance(review, int) else -1, "submitted"),
            request_id=request_id,
            detail={
                "custom_file_name": info.get("CustomFileName", item.name),
                "audio_file_name": info.get("AudioFileName"),
                "review_status": review,
            },
        )

    def files_flow(self, name: str) -> Flow[tuple[list[dict[str, Any]], str | None]]:
        """Every file called ``name`` on CCC (all pages), with the last list's request id."""
        found: list[dict[str, Any]] = []
        request_id = None
        for page in range(CCC_MAX_PAGES):
            payload = {
                "SdkAppId": self.sdk_app_id,
                "PageSize": 50,
                "PageNumber": page,
                "CustomFileName": [name],
            }
            body = yield self.call("DescribeIvrAudioList", payload, limit=self.LIST_LIMIT)
            request_id = body.get("RequestId")
            infos = [i for i in body.get("FileInfo") or [] if isinstance(i, dict)]
            found += [i for i in infos if i.get("CustomFileName") == name]
            total = body.get("TotalCount")
            if len(infos) < 50 or not isinstance(total, int) or (page + 1) * 50 >= total:
                break
        return found, request_id

    def newest_id_flow(self, name: str) -> Flow[int]:
        """The highest FileId of a file called ``name`` on CCC now (0: none)."""
        files, _ = yield from self.files_flow(name)
        return max((_file_id(f) for f in files), default=0)

    def find_flow(
        self, name: str, newer_than: int
    ) -> Flow[tuple[dict[str, Any] | None, str | None]]:
        """The first file called ``name`` with a FileId above ``newer_than`` (one our own
        earlier attempt may have created), with the list's request id.

        CustomFileName is only a display alias (duplicates allowed, §2): a file of the
        same name from before the first attempt is someone else's, never adopted.
        """
        files, request_id = yield from self.files_flow(name)
        newer = [f for f in files if _file_id(f) > newer_than]
        return min(newer, key=_file_id, default=None), request_id

    def lookup_flow(
        self, name: str, newer_than: int
    ) -> Flow[tuple[dict[str, Any] | None, str | None]]:
        """`find_flow` after an upload that may have landed: if the list itself fails, the
        error says so (maybe delivered), so the item is reconciled again, never resent blind.
        """
        try:
            return (yield from self.find_flow(name, newer_than))
        except (VendorUnavailable, VendorRateLimited, VendorRefused) as exc:
            raise self._look_failed(name, exc) from None

    def _look_failed(self, name: str, exc: VendorError) -> VendorUnavailable:
        """The error of a failed look for an upload that may have landed: maybe delivered,
        so the item is reconciled again on the next run, never resent blind."""
        return VendorUnavailable(
            self.vendor,
            exc.code,
            f"an upload of {name!r} may have reached CCC, and looking for it failed "
            f"({exc.message}); run the upload again to look again",
            exc.request_id,
            maybe_delivered=True,
        )

    def unnoted_flow(self, item: UploadItem) -> Flow[int]:
        """The first look for a resumed item whose earlier attempt recorded no progress
        (voiceprep 0.3.6 or older, or one stopped before its first look): 0 when CCC holds
        no file of that name, so nothing landed and sending is safe.

        A file of that name may be that attempt's upload or someone else's (CustomFileName
        is only an alias, §2), and nothing tells which: adopting could take a wrong file
        and sending could make a second copy, so the outcome is unknown until the user
        checks (`VendorOutcomeUnknown`).
        """
        try:
            files, request_id = yield from self.files_flow(item.name)
        except (VendorUnavailable, VendorRateLimited, VendorRefused) as exc:
            raise self._look_failed(item.name, exc) from None
        if not files:
            return 0
        ids = ", ".join(str(i) for i in sorted(_file_id(f) for f in files))
        raise VendorOutcomeUnknown(
            self.vendor,
            VendorOutcomeUnknown.CODE,
            f"an earlier upload of {item.name!r} was cut off before it recorded any "
            "progress (voiceprep 0.3.6 or older, or one stopped before its first look), "
            f"and CCC holds {len(files)} file(s) of that name (FileId {ids}); nothing "
            "tells whether one is this output. Check them on the CCC console "
            f"(SdkAppId {self.sdk_app_id}): if none is, run the upload again with "
            "--retry-unknown to send it; if one is, it is already there (delete it first "
            "if you want --retry-unknown to send a fresh copy)",
            request_id,
        )

    def _adopted(self, item: UploadItem, info: dict[str, Any], rid: str | None) -> Receipt:
        """The receipt of a file an earlier attempt created: polled like a new upload."""
        self.quota.consume(key=item.name)
        receipt = self._receipt(item, info, rid)
        receipt.detail["adopted"] = True
        return receipt

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        url = self.check(item)
        noted = item.progress.get("ccc_newest_before") if item.resumed else None
        before = noted
        if item.resumed and not item.notes_kept:
            # An earlier attempt that recorded no progress: it may have uploaded anyway.
            before = yield from self.unnoted_flow(item)
        elif isinstance(before, int):
            # An earlier attempt got as far as the upload: look before sending again.
            found, request_id = yield from self.lookup_flow(item.name, before)
            if found is not None:
                return self._adopted(item, found, request_id)
        self.quota.reserve(key=item.name)  # first: a used-up day sends nothing at all
        if not isinstance(before, int):
            try:
                before = yield from self.newest_id_flow(item.name)
            except VendorError:
                self.quota.release(key=item.name)
                raise
        if before != noted:
            item.note(ccc_newest_before=before)
        payload = {
            "SdkAppId": self.sdk_app_id,
            "AudioList": [{"CustomFileName": item.name, "AudioUrl": url}],
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                body = yield self.call(
                    "UploadIvrAudio", payload, limit=self.UPLOAD_LIMIT, retry=False
                )
                break
            except VendorQuotaExceeded:
                self.quota.release(key=item.name)
                self.quota.exhaust()
                raise
            except VendorError as exc:
                maybe_delivered = isinstance(exc, VendorUnavailable) and exc.maybe_delivered
                if not self.retry_policy.should_retry(exc, attempt=attempt):
                    if not maybe_delivered:  # surely not taken: give the file back
                        self.quota.release(key=item.name)
                    raise
                if maybe_delivered:
                    # Not idempotent: look before sending again.
                    found, request_id = yield from self.lookup_flow(item.name, before)
                    if found is not None:
                        return self._adopted(item, found, request_id)
                yield self.retry_policy.delay_s(attempt, exc)
        return self._upload_result(item, body)

    def _upload_result(self, item: UploadItem, body: dict[str, Any]) -> Receipt:
        """Read both lists: a 'successful' request can still have refused our file."""
        request_id = body.get("RequestId")
        succeeded = [s for s in body.get("SuccessFileList") or [] if isinstance(s, dict)]
        failed = [f for f in body.get("FailedFileList") or [] if isinstance(f, dict)]
        for info in succeeded:
            if info.get("CustomFileName") in (item.name, None) or len(succeeded) == 1:
                self.quota.consume(key=item.name)
                return self._receipt(item, info, request_id)
        self.quota.release(key=item.name)
        if failed:
            reason = str(failed[0].get("FailedMsg") or "no reason given")
            return self.receipt(
                item,
                remote_id=None,
                status="failed",
                request_id=request_id,
                detail={"file_name": failed[0].get("FileName"), "message": reason},
            )
        raise VendorRefused(
            self.vendor,
            "EmptyResult",
            "UploadIvrAudio answered with neither SuccessFileList nor FailedFileList; "
            "check the file on the CCC console before uploading again",
            request_id,
        )

    def poll_flow(self, receipt: Receipt) -> Flow[Receipt]:
        if receipt.remote_id is None:
            return receipt
        payload = {
            "SdkAppId": self.sdk_app_id,
            "PageSize": 50,
            "PageNumber": 0,
            "FileId": [int(receipt.remote_id)],
        }
        body = yield self.call("DescribeIvrAudioList", payload, limit=self.LIST_LIMIT)
        for info in body.get("FileInfo") or []:
            if isinstance(info, dict) and str(info.get("FileId")) == receipt.remote_id:
                review = info.get("Status")
                receipt.status = _CCC_STATUS.get(
                    review if isinstance(review, int) else -1, receipt.status
                )
                receipt.detail = {**receipt.detail, "review_status": review}
                receipt.request_id = body.get("RequestId") or receipt.request_id
                receipt.at = self.clock()
        return receipt


class TencentCccClient(_CccCore, SyncClient):
    """Uploads IVR audio to Tencent Cloud Contact Center (sync)."""


class AsyncTencentCccClient(_CccCore, AsyncClient):
    """Uploads IVR audio to Tencent Cloud Contact Center (async)."""


# --- VOD ------------------------------------------------------------------------------------


def audio_duration_s(path: str) -> float | None:
    """Duration of a file libsndfile can read, or None (mp3 on old libsndfile, mp4, mov)."""
    import soundfile

    try:
        info = soundfile.info(path)
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None
    return float(info.frames) / float(info.samplerate) if info.samplerate else None


class _VodCore(_TencentCore):
    vendor = "tencent-vod"
    needs_url = True
    default_endpoint = "https://vod.tencentcloudapi.com"
    service = "vod"
    api_version = "2018-07-17"
    LIMIT: ClassVar[str] = "tencent-vod"

    def __init__(
        self,
        *,
        sub_app_id: int | str | None = None,
        session_context: str | None = None,
        tasks_priority: int | None = None,
        duration_s: Callable[[str], float | None] = audio_duration_s,
        **core: Any,
    ) -> None:
        super().__init__(**core)
        self.sub_app_id = _int_option(sub_app_id, "TENCENTCLOUD_VOD_SUBAPPID", "VOD SubAppId")
        if session_context is not None and len(session_context) > 1000:
            raise ConfigurationError("VOD SessionContext is limited to 1000 characters")
        if tasks_priority is not None and not -10 <= tasks_priority <= 10:
            raise ConfigurationError("VOD TasksPriority must be within -10..10")
        self.session_context = session_context
        self.tasks_priority = tasks_priority
        self.duration_s = duration_s

    def account(self) -> str | None:
        return None if self.sub_app_id is None else f"SubAppId={self.sub_app_id}"

    def session_id(self, item: UploadItem) -> str:
        """The dedup key: the same file, name and sub-app always give the same SessionId."""
        seed = f"{content_hash(item.path)}|{item.name}|{self.sub_app_id}".encode()
        return "vp-" + hashlib.blake2b(seed, digest_size=20).hexdigest()

    def check(self, item: UploadItem) -> str:
        """Validate ``item`` for CreateAigcCustomVoice; returns its URL."""
        if not item.name or len(item.name) > VOD_NAME_MAX:
            raise self.invalid(
                "VoiceName",
                f"VoiceName {item.name!r} must be 1–{VOD_NAME_MAX} characters; rename the output",
            )
        file_extension(
            self.vendor, item.path, ("wav", "mp3", "mp4", "mov"), what="CreateAigcCustomVoice"
        )
        if not os.path.isfile(item.path):
            raise self.invalid("file", f"cannot read {item.path!r}; run `voiceprep run` first")
        duration = self.duration_s(item.path)
        if duration is not None and not VOD_MIN_S <= duration <= VOD_MAX_S:
            raise self.invalid(
                "VoiceUrl",
                f"{item.name!r} lasts {duration:.1f} s; voice cloning takes {VOD_MIN_S:.0f}–"
                f"{VOD_MAX_S:.0f} s of one clean voice; trim or re-record it",
            )
        return self.require_url(item, "CreateAigcCustomVoice")

    def upload_flow(self, item: UploadItem) -> Flow[Receipt]:
        url = self.check(item)
        session = self.session_id(item)
        payload: dict[str, Any] = {"VoiceName": item.name, "VoiceUrl": url, "SessionId": session}
        if self.sub_app_id is not None:
            payload["SubAppId"] = self.sub_app_id
        if self.session_context is not None:
            payload["SessionContext"] = self.session_context
        if self.tasks_priority is not None:
            payload["TasksPriority"] = self.tasks_priority
        try:
            body = yield self.call("CreateAigcCustomVoice", payload, limit=self.LIMIT)
        except VendorValidationError as exc:
            if exc.code != "InvalidParameterValue.SessionId":
                raise
            # An earlier attempt (a retry, a killed run) already created - and billed - this
            # task: follow that one. Its TaskId is in the notes unless its answer was lost.
            known = item.progress.get("vod_task_id") if item.resumed else None
            detail: dict[str, Any] = {"session_id": session}
            if not known:
                detail.update(recover="PullEvents", message=_LOST_TASK.format(session=session))
            return self.receipt(
                item,
                remote_id=str(known) if known else None,
                status="submitted",
                request_id=exc.request_id,
                detail=detail,
            )
        task_id = str(body.get("TaskId") or "") or None
        if task_id is not None:
            item.note(vod_task_id=task_id)
        return self.receipt(
            item,
            remote_id=task_id,
            status="submitted",
            request_id=body.get("RequestId"),
            detail={"session_id": session},
        )

    def find_task_flow(self, session: str) -> Flow[str | None]:
        """The TaskId of our task with ``session`` among VOD's completion events, or None.

        `PullEvents` (reliable callback, §6) returns finished tasks with their SessionId.
        The events are not confirmed: VOD hands them out again after 30 s, so another
        consumer of the account's events still gets every one.
        """
        payload: dict[str, Any] = {}
        if self.sub_app_id is not None:
            payload["SubAppId"] = self.sub_app_id
        body = yield self.call("PullEvents", payload, limit=self.LIMIT)
        for event in body.get("EventSet") or []:
            task = (
                event.get("CreateAigcCustomVoiceCompleteEvent") if isinstance(event, dict) else None
            )
            if isinstance(task, dict) and task.get("SessionId") == session and task.get("TaskId"):
                return str(task["TaskId"])
        return None

    def poll_flow(self, receipt: Receipt) -> Flow[Receipt]:
        if receipt.remote_id is None:
            session = receipt.detail.get("session_id")
            if receipt.detail.get("recover") != "PullEvents" or not session:
                return receipt
            found = yield from self.find_task_flow(str(session))
            receipt.at = self.clock()
            if found is None:
                return receipt  # not finished yet, or not in this account's events: ask again
            receipt.remote_id = found
            receipt.detail = {
                **{k: v for k, v in receipt.detail.items() if k not in ("recover", "message")},
                "recovered_by": "PullEvents",
            }
        payload: dict[str, Any] = {"TaskId": receipt.remote_id}
        if self.sub_app_id is not None:
            payload["SubAppId"] = self.sub_app_id
        body = yield self.call("DescribeTaskDetail", payload, limit=self.LIMIT)
        task = body.get("CreateAigcCustomVoiceTask") or {}
        state = str(body.get("Status") or task.get("Status") or "")
        detail = {**receipt.detail, "task_status": state, "progress": task.get("Progress")}
        if state in ("FINISH", "ABORTED"):
            ok = state == "FINISH" and task.get("ErrCode", 0) == 0 and not task.get("ErrCodeExt")
            infos = (task.get("Output") or {}).get("InfoList") or []
            if ok and infos:
                detail["voice_id"] = infos[0].get("VoiceId")
            if not ok:
                detail["error"] = task.get("ErrCodeExt") or task.get("Message") or state
            receipt.status = "approved" if ok else "rejected"
        receipt.detail = detail
        receipt.request_id = body.get("RequestId") or receipt.request_id
        receipt.at = self.clock()
        return receipt


class TencentVodClient(_VodCore, SyncClient):
    """Creates AIGC custom voices on Tencent Cloud VOD (sync)."""


class AsyncTencentVodClient(_VodCore, AsyncClient):
    """Creates AIGC custom voices on Tencent Cloud VOD (async)."""

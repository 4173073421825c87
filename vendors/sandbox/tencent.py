"""Tencent Cloud API 3.0 as the sandbox serves it: CCC (`UploadIvrAudio`,
`DescribeIvrAudioList`) and VOD (`CreateAigcCustomVoice`, `DescribeTaskDetail`,
`PullEvents`, `ConfirmEvents`), all POSTed to one path and told apart by X-TC-Action.

Order of checks, as Tencent's gateway: method, size and Content-Type (POST JSON or GET
form-urlencoded, §1) → action/version → TC3 signature (skew before signature) →
per-action rate limit → parameters → the action. Every answer is HTTP 200 with the
``{"Response": ...}`` envelope (VENDORS.md §1).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vendors.sandbox.audio import FetchError, check_audio, fetch_audio, inspect_audio
from vendors.sandbox.common import (
    FieldError,
    count_request,
    request_parts,
    sandbox_state,
    want_int,
    want_str,
)
from vendors.sandbox.state import CccFile, Review, SandboxState, VodTask, request_id
from vendors.signing import RequestParts, verify_tc3

__all__ = ["TencentError", "fault_response", "handle"]

CCC_VERSION, VOD_VERSION = "2020-02-10", "2018-07-17"
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_GET_BYTES = 32 * 1024
CCC_MAX_FILE_BYTES = 5 * 1024 * 1024
CCC_NAME_MAX = 64
VOD_SESSION_WINDOW_S = 3 * 86400.0
VOD_EVENT_CONFIRM_S = 30.0
_INTEGER = re.compile(r"-?[0-9]+")


class TencentError(Exception):
    """Answered as ``Response.Error`` with Tencent's ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def envelope(data: dict[str, Any], rid: str) -> JSONResponse:
    return JSONResponse({"Response": {**data, "RequestId": rid}})


def error(code: str, message: str, rid: str) -> JSONResponse:
    return JSONResponse(
        {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}}
    )


def fault_response(kind: str) -> Response:
    """An injected fault as Tencent answers it (``error`` or ``throttle``)."""
    if kind == "throttle":
        return error(
            "RequestLimitExceeded", "request rate limit exceeded (sandbox fault)", request_id()
        )
    return error("InternalError", "internal error (sandbox fault)", request_id())


Handler = Callable[[SandboxState, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Action:
    service: str
    version: str
    bucket: str
    params: frozenset[str]
    handler: Handler


def _field_error(exc: FieldError, action: str) -> TencentError:
    if exc.kind == "missing":
        return TencentError("MissingParameter", f"{action}: {exc.message}")
    return TencentError("InvalidParameterValue", f"{action}: {exc.message}")


# --- CCC -------------------------------------------------------------------------------------


async def upload_ivr_audio(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    app_id = want_int(params, "SdkAppId", low=1)
    assert app_id is not None
    audio = params.get("AudioList")
    if not isinstance(audio, list) or not audio:
        raise FieldError(
            "AudioList",
            "missing" if audio is None else "invalid",
            "AudioList must be a non-empty array of UploadAudioInfo",
        )
    items: list[tuple[str, str]] = []
    for n, entry in enumerate(audio):
        if not isinstance(entry, dict):
            raise FieldError("AudioList", "invalid", f"AudioList[{n}] must be an object")
        unknown = set(entry) - {"CustomFileName", "AudioUrl"}
        if unknown:
            raise TencentError(
                "UnknownParameter", f"AudioList[{n}].{sorted(unknown)[0]} is not recognised"
            )
        name = want_str(entry, "CustomFileName", max_len=CCC_NAME_MAX)
        url = want_str(entry, "AudioUrl")
        assert name is not None and url is not None
        if not name or any(c in name for c in "/\\"):
            raise FieldError(
                "CustomFileName",
                "invalid",
                f"CustomFileName {name!r} must be non-empty without / or \\",
            )
        items.append((name, url))
    day = state.ccc_day()
    used = state.ccc_daily.get((app_id, day), 0)
    limit = state.config.ccc_daily_files
    if used + len(items) > limit:
        raise TencentError(
            "FailedOperation.UploadFileOverflow",
            f"daily upload limit of {limit} files reached for SdkAppId {app_id} "
            f"({used} uploaded on {day}, {len(items)} more asked); try again tomorrow",
        )
    timeout = state.config.fetch_timeout_s
    fetched = await asyncio.gather(
        *(_fetch_checked(url, timeout, CCC_MAX_FILE_BYTES, ("wav", "mp3")) for _, url in items)
    )
    succeeded: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    now = state.now()
    for (name, url), (problem, container) in zip(items, fetched, strict=True):
        if problem is not None:
            failed.append({"FileName": name, "FailedMsg": problem})
            continue
        file_id = next(state.ccc_ids)
        audio_name = f"{app_id}_{file_id}.{container}"
        state.ccc_files[file_id] = CccFile(file_id, app_id, name, audio_name, url, Review(now))
        succeeded.append(
            {"FileId": file_id, "CustomFileName": name, "AudioFileName": audio_name, "Status": 0}
        )
    state.ccc_daily[(app_id, day)] = used + len(succeeded)
    return {"FailedFileList": failed or None, "SuccessFileList": succeeded or None}


async def _fetch_checked(
    url: str, timeout_s: float, max_bytes: int, containers: tuple[str, ...]
) -> tuple[str | None, str | None]:
    """(problem, container): the problem is None when the file passes."""
    try:
        data = await fetch_audio(url, max_bytes=max_bytes, timeout_s=timeout_s)
    except FetchError as exc:
        return str(exc), None
    facts = await asyncio.to_thread(inspect_audio, data, filename=url.split("?", 1)[0])
    return check_audio(facts, containers=containers, max_bytes=max_bytes), facts.container


async def describe_ivr_audio_list(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    app_id = want_int(params, "SdkAppId", low=1)
    size = want_int(params, "PageSize", low=1, high=50)
    page = want_int(params, "PageNumber", low=0)
    assert size is not None and page is not None
    filters: dict[str, set[Any]] = {}
    for name, kind in (("CustomFileName", str), ("AudioFileName", str), ("FileId", int)):
        value = params.get(name)
        if value is not None:
            if not isinstance(value, list) or not all(
                isinstance(v, kind) and not isinstance(v, bool) for v in value
            ):
                what = "strings" if kind is str else "integers"
                raise FieldError(name, "invalid", f"{name} must be an array of {what}")
            filters[name] = set(value)
    files = [
        f
        for f in sorted(state.ccc_files.values(), key=lambda f: f.file_id)
        if f.sdk_app_id == app_id
        and f.custom_file_name in filters.get("CustomFileName", {f.custom_file_name})
        and f.audio_file_name in filters.get("AudioFileName", {f.audio_file_name})
        and f.file_id in filters.get("FileId", {f.file_id})
    ]
    shown = files[page * size : (page + 1) * size]
    now = state.now()
    info = []
    for f in shown:
        f.review.polls += 1
        info.append(
            {
                "FileId": f.file_id,
                "CustomFileName": f.custom_file_name,
                "AudioFileName": f.audio_file_name,
                "Status": f.status(now, state.config),
            }
        )
    return {"TotalCount": len(files), "FileInfo": info}


# --- VOD -------------------------------------------------------------------------------------


def _iso(t: float | None) -> str:
    if t is None:
        return ""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_aigc_custom_voice(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    sub_app = params.get("SubAppId")
    if sub_app is not None and (isinstance(sub_app, bool) or not isinstance(sub_app, int)):
        raise TencentError("InvalidParameterValue.SubAppId", "SubAppId must be an integer")
    name = want_str(params, "VoiceName", max_len=20)
    url = want_str(params, "VoiceUrl", required=False)
    video = want_str(params, "VideoId", required=False)
    if (url is None) == (video is None):
        raise TencentError("InvalidParameterValue", "give exactly one of VoiceUrl and VideoId")
    session = want_str(params, "SessionId", required=False) or ""
    if len(session) > 50:
        raise TencentError(
            "InvalidParameterValue.SessionIdTooLong", f"SessionId is {len(session)} chars, over 50"
        )
    context = want_str(params, "SessionContext", required=False) or ""
    if len(context) > 1000:
        raise TencentError(
            "InvalidParameterValue.SessionContextTooLong",
            f"SessionContext is {len(context)} chars, over 1000",
        )
    want_int(params, "TasksPriority", required=False, low=-10, high=10)
    moderation = params.get("DisableModeration")
    if moderation is not None and moderation not in ("True", "False"):
        raise FieldError("DisableModeration", "invalid", "DisableModeration is True or False")
    now = state.now()
    if session and now - state.vod_sessions.get(session, -1e18) < VOD_SESSION_WINDOW_S:
        raise TencentError(
            "InvalidParameterValue.SessionId",
            f"SessionId {session!r} was already used within 3 days; the task exists",
        )
    err_code, err_ext, message = 0, "", "SUCCESS"
    if url is not None:
        try:
            data = await fetch_audio(
                url, max_bytes=100 * 1024 * 1024, timeout_s=state.config.fetch_timeout_s
            )
        except FetchError as exc:
            raise TencentError("InvalidParameterValue.Url", str(exc)) from None
        facts = await asyncio.to_thread(inspect_audio, data, filename=url.split("?", 1)[0])
        problem = check_audio(facts, containers=("mp3", "wav", "mp4"), min_s=5.0, max_s=30.0)
        if problem is not None:
            err_code, err_ext, message = 40000, "InvalidInput", f"voice sample rejected: {problem}"
    assert name is not None
    task_id = f"221073-CreateAigcCustomVoice-{secrets.token_hex(16)}t"
    state.vod_tasks[task_id] = VodTask(
        task_id,
        sub_app,
        name,
        url,
        video,
        session,
        context,
        Review(now),
        err_code,
        err_ext,
        message,
    )
    if session:
        state.vod_sessions[session] = now
    return {"TaskId": task_id}


def _task_view(task: VodTask, state: SandboxState, status: str | None = None) -> dict[str, Any]:
    """The CreateAigcCustomVoiceTask object, in ``status`` (default: the state now)."""
    if status is None:
        status = task.state(state.now(), state.config)
    finished = status == "FINISH"
    step = state.config.review_after_s
    return {
        "TaskId": task.task_id,
        "Status": "FINISH" if finished else "PROCESSING",
        "ErrCode": task.err_code if finished else 0,
        "ErrCodeExt": task.err_code_ext if finished else "",
        "Message": task.message if finished else "",
        "Progress": 100 if finished else (50 if status == "PROCESSING" else 0),
        "Input": {
            "VoiceName": task.voice_name,
            "VoiceUrl": task.voice_url or "",
            "VideoId": task.video_id or "",
        },
        "Output": {
            "InfoList": [{"VoiceId": task.voice_id, "VoiceInfo": task.voice_name}]
            if finished and task.err_code == 0
            else []
        },
        "SessionId": task.session_id,
        "SessionContext": task.session_context,
        "_times": (task.review.created, task.review.created + step, task.review.created + 2 * step),
    }


async def describe_task_detail(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    task_id = want_str(params, "TaskId")
    want_int(params, "SubAppId", required=False)
    task = state.vod_tasks.get(task_id or "")
    if task is None:
        raise TencentError("InvalidParameterValue.TaskId", f"task {task_id!r} does not exist")
    # Read the state before this poll counts: the first answer after creation is WAITING.
    status = task.state(state.now(), state.config)
    task.review.polls += 1
    view = _task_view(task, state, status)
    created, begun, finished = view.pop("_times")
    return {
        "TaskType": "CreateAigcCustomVoice",
        "Status": status,
        "CreateTime": _iso(created),
        "BeginProcessTime": _iso(begun) if status != "WAITING" else "",
        "FinishTime": _iso(finished) if status == "FINISH" else "",
        "CreateAigcCustomVoiceTask": view,
    }


async def pull_events(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    want_int(params, "SubAppId", required=False)
    now = state.now()
    events = []
    for task in state.vod_tasks.values():
        if task.state(now, state.config) != "FINISH" or task.task_id in state.vod_confirmed:
            continue
        sent = state.vod_delivered.get(task.task_id)
        if sent is not None and now - sent < VOD_EVENT_CONFIRM_S:
            continue
        state.vod_delivered[task.task_id] = now
        view = _task_view(task, state)
        view.pop("_times")
        events.append(
            {
                "EventHandle": f"evt-{task.task_id}",
                "EventType": "CreateAigcCustomVoiceComplete",
                "CreateAigcCustomVoiceCompleteEvent": view,
            }
        )
    return {"EventSet": events}


async def confirm_events(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    handles = params.get("EventHandles")
    if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
        raise FieldError(
            "EventHandles",
            "missing" if handles is None else "invalid",
            "EventHandles must be an array of strings",
        )
    # A handle is known once PullEvents has handed it out; any unknown handle fails the
    # whole call (nothing is confirmed), as VOD's parameter check precedes the action.
    tasks = [h.removeprefix("evt-") if h.startswith("evt-") else "" for h in handles]
    for handle, task_id in zip(handles, tasks, strict=True):
        if task_id not in state.vod_delivered:
            raise TencentError(
                "InvalidParameterValue",
                f"ConfirmEvents: EventHandle {handle!r} does not exist (never delivered by "
                "PullEvents)",
            )
    state.vod_confirmed.update(tasks)
    return {}


ACTIONS: dict[str, Action] = {
    "UploadIvrAudio": Action(
        "ccc",
        CCC_VERSION,
        "tencent-ccc.UploadIvrAudio",
        frozenset({"SdkAppId", "AudioList"}),
        upload_ivr_audio,
    ),
    "DescribeIvrAudioList": Action(
        "ccc",
        CCC_VERSION,
        "tencent-ccc.DescribeIvrAudioList",
        frozenset(
            {"SdkAppId", "PageSize", "PageNumber", "CustomFileName", "AudioFileName", "FileId"}
        ),
        describe_ivr_audio_list,
    ),
    "CreateAigcCustomVoice": Action(
        "vod",
        VOD_VERSION,
        "tencent-vod.CreateAigcCustomVoice",
        frozenset(
            {
                "SubAppId",
                "VoiceName",
                "VoiceUrl",
                "VideoId",
                "DisableModeration",
                "SessionId",
                "SessionContext",
                "TasksPriority",
            }
        ),
        create_aigc_custom_voice,
    ),
    "DescribeTaskDetail": Action(
        "vod",
        VOD_VERSION,
        "tencent-vod.DescribeTaskDetail",
        frozenset({"TaskId", "SubAppId"}),
        describe_task_detail,
    ),
    "PullEvents": Action(
        "vod", VOD_VERSION, "tencent-vod.PullEvents", frozenset({"SubAppId"}), pull_events
    ),
    "ConfirmEvents": Action(
        "vod",
        VOD_VERSION,
        "tencent-vod.ConfirmEvents",
        frozenset({"EventHandles", "SubAppId"}),
        confirm_events,
    ),
}


# --- transport ---------------------------------------------------------------------------------

_MEDIA_TYPES = {"POST": "application/json", "GET": "application/x-www-form-urlencoded"}
_INT_FIELDS = frozenset(
    {"SdkAppId", "PageSize", "PageNumber", "FileId", "SubAppId", "TasksPriority"}
)
"""Integer parameters: a GET carries every value as text, the gateway types them."""


def _transport_problem(parts: RequestParts) -> tuple[str, str] | None:
    """(code, message) when method, size or Content-Type break §1; None when they fit."""
    media = _MEDIA_TYPES.get(parts.method)
    if media is None:
        return "InvalidParameter", f"{parts.method} is not served: use POST (JSON) or GET (form)"
    if parts.method == "POST" and len(parts.body) > MAX_BODY_BYTES:
        return "RequestSizeLimitExceeded", "request body is over 10 MB"
    if parts.method == "GET" and len(parts.query) > MAX_GET_BYTES:
        return "RequestSizeLimitExceeded", "GET query is over 32 KB"
    sent = parts.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if sent != media:
        return (
            "InvalidParameter",
            f"Content-Type {sent or '(none)'!r}: TC3 {parts.method} takes {media}",
        )
    return None


def form_params(query: str) -> dict[str, Any]:
    """A GET query as the JSON object it stands for: ``A.0.B=x`` → ``{"A": [{"B": "x"}]}``,
    integer parameters as integers."""
    root: dict[str, Any] = {}
    for key, text in parse_qsl(query, keep_blank_values=True):
        *path, last = key.split(".")
        named = next((p for p in reversed(key.split(".")) if not p.isdigit()), "")
        value: Any = int(text) if named in _INT_FIELDS and _INTEGER.fullmatch(text) else text
        node = root
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise TencentError("InvalidParameter", f"parameter {key!r} clashes with another")
        if last in node:
            raise TencentError("InvalidParameter", f"parameter {key!r} is given twice")
        node[last] = value
    nested: dict[str, Any] = _as_lists(root)
    return nested


def _as_lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _as_lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


async def handle(request: Request) -> Response:
    """Answer one Tencent Cloud API 3.0 request (any path under ``/tencent``, or ``/``)."""
    state = sandbox_state(request)
    count_request(state, "tencent")
    rid = request_id()
    parts = await request_parts(request)
    refused = _transport_problem(parts)
    if refused is not None:
        return error(*refused, rid)
    name = parts.headers.get("x-tc-action", "")
    if not name:
        return error("MissingParameter", "the X-TC-Action header is required", rid)
    action = ACTIONS.get(name)
    if action is None:
        return error("InvalidAction", f"action {name!r} does not exist", rid)
    version = parts.headers.get("x-tc-version", "")
    if version != action.version:
        return error(
            "NoSuchVersion", f"{name} is served at version {action.version}, not {version!r}", rid
        )
    verdict = verify_tc3(
        parts, state.config.tencent_keys.get, now=state.now(), service=action.service
    )
    if not verdict.ok:
        return error(str(verdict.code), verdict.message, rid)
    if not state.allow(action.bucket):
        return error("RequestLimitExceeded", f"{name}: request rate limit exceeded", rid)
    try:
        params = (
            form_params(parts.query) if parts.method == "GET" else json.loads(parts.body or b"{}")
        )
    except (ValueError, UnicodeDecodeError):
        return error("InvalidParameter", "the body is not JSON", rid)
    except TencentError as exc:
        return error(exc.code, exc.message, rid)
    if not isinstance(params, dict):
        return error("InvalidParameter", "the body must be a JSON object", rid)
    unknown = sorted(set(params) - action.params)
    if unknown:
        return error("UnknownParameter", f"the parameter `{unknown[0]}` is not recognised", rid)
    try:
        data = await action.handler(state, params)
    except FieldError as exc:
        err = _field_error(exc, name)
        return error(err.code, err.message, rid)
    except TencentError as exc:
        return error(exc.code, exc.message, rid)
    return envelope(data, rid)

"""Huawei Cloud AICC (CEC) as the sandbox serves it: `tokenByAkSk` bearer tokens,
`importVoiceFile/upload`, `createVoiceTemplate`, and the review callback Huawei POSTs
to ``callBackUrl`` afterwards with its 6-try budget (VENDORS.md §3).

Bad or expired tokens answer HTTP 401; validation failures HTTP 200 with CEC's 7-digit
codes (``0300001`` missing, ``0300003`` too long, ``0300004`` bad format); more than
10 uploads a second HTTP 429 (the API gateway's ``APIG.0308``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vendors.huawei import voice_file_name_problem
from vendors.sandbox.audio import inspect_audio
from vendors.sandbox.common import count_request, sandbox_state
from vendors.sandbox.state import CallbackRecord, HuaweiUpload, SandboxState

__all__ = ["deliver_callback", "fault_response", "handle_api", "handle_token"]

MAX_TOKEN_S = 3600
MAX_ENCODED_BYTES = 8 * 1024 * 1024
LOCALES = ("zh_CN", "en_US", "pt_BR", "th_TH")
VOICE_TYPES = ("0", "1", "2", "3")
MISSING, TOO_LONG, BAD_FORMAT = "0300001", "0300003", "0300004"


def answer(code: str, description: str, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"returnCode": code, "description": description, **extra}, status)


def fault_response(kind: str) -> Response:
    """An injected fault as Huawei's gateway answers it (``error`` or ``throttle``)."""
    if kind == "throttle":
        return JSONResponse(
            {"error_code": "APIG.0308", "error_msg": "The request is throttled (sandbox fault)"},
            429,
        )
    return answer("0500001", "internal error (sandbox fault)", 500)


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


async def handle_token(request: Request) -> Response:
    """``POST /apigovernance/api/oauth/tokenByAkSk``."""
    state = sandbox_state(request)
    count_request(state, "huawei")
    body = await _json_body(request)
    if body is None:
        return answer(BAD_FORMAT, "the body must be a JSON object with app_key and app_secret")
    app_key, secret = body.get("app_key"), body.get("app_secret")
    expected = state.config.huawei_apps.get(app_key) if isinstance(app_key, str) else None
    if expected is None or secret != expected:
        return answer("401", "invalid app_key/app_secret", 401)
    raw = request.headers.get("x-token-expire", str(state.config.huawei_default_token_s))
    if not raw.strip().isdigit() or int(raw) <= 0:
        return answer(BAD_FORMAT, f"X-Token-Expire {raw!r} must be a number of seconds")
    lifetime = min(int(raw), MAX_TOKEN_S)
    now = state.now()
    token = secrets.token_hex(32)
    state.huawei_tokens[token] = (str(app_key), now + lifetime)
    return JSONResponse(
        {
            "AccessToken": token,
            "ApplyType": "Bearer",
            "CreateTime": str(int(now)),
            "Expires": str(lifetime),
            "Scope": "default",
            "AppKey": app_key,
            "UserID": "Anonymous",
        }
    )


def _authorise(request: Request, state: SandboxState) -> tuple[str | None, Response | None]:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None, answer("401", "Authorization: Bearer <AccessToken> is required", 401)
    held = state.huawei_tokens.get(header[len("Bearer ") :])
    if held is None:
        return None, answer("401", "invalid token", 401)
    app_key, expires = held
    if expires <= state.now():
        return None, answer("401", "token expired; get a new one with tokenByAkSk", 401)
    sent_key = request.headers.get("x-app-key")
    if sent_key is not None and sent_key != app_key:
        return None, answer("401", "X-APP-Key does not match the token's app", 401)
    return app_key, None


async def handle_api(request: Request) -> Response:
    """``POST /apiaccess/rest/cc-management/v1/{importVoiceFile/upload,createVoiceTemplate}``."""
    state = sandbox_state(request)
    count_request(state, "huawei")
    op = request.path_params["op"]
    if op not in ("importVoiceFile/upload", "createVoiceTemplate") or request.method != "POST":
        return answer("0300404", f"no such API: {request.method} {op}", 404)
    app_key, refused = _authorise(request, state)
    if refused is not None:
        return refused
    assert app_key is not None
    if op == "importVoiceFile/upload" and not state.allow("huawei.importVoiceFile"):
        return JSONResponse(
            {"error_code": "APIG.0308", "error_msg": "The request is throttled: over 10/s"}, 429
        )
    body = await _json_body(request)
    if body is None:
        return answer(BAD_FORMAT, "the body must be a JSON object")
    if op == "createVoiceTemplate":
        return _create_template(state, body, app_key)
    return await _upload(state, body, app_key)


def _callback_url(body: dict[str, Any]) -> tuple[str | None, JSONResponse | None]:
    url = body.get("callBackUrl")
    if url is None:
        return None, None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None, answer(BAD_FORMAT, "callBackUrl must be an http(s) URL")
    return url, None


async def _upload(state: SandboxState, body: dict[str, Any], app_key: str) -> Response:
    for required in ("fileInfo", "locale", "voiceType", "fileType"):
        if not body.get(required):
            return answer(MISSING, f"{required} is required")
    info = body["fileInfo"]
    if not isinstance(info, str):
        return answer(BAD_FORMAT, "fileInfo must be a Base64 string")
    if len(info) > MAX_ENCODED_BYTES:
        return answer(TOO_LONG, f"fileInfo is {len(info)} bytes of Base64, over 8 MB")
    if body["locale"] not in LOCALES:
        return answer(BAD_FORMAT, f"locale must be one of {', '.join(LOCALES)}")
    if str(body["voiceType"]) not in VOICE_TYPES:
        return answer(BAD_FORMAT, "voiceType must be 0, 1, 2 or 3")
    file_type = body["fileType"]
    if file_type not in ("wav", "mp3"):
        return answer(BAD_FORMAT, "fileType must be wav or mp3")
    name = body.get("voiceFileName")
    if name is not None:
        if not isinstance(name, str) or len(name) > 50:
            return answer(TOO_LONG, "voiceFileName is limited to 50 characters")
        if voice_file_name_problem(name) is not None:
            return answer(BAD_FORMAT, "voiceFileName takes Chinese, letters and digits only")
    callback, refused = _callback_url(body)
    if refused is not None:
        return refused
    try:
        data = base64.b64decode(info, validate=True)
    except (binascii.Error, ValueError):
        return answer(BAD_FORMAT, "fileInfo is not valid Base64")
    facts = await asyncio.to_thread(inspect_audio, data)
    if facts.container != file_type:
        return answer(
            BAD_FORMAT, f"fileType is {file_type} but the file is {facts.container or 'not audio'}"
        )
    native = facts.codec == "alaw" and facts.sample_rate == 8000 and facts.channels == 1
    problem = None if facts.duration_s else "the audio could not be decoded"
    file_id = str(next(state.huawei_ids))
    stem = name or f"voice{file_id[-6:]}"
    comment = problem or (
        "approved" if native else "approved; transcoded to A-law 8 kHz mono, quality may be lost"
    )
    upload = HuaweiUpload(
        file_id,
        "file",
        stem,
        app_key,
        problem,
        callback,
        {k: v for k, v in body.items() if k != "fileInfo"},
    )
    state.huawei_uploads[file_id] = upload
    if callback:
        _schedule(state, upload, f"Y:/IVR/147/voice/{body['voiceType']}/{stem}.wav", comment)
    return answer("0", "File uploaded successfully.", fileId=file_id)


def _create_template(state: SandboxState, body: dict[str, Any], app_key: str) -> Response:
    from stages.templates.huawei import check_huawei_request

    for v in check_huawei_request(body).violations:
        if v.severity != "error":
            continue
        code = MISSING if "missing" in v.rule else TOO_LONG if "long" in v.rule else BAD_FORMAT
        return answer(code, v.message)
    callback, refused = _callback_url(body)
    if refused is not None:
        return refused
    template_id = str(next(state.huawei_ids))
    upload = HuaweiUpload(
        template_id, "template", str(body["name"]), app_key, None, callback, dict(body)
    )
    state.huawei_uploads[template_id] = upload
    if callback:
        _schedule(state, upload, f"Y:/IVR/147/tts/{template_id}", "approved")
    return answer("0", "success", templateId=template_id)


def _schedule(state: SandboxState, upload: HuaweiUpload, file_url: str, comment: str) -> None:
    assert upload.callback_url is not None
    record = CallbackRecord(
        upload.id,
        upload.callback_url,
        {
            "fileUrl": file_url,
            "fileId": upload.id,
            "status": "3" if upload.problem else "2",
            "comment": comment,
        },
    )
    state.huawei_callbacks.append(record)
    task = asyncio.get_running_loop().create_task(deliver_callback(state, record))
    state.background.add(task)
    task.add_done_callback(state.background.discard)


async def deliver_callback(state: SandboxState, record: CallbackRecord) -> None:
    """POST ``record.body`` until the receiver answers HTTP 200 with the string
    ``{"returnCode": "0"}`` (not the number 0, not another status), at most
    once per delay in the configured schedule; then give up (Huawei drops it)."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        for delay in state.config.huawei_callback_delays_s:
            await asyncio.sleep(delay)
            try:
                response = await client.post(record.url, json=record.body)
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                record.tries.append(type(exc).__name__)
                continue
            if (
                response.status_code == 200
                and isinstance(data, dict)
                and data.get("returnCode") == "0"  # the string "0", as documented
            ):
                record.tries.append("ok")
                record.delivered = True
                return
            record.tries.append(f"HTTP {response.status_code}: {str(data)[:120]}")
    record.dropped = True

"""Alibaba Cloud dyvms as the sandbox serves it: RPC actions (`GetToken`, `IvrCall`,
`QueryVoiceFileAuditInfo`) signed with HMAC-SHA1 or ACS3-HMAC-SHA256, and the
voice-file upload host (``/dyvms/upload``) that takes a `GetToken` token.

Gateway errors (signature, skew, nonce replay, unknown key, throttling, missing
parameters) answer HTTP 4xx with ``{RequestId, HostId, Code, Message, Recommend}``;
business errors answer HTTP 200 with ``Code`` ≠ ``OK`` (VENDORS.md §5).

With ``SandboxConfig.aliyun_report_url`` set, every IvrCall is followed by a
``VoiceCallReport`` and a ``VoiceReport`` pushed there as JSON arrays (§5.2), retried
after 1, 5 and 10 minutes of the sandbox clock until the receiver takes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections import deque
from typing import Any, Final
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vendors.sandbox.audio import check_audio, inspect_audio
from vendors.sandbox.common import count_request, request_parts, sandbox_state
from vendors.sandbox.state import AliyunReport, AliyunVoiceFile, Review, SandboxState, request_id
from vendors.signing import RequestParts, verify_acs3, verify_rpc

__all__ = ["call_reports", "deliver_report", "fault_response", "handle_rpc", "handle_upload"]

VERSION = "2017-05-25"
HOST_ID = "dyvmsapi.aliyuncs.com"
TOKEN_LIFETIME_S = 1800.0
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
_COMMON = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "Signature",
        "RegionId",
        "SecurityToken",
    }
)
_STATUS = {
    "InvalidAccessKeyId.NotFound": 404,
    "InvalidAction.NotFound": 404,
    "Forbidden.RAM": 403,
    "InternalError": 500,
    "ServiceUnavailable": 503,
}
_IVR_CODES = {
    "missing_field": "MissingParameter",
    "bad_called_number": "isv.MOBILE_NUMBER_ILLEGAL",
    "bad_out_id": "isv.PARAM_LENGTH_LIMIT",
    "mixed_code_kinds": "isv.INVALID_PARAMETERS",
    "bad_tts_params": "isv.TEMPLATE_PARAMS_ILLEGAL",
    "missing_tts_param": "isv.TEMPLATE_MISSING_PARAMETERS",
    "unknown_template": "isv.TTS_TEMPLATE_ILLEGAL",
}


class AliyunError(Exception):
    def __init__(self, code: str, message: str, *, gateway: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.gateway = code, message, gateway


def gateway_error(code: str, message: str, rid: str, status: int | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "RequestId": rid,
            "HostId": HOST_ID,
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dyvmsapi",
        },
        status_code=status or _STATUS.get(code, 400),
    )


def fault_response(kind: str) -> Response:
    """An injected fault as Alibaba's gateway answers it (``error`` or ``throttle``)."""
    if kind == "throttle":
        return gateway_error(
            "Throttling", "request was denied due to flow control (sandbox)", request_id(), 400
        )
    return gateway_error(
        "ServiceUnavailable", "the service is unavailable (sandbox fault)", request_id(), 503
    )


def _params(parts: RequestParts) -> dict[str, str]:
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if parts.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(parts.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


async def handle_rpc(request: Request) -> Response:
    """Answer one dyvms RPC request (``/aliyun/`` or ``/`` with ``Action``/ACS3 headers)."""
    state = sandbox_state(request)
    count_request(state, "aliyun")
    rid = request_id()
    parts = await request_parts(request)
    acs3 = parts.headers.get("authorization", "").startswith("ACS3-HMAC-SHA256")
    keys = state.config.alibaba_keys.get
    if acs3:
        verdict = verify_acs3(parts, keys, now=state.now(), nonces=state.nonces)
    else:
        verdict = verify_rpc(parts, keys, now=state.now(), nonces=state.nonces)
    if not verdict.ok:
        assert verdict.error is not None
        return gateway_error(str(verdict.code), verdict.message, rid, verdict.error.http_status)
    params = _params(parts)
    action = parts.headers.get("x-acs-action", "") if acs3 else params.get("Action", "")
    version = parts.headers.get("x-acs-version", "") if acs3 else params.get("Version", "")
    handler = _ACTIONS.get(action)
    if handler is None:
        return gateway_error("InvalidAction.NotFound", f"action {action!r} does not exist", rid)
    if version != VERSION:
        return gateway_error(
            "InvalidVersion", f"dyvms is served at {VERSION}, not {version!r}", rid
        )
    if not state.allow("aliyun"):
        return gateway_error("Throttling.User", "request was denied due to user flow control", rid)
    business = {k: v for k, v in params.items() if k not in _COMMON}
    try:
        data = await handler(state, business, verdict.key_id or "")
    except AliyunError as exc:
        if exc.gateway:
            return gateway_error(exc.code, exc.message, rid)
        return JSONResponse({"Code": exc.code, "Message": exc.message, "RequestId": rid})
    return JSONResponse({"Code": "OK", "Message": "OK", "RequestId": rid, **data})


async def get_token(state: SandboxState, params: dict[str, str], key_id: str) -> dict[str, Any]:
    kind = params.get("TokenType", "dyvms")
    if kind != "dyvms":
        raise AliyunError("isv.INVALID_PARAMETERS", f"TokenType {kind!r}; use dyvms")
    token = "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(16)
    state.aliyun_tokens[token] = (key_id, state.now() + TOKEN_LIFETIME_S)
    return {"Success": True, "Token": token}


async def ivr_call(state: SandboxState, params: dict[str, str], key_id: str) -> dict[str, Any]:
    from stages.ivr import check_ivr_call, is_template_code

    verdict = check_ivr_call(params)
    for v in verdict.violations:
        if v.severity == "error":
            code = _IVR_CODES.get(v.rule, "isv.INVALID_PARAMETERS")
            raise AliyunError(code, v.message, gateway=code == "MissingParameter")
    codes = [params["StartCode"], params.get("ByeCode") or ""]
    codes += [v for k, v in params.items() if k.startswith("MenuKeyMap.") and k.endswith(".Code")]
    for code in filter(None, codes):
        if is_template_code(code):
            continue
        known = state.aliyun_files.get(code)
        if known is None:
            raise AliyunError("isv.VOICE_FILE_ILLEGAL", f"voice file {code!r} does not exist")
        audit = known.audit_state(state.now(), state.config)
        if audit != "AUDIT_STATE_PASS":
            raise AliyunError("isv.VOICE_FILE_ILLEGAL", _not_playable(code, audit))
    callee = params["CalledNumber"]
    now = state.now()
    log = state.aliyun_callee_log.setdefault(callee, deque())
    longest = max((w for w, _ in state.config.alibaba_callee_limits), default=0.0)
    while log and now - log[0] > longest:
        log.popleft()
    for window, allowed in state.config.alibaba_callee_limits:
        if sum(1 for t in log if now - t < window) >= allowed:
            raise AliyunError(
                "isv.BUSINESS_LIMIT_CONTROL",
                f"{callee} was called {allowed} time(s) within {window:g} s; "
                "the per-callee limit is 1/min, 5/h, 20/24 h",
            )
    log.append(now)
    call_id = f"{secrets.randbelow(10**12):012d}^{secrets.randbelow(10**11):011d}"
    state.aliyun_calls.append({"CallId": call_id, "key_id": key_id, **params})
    if state.config.aliyun_report_url:
        for kind, body in call_reports(call_id, params, now):
            _push(state, AliyunReport(kind, call_id, state.config.aliyun_report_url, body))
    return {"CallId": call_id}


_CANCELLED: Final = frozenset({"AUDIT_SATE_CANCEL", "AUDIT_STATE_CANCEL"})
"""Audit states of a cancelled review: both spellings `vendors.alibaba` knows (§5.1 "SATE")."""


def _not_playable(code: str, audit: str) -> str:
    """Why IvrCall refuses voice file ``code`` in audit state ``audit`` (not PASS).

    An uploaded voice file is reviewed (≈2 h, VENDORS.md §5.1) before it can be played;
    every state but ``AUDIT_STATE_PASS`` (INIT, UPLOADING, REDOING, PAUSE, ORDER_FINISHED:
    still waiting for the carrier, the cancelled ones, anything new) is refused. The doc
    names no error code for a file not approved yet: ``isv.VOICE_FILE_ILLEGAL`` (§5's
    list, the code for a voice file that cannot be used) is the sandbox's pick. A cancelled
    review never resumes (upload again); a paused one waits on Alibaba, for no set time.
    """
    if audit == "AUDIT_STATE_NOT_PASS":
        return f"voice file {code!r} failed review"
    if audit in _CANCELLED:
        return (
            f"voice file {code!r} can never be played (audit state {audit}): its review was "
            "cancelled and will not resume; upload the file again, or ask Alibaba support why"
        )
    if audit == "AUDIT_PAUSE":
        return (
            f"voice file {code!r} is not approved yet (audit state {audit}): its review is "
            "paused on Alibaba's side, for no set time; check it later with "
            "QueryVoiceFileAuditInfo, or ask Alibaba support"
        )
    return (
        f"voice file {code!r} is not approved yet (audit state {audit}); only a file in "
        "AUDIT_STATE_PASS can be played: wait for the review (about 2 h) and check it with "
        "QueryVoiceFileAuditInfo"
    )


# --- call results (§5.2 [ALI-RCPT], HTTP batch push) -----------------------------------------

REPORT_CALL_S = 12
"""How long the sandbox's (always answered) calls last, in seconds."""


def _beijing(t: float) -> str:
    tz = dt.timezone(dt.timedelta(hours=8))
    return dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M:%S")


def call_reports(
    call_id: str, params: dict[str, str], now: float
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The pushes one IvrCall causes: a ``VoiceCallReport`` (progress) and a
    ``VoiceReport`` (final CDR), each a JSON array of one record with §5.2's fields.
    Status codes and messages are the sandbox's choice (the doc lists no values)."""
    out_id = params.get("OutId", "")
    ring, answered = now + 2, now + 5
    progress = {
        "call_id": call_id,
        "status_code": "200000",
        "status_time": _beijing(answered),
        "out_id": out_id,
    }
    final = {
        "call_id": call_id,
        "caller": params.get("CalledShowNumber", ""),
        "callee": params.get("CalledNumber", ""),
        "status_code": "200000",
        "status_msg": "answered (sandbox)",
        "duration": str(REPORT_CALL_S),
        "originate_time": _beijing(now),
        "ring_time": _beijing(ring),
        "b_start_time": _beijing(answered),
        "start_time": _beijing(answered),
        "end_time": _beijing(answered + REPORT_CALL_S),
        "early_media_code": "",
        "hangup_direction": "callee",
        "out_id": out_id,
        "dtmf": "",
        "toll_type": "LOCAL",
        "voice_type": "voice",
    }
    return [("VoiceCallReport", [progress]), ("VoiceReport", [final])]


def _push(state: SandboxState, report: AliyunReport) -> None:
    state.aliyun_reports.append(report)
    task = asyncio.get_running_loop().create_task(deliver_report(state, report))
    state.background.add(task)
    task.add_done_callback(state.background.discard)


async def _until(state: SandboxState, due: float) -> None:
    """Wait until the sandbox clock reaches ``due`` (a ManualClock moves only by hand)."""
    while state.now() < due:
        await asyncio.sleep(min(0.02, max(0.001, due - state.now())))


async def deliver_report(state: SandboxState, report: AliyunReport) -> None:
    """POST ``report.body`` now, and again after each wait in ``aliyun_report_retry_s``
    (1, 5, 10 min of the sandbox clock) while the receiver answers anything but HTTP 200
    with a JSON numeric ``code`` of 0, or does not answer within the timeout; then drop it."""
    waits = (0.0, *state.config.aliyun_report_retry_s)
    async with httpx.AsyncClient(timeout=state.config.aliyun_report_timeout_s) as client:
        for wait in waits:
            await _until(state, state.now() + wait)
            report.tried_at.append(state.now())
            try:
                response = await client.post(report.url, json=report.body)
            except httpx.HTTPError as exc:
                report.tries.append(type(exc).__name__)
                continue
            try:
                data = response.json()
            except ValueError:
                data = None
            code = data.get("code") if isinstance(data, dict) else None
            numeric = isinstance(code, int | float) and not isinstance(code, bool)
            if response.status_code == 200 and numeric and code == 0:
                report.tries.append("ok")
                report.delivered = True
                return
            report.tries.append(f"HTTP {response.status_code}: {response.text[:120]}")
    report.dropped = True


async def query_audit(state: SandboxState, params: dict[str, str], key_id: str) -> dict[str, Any]:
    raw = params.get("VoiceCodes", "")
    business = params.get("BusinessType", "")
    if not raw or not business:
        missing = "VoiceCodes" if not raw else "BusinessType"
        raise AliyunError("MissingParameter", f"{missing} is required", gateway=True)
    if business not in ("0", "2"):
        raise AliyunError("isv.INVALID_PARAMETERS", "BusinessType is 0 (notification) or 2")
    codes = [c for c in raw.split(",") if c]
    if len(codes) > 10:
        raise AliyunError("isv.INVALID_PARAMETERS", f"{len(codes)} VoiceCodes; at most 10")
    rows = []
    for code in codes:
        f = state.aliyun_files.get(code)
        if f is None:
            continue
        f.review.polls += 1
        state_name = f.audit_state(state.now(), state.config)
        rows.append(
            {
                "VoiceCode": code,
                "AuditState": state_name,
                "RejectInfo": f.problem if state_name.endswith("NOT_PASS") else "",
            }
        )
    return {"Data": rows}


_ACTIONS = {"GetToken": get_token, "IvrCall": ivr_call, "QueryVoiceFileAuditInfo": query_audit}


def _upload_error(code: str, msg: str, status: int) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "data": None}, status_code=status)


async def handle_upload(request: Request) -> Response:
    """``POST /aliyun/dyvms/upload?filename=<name.ext>`` with ``authorization: <Token>``."""
    state = sandbox_state(request)
    count_request(state, "aliyun")
    if request.method != "POST":
        return _upload_error("MethodNotAllowed", "POST the file bytes", 405)
    token = request.headers.get("authorization", "")
    held = state.aliyun_tokens.get(token)
    if held is None or held[1] <= state.now():
        why = "expired" if held else "invalid"
        return _upload_error("InvalidToken", f"token {why}; call GetToken for a new one", 401)
    filename = request.query_params.get("filename", "")
    if not filename or "/" in filename or "\\" in filename:
        return _upload_error("MissingParameter", "filename=<name.ext> is required", 400)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    data = await request.body()
    if len(data) >= UPLOAD_MAX_BYTES:
        return _upload_error("FileTooLarge", f"{len(data)} bytes; the limit is under 2 MB", 400)
    facts = await asyncio.to_thread(inspect_audio, data, filename=filename)
    problem = check_audio(facts, containers=("wav", "mp3"))
    if problem is None and ext != facts.container:
        problem = f"filename says .{ext} but the bytes are {facts.container}"
    if problem is not None:
        return _upload_error("InvalidFileType", problem, 400)
    code = f"{secrets.token_hex(16)}.{ext}"
    review = None if facts.duration_s else "audio could not be decoded"
    state.aliyun_files[code] = AliyunVoiceFile(
        code, filename, len(data), Review(state.now()), review
    )
    return JSONResponse({"code": "OK", "msg": "success", "data": {"voiceCode": code}})


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)

"""Yeastar P-Series open API as the sandbox serves it: `get_token`, `refresh_token` and
multipart `custom_prompt/upload` with ``is_check=ask|force`` (VENDORS.md §4).

Every answer is HTTP 200 with ``errcode``/``errmsg``. ``ask`` never stores: it answers
errcode 0, with ``exist_type`` when a prompt of that name exists; ``force`` stores,
overwriting. Access tokens live 30 min, refresh tokens 24 h, at most 8 access tokens
are live per application (issuing a 9th retires the oldest). Uploads are checked as
[YS-AUDIO] says (WAV PCM 16-bit/A-law/µ-law, 8 kHz, mono; GSM 6.10; MP3): anything
else is errcode 40002 PARAMETER ERROR with a ``detail`` saying what is wrong.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import os
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vendors.sandbox.audio import AudioFacts, inspect_audio
from vendors.sandbox.common import count_request, sandbox_state
from vendors.sandbox.state import SandboxState, YeastarPrompt, YeastarToken
from vendors.yeastar import prompt_name_problem

__all__ = ["fault_response", "handle", "parse_multipart"]

ACCESS_S, REFRESH_S = 1800, 86400
MAX_BYTES = 8 * 1024 * 1024
EXTENSIONS = {".wav": "wav", ".mp3": "mp3", ".gsm": "gsm"}

ERRMSG = {
    -2: "INTERNAL SERVER ERROR",
    -1: "FAILURE",
    0: "SUCCESS",
    10001: "INTERFACE NOT EXISTED",
    10002: "API VERSION OUT OF MAINTENANCE",
    10003: "API VERSION UNSUPPORTED",
    10004: "TOKEN EXPIRED",
    10005: "ACCESS DENIED",
    40001: "PARAMETER SYNTAX ERROR",
    40002: "PARAMETER ERROR",
    40004: "FILE SIZE EXCEEDED",
    60002: "MAX LIMITATION EXCEEDED",
    70004: "ACCOUNT IP BLOCKED",
}


WAV_CODECS = {"pcm_16": "PCM 16-bit", "alaw": "A-law", "ulaw": "µ-law"}
PROMPT_RATE = 8000


def audio_problem(facts: AudioFacts) -> str | None:
    """Why the PBX refuses this prompt's encoding (§4 [YS-AUDIO]); None when it passes.

    WAV must be PCM 16-bit, A-law or µ-law at 8 kHz mono. GSM must be GSM 6.10 at 8 kHz
    mono (older Yeastar lines; a raw .gsm file is that by construction). MP3: the doc
    lists no codec limits, so any MP3 that decodes is taken.
    """
    if facts.duration_s is None:
        return f"the {facts.container} audio cannot be decoded"
    if facts.container == "wav":
        if facts.codec not in WAV_CODECS:
            return (
                f"WAV encoding {facts.codec or 'unknown'} is not supported; use "
                "PCM 16-bit, A-law or µ-law"
            )
        if facts.sample_rate != PROMPT_RATE:
            return f"WAV sample rate {facts.sample_rate} Hz is not supported; use 8000 Hz"
        if facts.channels != 1:
            return f"WAV has {facts.channels} channels; prompts must be mono"
    if facts.container == "gsm" and (facts.sample_rate, facts.channels) != (PROMPT_RATE, 1):
        return "GSM prompts must be GSM 6.10, 8000 Hz, mono"
    return None


def answer(errcode: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "FAILURE"), **extra})


def fault_response(kind: str) -> Response:
    """An injected fault: ``error`` is errcode -2; ``throttle`` HTTP 429 (not documented)."""
    if kind == "throttle":
        return JSONResponse({"errcode": -1, "errmsg": "TOO MANY REQUESTS"}, 429)
    return answer(-2)


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``multipart/form-data`` parts: name → (filename or None, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


async def handle(request: Request) -> Response:
    """Any request under ``/yeastar/openapi/v1.0/``."""
    state = sandbox_state(request)
    count_request(state, "yeastar")
    if not request.headers.get("user-agent"):
        return answer(-1, detail="every request must carry a User-Agent header")
    op = request.path_params["op"]
    if request.method != "POST" or op not in _OPS:
        return answer(10001)
    return await _OPS[op](request, state)


async def other_version(request: Request) -> Response:
    """A request under ``/yeastar/openapi/<version>/`` for a version other than v1.0: the
    PBX answers errcode 10003 (API VERSION UNSUPPORTED) JSON, not HTTP 404."""
    count_request(sandbox_state(request), "yeastar")
    return answer(10003)


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _issue(state: SandboxState, client_id: str) -> JSONResponse:
    now = state.now()
    live = [t for t in state.yeastar_tokens if t.client_id == client_id and t.access_expires > now]
    while len(live) >= state.config.yeastar_max_tokens:
        oldest = min(live, key=lambda t: t.issued)
        oldest.access_expires = now  # retired: the 9th token pushes the oldest out
        live.remove(oldest)
    token = YeastarToken(
        client_id,
        secrets.token_hex(16),
        secrets.token_hex(16),
        now + ACCESS_S,
        now + REFRESH_S,
        now,
    )
    state.yeastar_tokens.append(token)
    return answer(
        0,
        access_token_expire_time=ACCESS_S,
        access_token=token.access,
        refresh_token_expire_time=REFRESH_S,
        refresh_token=token.refresh,
    )


async def _get_token(request: Request, state: SandboxState) -> Response:
    ip = request.client.host if request.client else "?"
    failures = state.yeastar_login_failures.get(ip, 0)
    if failures >= state.config.yeastar_login_failures_before_block:
        return answer(70004)
    body = await _json(request)
    client_id, secret = body.get("username"), body.get("password")
    expected = state.config.yeastar_clients.get(client_id) if isinstance(client_id, str) else None
    if expected is None or secret != expected:
        state.yeastar_login_failures[ip] = failures + 1
        return answer(10005)
    state.yeastar_login_failures.pop(ip, None)
    assert isinstance(client_id, str)
    return _issue(state, client_id)


async def _refresh_token(request: Request, state: SandboxState) -> Response:
    body = await _json(request)
    refresh = body.get("refresh_token")
    now = state.now()
    for token in state.yeastar_tokens:
        if token.refresh == refresh and token.refresh_expires > now:
            token.refresh_expires = now  # a refresh token is used once
            token.access_expires = min(token.access_expires, now)
            return _issue(state, token.client_id)
    return answer(10004)


def _valid_token(state: SandboxState, access: str | None) -> bool:
    now = state.now()
    return any(t.access == access and t.access_expires > now for t in state.yeastar_tokens)


async def _upload(request: Request, state: SandboxState) -> Response:
    if not _valid_token(state, request.query_params.get("access_token")):
        return answer(10004)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return answer(40001, detail="send multipart/form-data with parts file and is_check")
    parts = parse_multipart(content_type, await request.body())
    is_check = parts.get("is_check", (None, b""))[1].decode("utf-8", "replace").strip()
    if is_check not in ("ask", "force"):
        return answer(40001, detail="is_check must be ask or force")
    if "file" not in parts or not parts["file"][0]:
        return answer(40002, detail="the file part (with a filename) is required")
    filename, data = parts["file"]
    assert filename is not None
    stem, ext = os.path.splitext(os.path.basename(filename))
    if ext.lower() not in EXTENSIONS or prompt_name_problem(stem) is not None:
        return answer(40002, detail="file must be name.wav, .mp3 or .gsm without special chars")
    if len(data) > MAX_BYTES:
        return answer(40004)
    facts = await asyncio.to_thread(inspect_audio, data, filename=filename)
    if facts.container != EXTENSIONS[ext.lower()]:
        return answer(40002, detail=f"{filename} is {facts.container or 'not audio'}")
    problem = audio_problem(facts)
    if problem is not None:
        return answer(40002, detail=f"{filename}: {problem}")
    existing = state.yeastar_prompts.get(stem)
    if is_check == "ask":
        return answer(0, exist_type=existing.exist_type) if existing else answer(0)
    if existing is None and len(state.yeastar_prompts) >= state.config.yeastar_max_prompts:
        return answer(60002, detail=f"the PBX holds {len(state.yeastar_prompts)} prompts")
    uploads = existing.uploads + 1 if existing else 1
    state.yeastar_prompts[stem] = YeastarPrompt(stem, filename, "record", len(data), uploads)
    return answer(0)


_OPS = {"get_token": _get_token, "refresh_token": _refresh_token, "custom_prompt/upload": _upload}

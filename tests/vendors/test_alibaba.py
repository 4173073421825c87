"""Alibaba dyvms client against a scripted transport: GetToken, upload, audit, IvrCall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendors.fakes import FakeClock, Script, write_file
from vendors.alibaba import UPLOAD_ENDPOINT
from vendors.base import Receipt, UploadItem, make_client
from vendors.credentials import Credentials, Secret
from vendors.errors import (
    VendorAuthError,
    VendorRateLimited,
    VendorValidationError,
)
from vendors.retry import RetryPolicy
from vendors.signing import MemoryNonceStore, RequestParts, verify_acs3, verify_rpc

KEY_ID, SECRET = "LTAIsandbox", "sandbox-secret"
CREDS = Credentials("alibaba", KEY_ID, Secret(SECRET))


def route(request: httpx.Request) -> str:
    if request.url.path.endswith("/dyvms/upload"):
        return "upload"
    return request.url.params.get("Action") or request.headers.get("x-acs-action", "?")


def token(value: str = "jwt-1") -> httpx.Response:
    return httpx.Response(
        200, json={"Code": "OK", "Token": value, "Success": "true", "RequestId": "r"}
    )


def stored(code: str = "voice-123.wav") -> httpx.Response:
    return httpx.Response(200, json={"code": "OK", "msg": "success", "data": {"voiceCode": code}})


def gateway(status: int, code: str) -> httpx.Response:
    return httpx.Response(
        status, json={"RequestId": "rq", "HostId": "h", "Code": code, "Message": "m"}
    )


def client(script: Script, clock: FakeClock | None = None, **options: Any) -> Any:
    clock = clock or FakeClock()
    return make_client(
        "aliyun",
        endpoint="http://127.0.0.1:8080",
        credentials=CREDS,
        transport=script.transport(),
        sleep=clock.sleep,
        clock=clock,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.1),
        **options,
    )


@pytest.fixture
def item(tmp_path: Path) -> UploadItem:
    return UploadItem(write_file(tmp_path / "welcome.wav"), "welcome", None, "welcome.m4a")


def test_upload_gets_a_signed_token_then_posts_the_bytes(item: UploadItem) -> None:
    clock = FakeClock(now=1_700_000_000.0)
    script = Script(route).on("GetToken", token()).on("upload", stored())
    receipt = client(script, clock).upload(item)
    (get_token,) = script.sent("GetToken")
    assert str(get_token.url).startswith("http://127.0.0.1:8080/aliyun/?")
    verdict = verify_rpc(
        RequestParts.from_httpx(get_token), {KEY_ID: SECRET}.get, now=clock.now,
        nonces=MemoryNonceStore(),
    )  # fmt: skip
    assert verdict.ok, verdict.message
    assert get_token.url.params["TokenType"] == "dyvms"
    (upload,) = script.sent("upload")
    assert upload.url.path == "/aliyun/dyvms/upload"
    assert upload.url.params["filename"] == "welcome.wav"
    assert upload.headers["authorization"] == "jwt-1"
    assert upload.headers["content-type"] == "application/octet-stream"
    assert upload.content == Path(item.path).read_bytes()
    assert (receipt.remote_id, receipt.status) == ("voice-123.wav", "submitted")


def test_acs3_signing_is_accepted_by_the_verifier(item: UploadItem) -> None:
    clock = FakeClock()
    script = Script(route).on("GetToken", token()).on("upload", stored())
    client(script, clock, signature="acs3").upload(item)
    (get_token,) = script.sent("GetToken")
    verdict = verify_acs3(
        RequestParts.from_httpx(get_token), {KEY_ID: SECRET}.get, now=clock.now,
        nonces=MemoryNonceStore(),
    )  # fmt: skip
    assert verdict.ok, verdict.message


def test_token_is_reused_for_30_minutes_then_renewed(tmp_path: Path, item: UploadItem) -> None:
    clock = FakeClock()
    script = Script(route).on("GetToken", token("jwt-1"), token("jwt-2")).on("upload", stored())
    c = client(script, clock)
    c.upload(item)
    clock.now += 20 * 60
    c.upload(item)
    assert script.routes().count("GetToken") == 1
    clock.now += 6 * 60  # 26 min: inside the 5-min renewal margin
    c.upload(item)
    assert script.routes().count("GetToken") == 2
    assert script.sent("upload")[-1].headers["authorization"] == "jwt-2"


def test_refused_token_is_renewed_once(item: UploadItem) -> None:
    refused = httpx.Response(401, json={"code": "InvalidToken", "msg": "expired"})
    script = (
        Script(route).on("GetToken", token("old"), token("new")).on("upload", refused, stored())
    )
    receipt = client(script).upload(item)
    assert script.routes() == ["GetToken", "upload", "GetToken", "upload"]
    assert receipt.remote_id == "voice-123.wav"


def test_throttling_is_retried_and_signature_errors_are_not(item: UploadItem) -> None:
    script = (
        Script(route)
        .on("GetToken", gateway(400, "Throttling.User"), token())
        .on("upload", stored())
    )
    client(script).upload(item)
    assert script.routes() == ["GetToken", "GetToken", "upload"]

    script = Script(route).on("GetToken", gateway(400, "SignatureDoesNotMatch"))
    with pytest.raises(VendorAuthError) as err:
        client(script).upload(item)
    assert err.value.code == "SignatureDoesNotMatch" and err.value.request_id == "rq"
    assert script.routes() == ["GetToken"]
    assert SECRET not in str(err.value)


def test_throttling_that_persists_surfaces_as_rate_limited(item: UploadItem) -> None:
    script = Script(route).on("GetToken", gateway(400, "Throttling"))
    with pytest.raises(VendorRateLimited):
        client(script).upload(item)
    assert script.routes() == ["GetToken"] * 3


def test_files_of_2_mb_or_more_never_leave(tmp_path: Path) -> None:
    path = write_file(tmp_path / "big.wav", 2 * 1024 * 1024)
    script = Script(route)
    with pytest.raises(VendorValidationError, match="limit"):
        client(script).upload(UploadItem(path, "big", None, "s"))
    assert script.requests == []


@pytest.mark.parametrize(
    ("state", "status"),
    [("AUDIT_STATE_PASS", "approved"), ("AUDIT_STATE_NOT_PASS", "rejected"),
     ("AUDIT_STATE_INIT", "submitted")],
)  # fmt: skip
def test_poll_maps_audit_states(state: str, status: str) -> None:
    data = [{"VoiceCode": "v1", "AuditState": state, "RejectInfo": "noise"}]
    script = Script(route).on(
        "QueryVoiceFileAuditInfo",
        httpx.Response(200, json={"Code": "OK", "Data": data, "RequestId": "rq"}),
    )
    receipt = Receipt("aliyun", "s", "o", "v1", "submitted", None, 0.0, {})
    assert client(script).poll(receipt).status == status
    assert script.sent("QueryVoiceFileAuditInfo")[0].url.params["VoiceCodes"] == "v1"


def test_ivr_call_is_checked_before_it_leaves() -> None:
    script = Script(route).on(
        "IvrCall", httpx.Response(200, json={"Code": "OK", "CallId": "c^1", "RequestId": "r"})
    )
    c = client(script)
    with pytest.raises(VendorValidationError, match="PlayTimes"):
        c.ivr_call(
            {"CalledShowNumber": "057188773344", "CalledNumber": "13800000000",
             "StartCode": "a.wav", "PlayTimes": 9}
        )  # fmt: skip
    assert script.requests == []
    result = c.ivr_call(
        {"CalledShowNumber": "057188773344", "CalledNumber": "13800000000", "StartCode": "a.wav",
         "MenuKeyMap": [{"Key": "1", "Code": "b.wav"}]}
    )  # fmt: skip
    assert result["CallId"] == "c^1"
    assert script.sent("IvrCall")[0].url.params["MenuKeyMap.1.Key"] == "1"


def pcm_wav(path: Path) -> str:
    """One second of PCM16 8 kHz mono: a file the sandbox takes."""
    import numpy as np
    import soundfile as sf

    t = np.arange(8000) / 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, subtype="PCM_16")
    return str(path)


@pytest.mark.parametrize(
    ("state", "status", "note"),
    [("AUDIT_SATE_CANCEL", "rejected", "cancelled"), ("AUDIT_PAUSE", "submitted", "paused"),
     ("AUDIT_ORDER_FINISHED", "submitted", "carrier"),
     ("AUDIT_STATE_UPLOADING", "submitted", "being uploaded")],
)  # fmt: skip
def test_cancelled_audit_is_final_and_paused_or_carrier_review_is_pending(
    tmp_path: Path, state: str, status: str, note: str
) -> None:
    from vendors.sandbox.server import serve_sandbox

    with serve_sandbox() as server:
        c = make_client("aliyun", endpoint=server.url, credentials=CREDS)
        receipt = c.upload(UploadItem(pcm_wav(tmp_path / "w.wav"), "welcome", None, "s"))
        server.app.state.sandbox.aliyun_files[receipt.remote_id].pinned_state = state
        polled = c.poll(receipt)
    assert (polled.status, polled.final) == (status, status != "submitted")
    assert polled.detail["audit_state"] == state and note in polled.detail["message"]


def test_upload_goes_to_the_documented_host_whatever_the_rpc_endpoint(tmp_path: Path) -> None:
    from vendors.sandbox.server import serve_sandbox

    regional = "https://dyvmsapi.ap-southeast-1.aliyuncs.com"
    c = make_client("aliyun", vendor_endpoint=regional, credentials=CREDS)
    assert (c.endpoint, c.upload_endpoint) == (regional, UPLOAD_ENDPOINT)
    with serve_sandbox() as server:
        assert make_client("aliyun", endpoint=server.url, credentials=CREDS).upload_endpoint == (
            server.url + "/aliyun"
        )
        root = server.url + "/aliyun"  # an exact URL: the upload host must be named too
        c = make_client("aliyun", vendor_endpoint=root, upload_endpoint=root, credentials=CREDS)
        receipt = c.upload(UploadItem(pcm_wav(tmp_path / "w.wav"), "welcome", None, "s"))
        assert receipt.remote_id in server.app.state.sandbox.aliyun_files

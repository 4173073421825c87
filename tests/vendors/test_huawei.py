"""Huawei AICC client against a scripted transport: tokens, upload, templates, callbacks."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendors.fakes import FakeClock, Script, json_of, write_file
from vendors.base import Receipt, UploadItem, make_client
from vendors.credentials import Credentials, Secret
from vendors.errors import VendorAuthError, VendorRateLimited, VendorValidationError
from vendors.huawei import apply_review_callback
from vendors.retry import RetryPolicy

APP_KEY, APP_SECRET = "sandbox-app", "sandbox-secret"
CREDS = Credentials("huawei", APP_KEY, Secret(APP_SECRET))


def route(request: httpx.Request) -> str:
    return request.url.path.rsplit("/", 1)[-1]


def token(value: str = "tok-1", expires: int = 600) -> httpx.Response:
    return httpx.Response(
        200,
        json={"AccessToken": value, "ApplyType": "Bearer", "CreateTime": "1700000000",
              "Expires": str(expires), "Scope": "", "AppKey": APP_KEY, "UserID": "Anonymous"},
    )  # fmt: skip


def accepted(file_id: str = "1182733043937561608") -> httpx.Response:
    return httpx.Response(
        200,
        json={"returnCode": "0", "description": "File uploaded successfully.", "fileId": file_id},
    )


def client(script: Script, clock: FakeClock | None = None, **options: Any) -> Any:
    clock = clock or FakeClock()
    return make_client(
        "huawei-ivr",
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
    return UploadItem(write_file(tmp_path / "menu01.wav"), "menu01", None, "menu.m4a")


def test_upload_uses_a_bearer_token_and_sends_base64(item: UploadItem) -> None:
    script = Script(route).on("tokenByAkSk", token()).on("upload", accepted())
    receipt = client(script, token_lifetime_s=600, callback_url="http://cb/x").upload(item)
    (tok,) = script.sent("tokenByAkSk")
    assert tok.url.path == "/huawei/apigovernance/api/oauth/tokenByAkSk"
    assert tok.headers["X-Token-Expire"] == "600"
    assert json_of(tok) == {"app_key": APP_KEY, "app_secret": APP_SECRET}
    (up,) = script.sent("upload")
    assert up.url.path == "/huawei/apiaccess/rest/cc-management/v1/importVoiceFile/upload"
    assert up.headers["Authorization"] == "Bearer tok-1"
    assert up.headers["X-APP-Key"] == APP_KEY
    body = json_of(up)
    assert base64.b64decode(body["fileInfo"]) == Path(item.path).read_bytes()
    assert body["locale"] == "zh_CN" and body["voiceType"] == "0" and body["fileType"] == "wav"
    assert body["voiceFileName"] == "menu01" and body["callBackUrl"] == "http://cb/x"
    assert (receipt.remote_id, receipt.status) == ("1182733043937561608", "submitted")
    assert APP_SECRET not in repr(receipt)


def test_token_is_reused_until_near_expiry(item: UploadItem) -> None:
    clock = FakeClock()
    script = Script(route).on("tokenByAkSk", token("t1"), token("t2")).on("upload", accepted())
    c = client(script, clock, token_lifetime_s=600)
    c.upload(item)
    clock.now += 500
    c.upload(item)
    assert script.routes().count("tokenByAkSk") == 1
    clock.now += 50  # 550 s of 600: inside the 60-s margin
    c.upload(item)
    assert script.routes().count("tokenByAkSk") == 2
    assert script.sent("upload")[-1].headers["Authorization"] == "Bearer t2"


def test_expired_token_answered_401_is_renewed_once(item: UploadItem) -> None:
    expired = httpx.Response(401, json={"returnCode": "401", "description": "token expired"})
    script = (
        Script(route).on("tokenByAkSk", token("t1"), token("t2")).on("upload", expired, accepted())
    )
    client(script).upload(item)
    assert script.routes() == ["tokenByAkSk", "upload", "tokenByAkSk", "upload"]


def test_bad_credentials_fail_without_retry(item: UploadItem) -> None:
    bad = httpx.Response(
        401, json={"returnCode": "401", "description": "invalid app_key/app_secret"}
    )
    script = Script(route).on("tokenByAkSk", bad)
    with pytest.raises(VendorAuthError) as err:
        client(script).upload(item)
    assert script.routes() == ["tokenByAkSk"]
    assert APP_SECRET not in str(err.value)


def test_validation_codes_and_throttling_are_typed(item: UploadItem) -> None:
    too_long = httpx.Response(200, json={"returnCode": "0300003", "description": "too long"})
    script = Script(route).on("tokenByAkSk", token()).on("upload", too_long)
    with pytest.raises(VendorValidationError) as err:
        client(script).upload(item)
    assert err.value.code == "0300003"
    assert script.routes() == ["tokenByAkSk", "upload"]

    script = Script(route).on("tokenByAkSk", token()).on("upload", httpx.Response(429, json={}))
    with pytest.raises(VendorRateLimited):
        client(script).upload(item)
    assert script.routes().count("upload") == 3


def alaw_wav(path: Path) -> str:
    """One second of A-law 8 kHz mono: a file the sandbox AICC takes."""
    import numpy as np
    import soundfile as sf

    t = np.arange(8000) / 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, subtype="ALAW")
    return str(path)


@pytest.mark.parametrize("name", ["a_1", "a-1", "こんにちは", "안녕", "a b", "a" * 51])
def test_a_name_huawei_refuses_is_a_local_error_never_rewritten(tmp_path: Path, name: str) -> None:
    from vendors.sandbox.server import serve_sandbox

    path = alaw_wav(tmp_path / "menu.wav")
    with serve_sandbox() as server:
        c = make_client("huawei", endpoint=server.url, credentials=CREDS)
        with pytest.raises(VendorValidationError, match="rename the output") as err:
            c.upload(UploadItem(path, name, None, "s"))
        assert err.value.field == "voiceFileName"
        assert server.app.state.sandbox.requests == {}  # nothing sent, not even a token


def test_a_name_that_fits_is_sent_as_is(tmp_path: Path) -> None:
    from vendors.sandbox.server import serve_sandbox

    path = alaw_wav(tmp_path / "menu.wav")
    with serve_sandbox() as server:
        c = make_client("huawei", endpoint=server.url, credentials=CREDS)
        receipt = c.upload(UploadItem(path, "欢迎Welcome01", None, "s"))
        stored = server.app.state.sandbox.huawei_uploads[receipt.remote_id]
        assert (
            stored.payload["voiceFileName"] == receipt.detail["voice_file_name"] == "欢迎Welcome01"
        )


def test_template_is_checked_before_it_leaves() -> None:
    script = (
        Script(route)
        .on("tokenByAkSk", token())
        .on(
            "createVoiceTemplate",
            httpx.Response(
                200, json={"returnCode": "0", "description": "ok", "templateId": "9001"}
            ),
        )
    )
    c = client(script)
    with pytest.raises(VendorValidationError, match="starts_with_variable"):
        c.create_voice_template("greeting", "${TXT_8}您好")
    assert script.requests == []
    receipt = c.create_voice_template("greeting", "尊敬的${TXT_8}您好")
    assert receipt.remote_id == "9001"
    body = json_of(script.sent("createVoiceTemplate")[0])
    assert body["voicecontent"] == {"textcontent": "尊敬的${TXT_8}您好", "language": "zh_CN"}
    assert body["scene"] == "3"


def test_review_callback_updates_the_matching_receipt() -> None:
    receipt = Receipt("huawei", "s", "o", "42", "submitted", None, 0.0, {})
    other = {"fileId": "43", "status": "2"}
    assert apply_review_callback(receipt, other, at=1.0).status == "submitted"
    payload = {"fileUrl": "Y:/IVR/1/x.wav", "fileId": "42", "status": "3", "comment": "noise"}
    updated = apply_review_callback(receipt, payload, at=2.0)
    assert (updated.status, updated.detail["comment"], updated.at) == ("rejected", "noise", 2.0)


def test_poll_has_nothing_to_ask() -> None:
    script = Script(route)
    receipt = Receipt("huawei", "s", "o", "42", "submitted", None, 0.0, {})
    assert client(script).poll(receipt) is receipt
    assert script.requests == []

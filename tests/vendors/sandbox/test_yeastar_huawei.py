"""The sandbox's Yeastar P-Series and Huawei AICC routes, with raw httpx requests."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.vendors.sandbox.helpers import wait_for, wav_bytes
from vendors.sandbox.config import ManualClock

YS = "/yeastar/openapi/v1.0"
HW_TOKEN = "/huawei/apigovernance/api/oauth/tokenByAkSk"
HW_UPLOAD = "/huawei/apiaccess/rest/cc-management/v1/importVoiceFile/upload"
HW_TEMPLATE = "/huawei/apiaccess/rest/cc-management/v1/createVoiceTemplate"


def ys_token(url: str) -> dict:
    creds = {"username": "sandbox-client", "password": "sandbox-secret"}
    return httpx.post(url + YS + "/get_token", json=creds).json()


def ys_upload(url: str, token: str, name: str, data: bytes, is_check: str) -> dict:
    return httpx.post(
        url + YS + "/custom_prompt/upload",
        params={"access_token": token},
        files={"file": (name, data, "audio/wav")},
        data={"is_check": is_check},
    ).json()


def test_yeastar_ask_never_stores_and_force_overwrites(make_sandbox):
    server = make_sandbox(yeastar_prompts={"welcome": "tts"})
    token = ys_token(server.url)["access_token"]
    data = wav_bytes(1.0)
    asked = ys_upload(server.url, token, "welcome.wav", data, "ask")
    assert asked == {"errcode": 0, "errmsg": "SUCCESS", "exist_type": "tts"}
    prompts = server.app.state.sandbox.yeastar_prompts
    assert prompts["welcome"].exist_type == "tts"  # ask changed nothing
    assert ys_upload(server.url, token, "fresh.wav", data, "ask") == {
        "errcode": 0,
        "errmsg": "SUCCESS",
    }
    assert "fresh" not in prompts
    assert ys_upload(server.url, token, "welcome.wav", data, "force")["errcode"] == 0
    assert prompts["welcome"].exist_type == "record" and prompts["welcome"].size == len(data)
    assert ys_upload(server.url, token, "welcome.wav", data, "ask")["exist_type"] == "record"


def _audio(rate: int, channels: int, fmt: str, subtype: str | None) -> bytes:
    buf = io.BytesIO()
    sf.write(
        buf, np.zeros((rate // 2, channels), np.float32) + 0.1, rate, format=fmt, subtype=subtype
    )
    return buf.getvalue()


PROMPT_CASES = {
    # name: (bytes maker, accepted, what the detail says)
    "pcm.wav": (lambda: wav_bytes(0.5, subtype="PCM_16"), True, ""),
    "alaw.wav": (lambda: wav_bytes(0.5, subtype="ALAW"), True, ""),
    "ulaw.wav": (lambda: wav_bytes(0.5, subtype="ULAW"), True, ""),
    "pcm24.wav": (lambda: wav_bytes(0.5, subtype="PCM_24"), False, "encoding pcm_24"),
    "float.wav": (lambda: wav_bytes(0.5, subtype="FLOAT"), False, "encoding float"),
    "pcm8.wav": (lambda: wav_bytes(0.5, subtype="PCM_U8"), False, "encoding pcm_u8"),
    "wide.wav": (lambda: wav_bytes(0.5, rate=16000), False, "16000 Hz"),
    "stereo.wav": (lambda: _audio(8000, 2, "WAV", "PCM_16"), False, "2 channels"),
    "tune.mp3": (lambda: _audio(16000, 2, "MP3", None), True, ""),  # MP3: no documented limits
    "frames.gsm": (lambda: b"\xd8" + b"\0" * 32, True, ""),  # one GSM 6.10 frame
    "broken.gsm": (lambda: b"\xd8" + b"\0" * 31, False, ""),
}


@pytest.mark.parametrize("name", list(PROMPT_CASES))
def test_yeastar_checks_prompt_encoding(make_sandbox, name):
    make, ok, says = PROMPT_CASES[name]
    data = make()
    server = make_sandbox()
    token = ys_token(server.url)["access_token"]
    for is_check in ("ask", "force"):
        body = ys_upload(server.url, token, name, data, is_check)
        if ok:
            assert body["errcode"] == 0, body
        else:
            assert (body["errcode"], body["errmsg"]) == (40002, "PARAMETER ERROR")
            assert says in body["detail"] and name in body["detail"]
    assert (name.split(".")[0] in server.app.state.sandbox.yeastar_prompts) is ok


def test_yeastar_errors(make_sandbox):
    server = make_sandbox()
    token = ys_token(server.url)["access_token"]
    data = wav_bytes(0.5)
    assert ys_upload(server.url, token, "a.wav", data, "maybe")["errcode"] == 40001
    assert ys_upload(server.url, token, "a b.wav", data, "ask")["errcode"] == 40002
    assert ys_upload(server.url, token, "a.ogg", data, "ask")["errcode"] == 40002
    assert ys_upload(server.url, token, "a.mp3", data, "ask")["errcode"] == 40002  # wav bytes
    assert (
        ys_upload(server.url, token, "big.wav", b"RIFF" + b"\0" * (8 << 20), "force")["errcode"]
        == 40004
    )
    assert ys_upload(server.url, "bogus", "a.wav", data, "ask")["errcode"] == 10004
    assert httpx.get(server.url + YS + "/get_token").json()["errcode"] == 10001
    assert httpx.post(server.url + YS + "/nope", json={}).json()["errcode"] == 10001
    other = httpx.post(server.url + "/yeastar/openapi/v2.0/get_token", json={})
    assert (other.status_code, other.json()["errcode"]) == (200, 10003)  # JSON, not HTTP 404
    no_ua = httpx.post(server.url + YS + "/get_token", json={}, headers={"User-Agent": ""})
    assert no_ua.json()["errcode"] == -1


def test_yeastar_token_expiry_refresh_and_eight_live(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    first = ys_token(server.url)
    assert (first["access_token_expire_time"], first["refresh_token_expire_time"]) == (1800, 86400)
    data = wav_bytes(0.5)
    clock.advance(1801)
    assert ys_upload(server.url, first["access_token"], "a.wav", data, "ask")["errcode"] == 10004
    renewed = httpx.post(
        server.url + YS + "/refresh_token", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert ys_upload(server.url, renewed["access_token"], "a.wav", data, "ask")["errcode"] == 0
    reused = httpx.post(
        server.url + YS + "/refresh_token", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert reused["errcode"] == 10004
    tokens = [ys_token(server.url)["access_token"] for _ in range(8)]
    # renewed + 8 new = 9 issued: the oldest live one (renewed) is retired
    assert ys_upload(server.url, renewed["access_token"], "a.wav", data, "ask")["errcode"] == 10004
    assert all(ys_upload(server.url, t, "a.wav", data, "ask")["errcode"] == 0 for t in tokens)


def test_yeastar_bad_login_then_block(make_sandbox):
    server = make_sandbox(yeastar_login_failures_before_block=2)
    bad = {"username": "sandbox-client", "password": "wrong"}
    codes = [
        httpx.post(server.url + YS + "/get_token", json=bad).json()["errcode"] for _ in range(3)
    ]
    assert codes == [10005, 10005, 70004]


def hw_token(url: str, expire: str = "600", secret: str = "sandbox-secret") -> httpx.Response:
    return httpx.post(
        url + HW_TOKEN,
        json={"app_key": "sandbox-app", "app_secret": secret},
        headers={"X-Token-Expire": expire},
    )


def hw_post(url: str, path: str, token: str, body: dict) -> httpx.Response:
    return httpx.post(
        url + path,
        json=body,
        headers={"Authorization": f"Bearer {token}", "X-APP-Key": "sandbox-app"},
    )


def upload_body(data: bytes, **extra: str) -> dict:
    return {
        "fileInfo": base64.b64encode(data).decode(),
        "locale": "zh_CN",
        "voiceType": "0",
        "fileType": "wav",
        **extra,
    }


def test_huawei_token_rules(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    assert hw_token(server.url, secret="nope").status_code == 401
    capped = hw_token(server.url, expire="99999").json()
    assert capped["Expires"] == "3600" and capped["ApplyType"] == "Bearer"
    token = hw_token(server.url, expire="60").json()["AccessToken"]
    assert (
        hw_post(server.url, HW_UPLOAD, token, upload_body(wav_bytes(1))).json()["returnCode"] == "0"
    )
    clock.advance(61)
    expired = hw_post(server.url, HW_UPLOAD, token, upload_body(wav_bytes(1)))
    assert expired.status_code == 401 and "expired" in expired.json()["description"]
    assert hw_post(server.url, HW_UPLOAD, "forged", upload_body(wav_bytes(1))).status_code == 401


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"locale": None}, "0300001"),
        ({"locale": "fr_FR"}, "0300004"),
        ({"fileType": "mp3"}, "0300004"),
        ({"voiceFileName": "x" * 51}, "0300003"),
        ({"voiceFileName": "bad-name"}, "0300004"),
        ({"fileInfo": "***"}, "0300004"),
    ],
)
def test_huawei_upload_validation(sandbox_url, change, code):
    token = hw_token(sandbox_url).json()["AccessToken"]
    body = {k: v for k, v in {**upload_body(wav_bytes(1)), **change}.items() if v is not None}
    r = hw_post(sandbox_url, HW_UPLOAD, token, body)
    assert (r.status_code, r.json()["returnCode"]) == (200, code)


def test_huawei_template_checks_bytes(sandbox_url):
    token = hw_token(sandbox_url).json()["AccessToken"]
    ok = {"name": "notice1", "voicecontent": {"textcontent": "您好，${TXT_8}", "language": "zh_CN"}}
    r = hw_post(sandbox_url, HW_TEMPLATE, token, ok).json()
    assert r["returnCode"] == "0" and r["templateId"].isdigit()
    long = {"name": "n", "voicecontent": {"textcontent": "好" * 167, "language": "zh_CN"}}
    assert hw_post(sandbox_url, HW_TEMPLATE, token, long).json()["returnCode"] == "0300003"


def test_huawei_rate_limit_ten_per_second(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    token = hw_token(server.url).json()["AccessToken"]
    body = upload_body(wav_bytes(0.2))
    codes = [hw_post(server.url, HW_UPLOAD, token, body).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]


def test_huawei_callback_retried_until_accepted(make_sandbox, receiver):
    server = make_sandbox(huawei_callback_delays_s=(0.01,) * 6)
    receiver.fail_first = 2
    token = hw_token(server.url).json()["AccessToken"]
    r = hw_post(server.url, HW_UPLOAD, token, upload_body(wav_bytes(1), callBackUrl=receiver.url))
    file_id = r.json()["fileId"]
    [record] = server.app.state.sandbox.huawei_callbacks
    wait_for(lambda: record.delivered)
    assert len(receiver.received) == 3 and record.tries[-1] == "ok"
    assert receiver.received[-1]["fileId"] == file_id and receiver.received[-1]["status"] == "2"


def test_huawei_callback_gives_up_after_budget(make_sandbox, receiver):
    server = make_sandbox(huawei_callback_delays_s=(0.01,) * 6)
    receiver.fail_first = 100
    token = hw_token(server.url).json()["AccessToken"]
    hw_post(server.url, HW_UPLOAD, token, upload_body(b"RIFF", callBackUrl=receiver.url))
    records = server.app.state.sandbox.huawei_callbacks
    assert records == []  # not audio: refused outright, nothing to review
    hw_post(server.url, HW_UPLOAD, token, upload_body(wav_bytes(1), callBackUrl=receiver.url))
    [record] = records
    wait_for(lambda: record.dropped)
    assert len(receiver.received) == 6 and not record.delivered


@pytest.mark.parametrize(("subtype", "native"), [("ALAW", True), ("PCM_16", False)])
def test_huawei_native_alaw_is_stored_without_transcoding(make_sandbox, receiver, subtype, native):
    server = make_sandbox(huawei_callback_delays_s=(0.01,) * 6)
    token = hw_token(server.url).json()["AccessToken"]
    body = upload_body(wav_bytes(1, subtype=subtype), callBackUrl=receiver.url)
    assert hw_post(server.url, HW_UPLOAD, token, body).json()["returnCode"] == "0"
    wait_for(lambda: receiver.received)
    assert ("transcoded" not in receiver.received[-1]["comment"]) is native


def test_huawei_callback_needs_http_200_and_the_string_zero(make_sandbox, receiver):
    server = make_sandbox(huawei_callback_delays_s=(0.01,) * 6)
    receiver.answers = [(500, {"returnCode": "0"}), (200, {"returnCode": 0})]
    token = hw_token(server.url).json()["AccessToken"]
    hw_post(server.url, HW_UPLOAD, token, upload_body(wav_bytes(1), callBackUrl=receiver.url))
    [record] = server.app.state.sandbox.huawei_callbacks
    wait_for(lambda: record.delivered)
    assert len(receiver.received) == 3 and record.tries[:2] != ["ok", "ok"]
    assert record.tries[0].startswith("HTTP 500") and record.tries[1].startswith("HTTP 200")

"""The sandbox's Alibaba dyvms routes (RPC + ACS3 signing, upload host) and fault injection."""

from __future__ import annotations

import httpx
import pytest

from tests.vendors.sandbox.helpers import aliyun, tc3, wav_bytes
from vendors.sandbox.config import ManualClock
from vendors.signing import RpcAuth

CALL = {"CalledShowNumber": "057188773344", "CalledNumber": "13800138000", "StartCode": "TTS_10001"}


@pytest.mark.parametrize("scheme", ["rpc", "acs3"])
def test_token_upload_audit_and_call(make_sandbox, scheme):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    r = aliyun(server.url, "GetToken", {"TokenType": "dyvms"}, scheme=scheme, clock=clock)
    assert r.status_code == 200 and r.json()["Code"] == "OK"
    token = r.json()["Token"]
    up = httpx.post(
        server.url + "/aliyun/dyvms/upload",
        params={"filename": "hi.wav"},
        content=wav_bytes(1.0),
        headers={"authorization": token, "Content-Type": "application/octet-stream"},
    )
    code = up.json()["data"]["voiceCode"]
    assert up.json()["code"] == "OK" and code.endswith(".wav")
    audit = aliyun(
        server.url,
        "QueryVoiceFileAuditInfo",
        {"VoiceCodes": code, "BusinessType": "0"},
        scheme=scheme,
        clock=clock,
    ).json()
    assert audit["Data"] == [
        {"VoiceCode": code, "AuditState": "AUDIT_STATE_PASS", "RejectInfo": ""}
    ]
    call = aliyun(server.url, "IvrCall", {**CALL, "StartCode": code}, scheme=scheme, clock=clock)
    assert call.json()["Code"] == "OK" and "^" in call.json()["CallId"]
    clock.advance(1800)
    expired = httpx.post(
        server.url + "/aliyun/dyvms/upload",
        params={"filename": "b.wav"},
        content=wav_bytes(0.5),
        headers={"authorization": token},
    )
    assert expired.status_code == 401


def test_gateway_errors(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    bad = aliyun(server.url, "GetToken", {}, secret="nope", clock=clock)
    assert (bad.status_code, bad.json()["Code"]) == (400, "SignatureDoesNotMatch")
    assert set(bad.json()) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    unknown = aliyun(server.url, "GetToken", {}, key_id="LTAIother", clock=clock)
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAccessKeyId.NotFound")
    for scheme in ("rpc", "acs3"):
        skew = aliyun(server.url, "GetToken", {}, scheme=scheme, clock=lambda: clock() - 901)
        assert skew.json()["Code"] == "InvalidTimeStamp.Expired"
    # replay: the same signed request twice
    auth = RpcAuth("LTAIsandbox", "sandbox-secret", clock=clock, nonce=lambda: "fixed-nonce")
    query = {"Action": "GetToken", "Version": "2017-05-25"}
    first = httpx.post(server.url + "/aliyun/", params=query, auth=auth)
    again = httpx.post(server.url + "/aliyun/", params=query, auth=auth)
    assert first.json()["Code"] == "OK" and again.json()["Code"] == "SignatureNonceUsed"
    assert aliyun(server.url, "Nope", {}, clock=clock).status_code == 404


def test_ivr_call_business_rules(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    ok = aliyun(server.url, "IvrCall", CALL, clock=clock)
    assert ok.json()["Code"] == "OK"
    again = aliyun(server.url, "IvrCall", CALL, clock=clock)
    assert (again.status_code, again.json()["Code"]) == (200, "isv.BUSINESS_LIMIT_CONTROL")
    clock.advance(61)
    assert aliyun(server.url, "IvrCall", CALL, clock=clock).json()["Code"] == "OK"
    mixed = aliyun(server.url, "IvrCall", {**CALL, "ByeCode": "x.wav"}, clock=clock).json()
    assert mixed["Code"] == "isv.INVALID_PARAMETERS"
    unknown_file = aliyun(
        server.url,
        "IvrCall",
        {**CALL, "CalledNumber": "13900139000", "StartCode": "nope.wav"},
        clock=clock,
    ).json()
    assert unknown_file["Code"] == "isv.VOICE_FILE_ILLEGAL"
    missing = aliyun(server.url, "IvrCall", {"CalledNumber": "13800138001"}, clock=clock)
    assert (missing.status_code, missing.json()["Code"]) == (400, "MissingParameter")


def _upload(url: str, clock: ManualClock) -> str:
    token = aliyun(url, "GetToken", {"TokenType": "dyvms"}, clock=clock).json()["Token"]
    up = httpx.post(
        url + "/aliyun/dyvms/upload",
        params={"filename": "menu.wav"},
        content=wav_bytes(1.0),
        headers={"authorization": token, "Content-Type": "application/octet-stream"},
    )
    return str(up.json()["data"]["voiceCode"])


@pytest.mark.parametrize("where", ["StartCode", "ByeCode", "MenuKeyMap.1.Code"])
def test_ivr_call_refuses_a_voice_file_still_under_review(make_sandbox, where):
    clock = ManualClock()
    server = make_sandbox(clock=clock, review_after_polls=5, review_after_s=3600.0)
    approved, pending = _upload(server.url, clock), _upload(server.url, clock)
    server.app.state.sandbox.aliyun_files[approved].pinned_state = "AUDIT_STATE_PASS"
    params = {**CALL, "StartCode": approved, where: pending}
    if where.startswith("MenuKeyMap"):
        params["MenuKeyMap.1.Key"] = "1"
    refused = aliyun(server.url, "IvrCall", params, clock=clock)
    assert (refused.status_code, refused.json()["Code"]) == (200, "isv.VOICE_FILE_ILLEGAL")
    assert "AUDIT_STATE_INIT" in refused.json()["Message"]
    assert server.app.state.sandbox.aliyun_calls == []  # no call placed
    clock.advance(3600)  # the review passes
    assert aliyun(server.url, "IvrCall", params, clock=clock).json()["Code"] == "OK"


@pytest.mark.parametrize(
    "audit",
    [
        "AUDIT_STATE_UPLOADING",
        "AUDIT_PAUSE",
        "AUDIT_ORDER_FINISHED",
        "AUDIT_SATE_CANCEL",
        "AUDIT_STATE_CANCEL",
    ],
)
def test_ivr_call_plays_only_an_approved_voice_file(make_sandbox, audit):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    code = _upload(server.url, clock)
    server.app.state.sandbox.aliyun_files[code].pinned_state = audit
    refused = aliyun(server.url, "IvrCall", {**CALL, "StartCode": code}, clock=clock).json()
    assert refused["Code"] == "isv.VOICE_FILE_ILLEGAL" and audit in refused["Message"]
    # a cancelled review never resumes: the message must not say to wait for it
    again = "upload the file again"
    says = {"AUDIT_SATE_CANCEL": again, "AUDIT_STATE_CANCEL": again, "AUDIT_PAUSE": "paused"}
    assert says.get(audit, "wait for the review") in refused["Message"]
    assert ("about 2 h" in refused["Message"]) == (audit not in says)


def test_throttle_fault_per_vendor(make_sandbox):
    server = make_sandbox(throttle_rate=1.0)
    t = tc3(server.url, "DescribeIvrAudioList", {"SdkAppId": 1, "PageSize": 1, "PageNumber": 0})
    assert t["Error"]["Code"] == "RequestLimitExceeded"
    a = aliyun(server.url, "GetToken", {})
    assert (a.status_code, a.json()["Code"]) == (400, "Throttling")
    h = httpx.post(server.url + "/huawei/apigovernance/api/oauth/tokenByAkSk", json={})
    assert h.status_code == 429
    assert httpx.get(server.url + "/_sandbox/health").json() == {"ok": True}  # control: no faults


def test_error_fault_and_runtime_switch(make_sandbox):
    server = make_sandbox(error_rate=1.0)
    t = tc3(server.url, "DescribeIvrAudioList", {"SdkAppId": 1, "PageSize": 1, "PageNumber": 0})
    assert t["Error"]["Code"] == "InternalError"
    ys = httpx.post(server.url + "/yeastar/openapi/v1.0/get_token", json={}).json()
    assert ys["errcode"] == -2
    switched = httpx.post(server.url + "/_sandbox/faults", json={"error_rate": 0.0}).json()
    assert switched["error_rate"] == 0.0
    t = tc3(server.url, "DescribeIvrAudioList", {"SdkAppId": 1, "PageSize": 1, "PageNumber": 0})
    assert t["TotalCount"] == 0
    assert httpx.post(server.url + "/_sandbox/faults", json={"drop": 1}).status_code == 400


def test_dropped_connection_and_lost_response(make_sandbox):
    server = make_sandbox(drop_rate=1.0)
    creds = {"username": "sandbox-client", "password": "sandbox-secret"}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(server.url + "/yeastar/openapi/v1.0/get_token", json=creds)
    state = server.app.state.sandbox
    assert state.yeastar_tokens == [] and state.faults == {"drop": 1}
    lost = make_sandbox(lost_response_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(lost.url + "/yeastar/openapi/v1.0/get_token", json=creds)
    assert len(lost.app.state.sandbox.yeastar_tokens) == 1  # handled, answer lost


def test_fault_dice_are_seeded(make_sandbox):
    def outcomes() -> list[int]:
        server = make_sandbox(error_rate=0.5, seed=7)
        url = server.url + "/yeastar/openapi/v1.0/get_token"
        return [httpx.post(url, json={}).json()["errcode"] for _ in range(12)]

    first = outcomes()
    assert first == outcomes() and {-2, 10005} <= set(first)

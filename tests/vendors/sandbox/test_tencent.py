"""The sandbox's Tencent Cloud API 3.0 (CCC + VOD) against raw requests signed by TC3Auth."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.vendors.sandbox.helpers import VOD, tc3, wav_bytes
from vendors.sandbox.config import ManualClock
from vendors.sandbox.tencent import form_params
from vendors.signing import TC3Auth


def upload(url: str, files: list[tuple[str, str]], **kw: Any) -> dict[str, Any]:
    audio = [{"CustomFileName": n, "AudioUrl": u} for n, u in files]
    return tc3(url, "UploadIvrAudio", {"SdkAppId": 1400, "AudioList": audio}, **kw)


def test_ccc_upload_accepts_good_file_and_lists_it(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    ok = file_server.put("hello.wav", wav_bytes(2.0))
    body = upload(server.url, [("hello", ok)], clock=clock)
    assert body["FailedFileList"] is None
    [info] = body["SuccessFileList"]
    assert info["CustomFileName"] == "hello" and info["Status"] == 0
    assert file_server.hits["hello.wav"] == 1
    listed = tc3(
        server.url,
        "DescribeIvrAudioList",
        {"SdkAppId": 1400, "PageSize": 50, "PageNumber": 0, "FileId": [info["FileId"]]},
        clock=clock,
    )
    assert listed["TotalCount"] == 1
    assert listed["FileInfo"][0]["Status"] == 1  # reviewed after one poll


def test_ccc_bad_items_go_to_failed_list_not_an_error(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    good = file_server.put("a.wav", wav_bytes(1.0))
    big = file_server.put("big.wav", wav_bytes(330.0, rate=8000))  # > 5 MB
    junk = file_server.put("junk.wav", b"not audio at all" * 10)
    missing = file_server.url + "/nothing.wav"
    body = upload(
        server.url, [("a", good), ("big", big), ("junk", junk), ("gone", missing)], clock=clock
    )
    assert [f["CustomFileName"] for f in body["SuccessFileList"]] == ["a"]
    failed = {f["FileName"]: f["FailedMsg"] for f in body["FailedFileList"]}
    assert set(failed) == {"big", "junk", "gone"}
    assert "over the limit" in failed["big"] and "404" in failed["gone"]
    # only the accepted file counts against the day's quota
    assert server.app.state.sandbox.ccc_daily == {(1400, server.app.state.sandbox.ccc_day()): 1}


def test_ccc_daily_quota_counts_files(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock, ccc_daily_files=3)
    url = file_server.put("x.wav", wav_bytes(0.5))
    body = upload(server.url, [("a", url), ("b", url)], clock=clock)
    assert len(body["SuccessFileList"]) == 2
    clock.advance(1.1)
    refused = upload(server.url, [("c", url), ("d", url)], clock=clock)
    assert refused["Error"]["Code"] == "FailedOperation.UploadFileOverflow"
    assert "2 uploaded" in refused["Error"]["Message"]
    clock.advance(1.1)
    assert len(upload(server.url, [("c", url)], clock=clock)["SuccessFileList"]) == 1
    clock.advance(86400)  # the next day has a fresh quota
    assert len(upload(server.url, [("d", url), ("e", url)], clock=clock)["SuccessFileList"]) == 2


def test_ccc_rate_limit_one_per_second(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    url = file_server.put("x.wav", wav_bytes(0.5))
    assert "SuccessFileList" in upload(server.url, [("a", url)], clock=clock)
    clock.advance(0.5)
    assert upload(server.url, [("b", url)], clock=clock)["Error"]["Code"] == "RequestLimitExceeded"
    clock.advance(0.6)
    assert "SuccessFileList" in upload(server.url, [("b", url)], clock=clock)
    # the list action has its own bucket (20/s): not affected by the upload limit
    listed = tc3(
        server.url,
        "DescribeIvrAudioList",
        {"SdkAppId": 1400, "PageSize": 10, "PageNumber": 0},
        clock=clock,
    )
    assert listed["TotalCount"] == 2


def test_signature_errors_as_tencent_answers_them(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    payload = {"SdkAppId": 1, "PageSize": 1, "PageNumber": 0}
    wrong = tc3(server.url, "DescribeIvrAudioList", payload, secret_key="nope", clock=clock)
    assert wrong["Error"]["Code"] == "AuthFailure.SignatureFailure"
    unknown = tc3(server.url, "DescribeIvrAudioList", payload, secret_id="AKIDother", clock=clock)
    assert unknown["Error"]["Code"] == "AuthFailure.SecretIdNotFound"
    skewed = tc3(server.url, "DescribeIvrAudioList", payload, clock=lambda: clock() - 301)
    assert skewed["Error"]["Code"] == "AuthFailure.SignatureExpire"
    # skew is checked before the signature: a skewed request with a bad key says "expire"
    both = tc3(
        server.url, "DescribeIvrAudioList", payload, secret_key="nope", clock=lambda: clock() + 400
    )
    assert both["Error"]["Code"] == "AuthFailure.SignatureExpire"
    wrong_service = tc3(
        server.url, "DescribeIvrAudioList", payload, api=("vod", "2020-02-10"), clock=clock
    )
    assert wrong_service["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_tampered_body_fails_signature(sandbox_url):
    auth = TC3Auth("AKIDsandbox", "sandbox-secret", "ccc")
    request = httpx.Request(
        "POST",
        sandbox_url + "/tencent/",
        content=b'{"SdkAppId": 1}',
        headers={
            "Content-Type": "application/json",
            "X-TC-Action": "DescribeIvrAudioList",
            "X-TC-Version": "2020-02-10",
        },
    )
    signed = next(auth.auth_flow(request))
    tampered = httpx.Request("POST", signed.url, content=b'{"SdkAppId": 2}', headers=signed.headers)
    body = httpx.Client().send(tampered).json()["Response"]
    assert body["Error"]["Code"] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("action", "version", "payload", "code"),
    [
        ("NoSuchThing", "2020-02-10", {}, "InvalidAction"),
        ("UploadIvrAudio", "2018-07-17", {}, "NoSuchVersion"),
        ("UploadIvrAudio", "2020-02-10", {"AudioList": []}, "MissingParameter"),
        ("UploadIvrAudio", "2020-02-10", {"SdkAppId": 1, "Extra": 1}, "UnknownParameter"),
        (
            "DescribeIvrAudioList",
            "2020-02-10",
            {"SdkAppId": 1, "PageSize": 51, "PageNumber": 0},
            "InvalidParameterValue",
        ),
        (
            "UploadIvrAudio",
            "2020-02-10",
            {"SdkAppId": 1, "AudioList": [{"CustomFileName": "a/b", "AudioUrl": "http://x/"}]},
            "InvalidParameterValue",
        ),
    ],
)
def test_ccc_schema(sandbox_url, action, version, payload, code):
    body = tc3(sandbox_url, action, payload, api=("ccc", version))
    assert body["Error"]["Code"] == code


@pytest.mark.parametrize(
    "bad",
    [{"FileId": [[1]]}, {"FileId": ["1"]}, {"CustomFileName": [{"a": 1}]}, {"AudioFileName": [1]}],
)
def test_ccc_list_filters_of_the_wrong_type_are_invalid_values_not_a_crash(sandbox_url, bad):
    payload = {"SdkAppId": 1, "PageSize": 10, "PageNumber": 0, **bad}
    body = tc3(sandbox_url, "DescribeIvrAudioList", payload)
    assert body["Error"]["Code"] == "InvalidParameterValue"
    assert next(iter(bad)) in body["Error"]["Message"]


def signed(url: str, method: str, content_type: str, **kw: Any) -> dict[str, Any]:
    headers = {"Content-Type": content_type, "X-TC-Action": "DescribeIvrAudioList"}
    headers["X-TC-Version"] = "2020-02-10"
    auth = TC3Auth("AKIDsandbox", "sandbox-secret", "ccc")
    r = httpx.request(method, url + "/tencent/", headers=headers, auth=auth, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["Response"]
    return body


def test_tc3_post_must_be_json(sandbox_url):
    body = b'{"SdkAppId": 1, "PageSize": 10, "PageNumber": 0}'
    for content_type in ("text/plain", "multipart/form-data; boundary=x", ""):
        answer = signed(sandbox_url, "POST", content_type, content=body)
        assert answer["Error"]["Code"] == "InvalidParameter", content_type
    ok = signed(sandbox_url, "POST", "application/json; charset=utf-8", content=body)
    assert ok["TotalCount"] == 0


def test_tc3_get_takes_form_parameters(make_sandbox, file_server):
    server = make_sandbox()
    url = file_server.put("a.wav", wav_bytes(1.0))
    first = upload(server.url, [("greet", url), ("other", url)])["SuccessFileList"][0]
    query = {
        "SdkAppId": "1400",
        "PageSize": "10",
        "PageNumber": "0",
        "FileId.0": str(first["FileId"]),
    }
    form = "application/x-www-form-urlencoded"
    listed = signed(server.url, "GET", form, params=query)
    assert [f["CustomFileName"] for f in listed["FileInfo"]] == ["greet"]
    as_json = signed(server.url, "GET", "application/json", params=query)
    assert as_json["Error"]["Code"] == "InvalidParameter"
    typed = signed(server.url, "GET", form, params={**query, "SdkAppId": "x"})
    assert typed["Error"]["Code"] == "InvalidParameterValue"


def test_form_params_nest_arrays_and_objects():
    query = "SdkAppId=7&AudioList.0.CustomFileName=a&AudioList.0.AudioUrl=u&FileId.1=3&FileId.0=2"
    assert form_params(query) == {
        "SdkAppId": 7,
        "AudioList": [{"CustomFileName": "a", "AudioUrl": "u"}],
        "FileId": [2, 3],
    }


def test_root_path_accepts_tencent(sandbox_url):
    body = tc3(
        sandbox_url,
        "DescribeIvrAudioList",
        {"SdkAppId": 7, "PageSize": 10, "PageNumber": 0},
        path="/",
    )
    assert body == {"TotalCount": 0, "FileInfo": [], "RequestId": body["RequestId"]}


def vod_create(url: str, voice_url: str, clock: ManualClock, **extra: Any) -> dict[str, Any]:
    payload = {"SubAppId": 9, "VoiceName": "anna", "VoiceUrl": voice_url, **extra}
    return tc3(url, "CreateAigcCustomVoice", payload, api=VOD, clock=clock)


def vod_detail(url: str, task_id: str, clock: ManualClock) -> dict[str, Any]:
    return tc3(url, "DescribeTaskDetail", {"TaskId": task_id, "SubAppId": 9}, api=VOD, clock=clock)


def test_vod_task_advances_and_finishes(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    task_id = vod_create(server.url, file_server.put("v.wav", wav_bytes(10.0, rate=24000)), clock)[
        "TaskId"
    ]
    assert task_id.startswith("221073-CreateAigcCustomVoice-") and task_id.endswith("t")
    details = [vod_detail(server.url, task_id, clock) for _ in range(4)]
    assert [d["Status"] for d in details] == ["WAITING", "PROCESSING", "FINISH", "FINISH"]
    first = details[0]
    assert first["BeginProcessTime"] == "" and first["FinishTime"] == ""
    assert first["CreateAigcCustomVoiceTask"]["Progress"] == 0
    assert details[1]["CreateAigcCustomVoiceTask"]["Progress"] == 50
    task = vod_detail(server.url, task_id, clock)["CreateAigcCustomVoiceTask"]
    assert task["ErrCode"] == 0 and task["ErrCodeExt"] == ""
    assert task["Output"]["InfoList"][0]["VoiceId"]
    events = tc3(server.url, "PullEvents", {}, api=VOD, clock=clock)["EventSet"]
    assert [e["CreateAigcCustomVoiceCompleteEvent"]["TaskId"] for e in events] == [task_id]
    tc3(
        server.url,
        "ConfirmEvents",
        {"EventHandles": [events[0]["EventHandle"]]},
        api=VOD,
        clock=clock,
    )
    assert tc3(server.url, "PullEvents", {}, api=VOD, clock=clock)["EventSet"] == []


@pytest.mark.parametrize(("dur_s", "ok"), [(4.5, False), (5.5, True), (29.5, True), (31.0, False)])
def test_vod_inspects_5_to_30_s(make_sandbox, file_server, dur_s, ok):
    clock = ManualClock()
    server = make_sandbox(clock=clock, review_after_polls=1)
    url = file_server.put("v.wav", wav_bytes(dur_s, rate=8000))
    task_id = vod_create(server.url, url, clock)["TaskId"]
    vod_detail(server.url, task_id, clock)
    vod_detail(server.url, task_id, clock)
    task = vod_detail(server.url, task_id, clock)["CreateAigcCustomVoiceTask"]
    assert task["Status"] == "FINISH"
    assert (task["ErrCodeExt"] == "") is ok
    if not ok:
        assert "5 s" in task["Message"] or "30 s" in task["Message"]


def test_vod_session_id_dedup_and_field_rules(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    url = file_server.put("v.wav", wav_bytes(6.0))
    assert "TaskId" in vod_create(server.url, url, clock, SessionId="s1")
    again = vod_create(server.url, url, clock, SessionId="s1")
    assert again["Error"]["Code"] == "InvalidParameterValue.SessionId"
    clock.advance(3 * 86400 + 1)
    assert "TaskId" in vod_create(server.url, url, clock, SessionId="s1")
    long = vod_create(server.url, url, clock, SessionId="x" * 51)
    assert long["Error"]["Code"] == "InvalidParameterValue.SessionIdTooLong"
    both = vod_create(server.url, url, clock, VideoId="v1")
    assert both["Error"]["Code"] == "InvalidParameterValue"
    gone = vod_create(server.url, file_server.url + "/missing.wav", clock)
    assert gone["Error"]["Code"] == "InvalidParameterValue.Url"
    assert len(server.app.state.sandbox.vod_tasks) == 2


def test_body_is_hashed_as_sent(sandbox_url):
    # Any serialisation works if signed as sent (the SDK uses ", " separators).
    auth = TC3Auth("AKIDsandbox", "sandbox-secret", "ccc")
    body = json.dumps({"SdkAppId": 3, "PageSize": 5, "PageNumber": 0}, indent=2).encode()
    r = httpx.post(
        sandbox_url + "/tencent",
        content=body,
        auth=auth,
        headers={
            "Content-Type": "application/json",
            "X-TC-Action": "DescribeIvrAudioList",
            "X-TC-Version": "2020-02-10",
        },
    )
    assert r.json()["Response"]["TotalCount"] == 0


def test_vod_rate_limits_are_per_action(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    url = file_server.put("v.wav", wav_bytes(6.0))
    task_id = vod_create(server.url, url, clock)["TaskId"]
    clock.advance(1.0)  # a full second's worth in every bucket
    for _ in range(20):
        assert "Error" not in vod_detail(server.url, task_id, clock)
    # DescribeTaskDetail's bucket is empty; its own 21st call in the same instant is refused...
    assert vod_detail(server.url, task_id, clock)["Error"]["Code"] == "RequestLimitExceeded"
    # ...but CreateAigcCustomVoice, PullEvents and ConfirmEvents have buckets of their own.
    assert "TaskId" in vod_create(server.url, url, clock)
    assert "EventSet" in tc3(server.url, "PullEvents", {}, api=VOD, clock=clock)
    confirms = [
        tc3(server.url, "ConfirmEvents", {"EventHandles": []}, api=VOD, clock=clock)
        for _ in range(100)
    ]
    assert all("Error" not in c for c in confirms)
    refused = tc3(server.url, "ConfirmEvents", {"EventHandles": []}, api=VOD, clock=clock)
    assert refused["Error"]["Code"] == "RequestLimitExceeded"


def test_vod_first_poll_after_creation_is_waiting(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock, review_after_polls=1, review_after_s=5.0)
    task_id = vod_create(server.url, file_server.put("v.wav", wav_bytes(6.0)), clock)["TaskId"]
    first = vod_detail(server.url, task_id, clock)
    assert first["Status"] == "WAITING"
    assert first["CreateAigcCustomVoiceTask"]["Status"] == "PROCESSING"  # task object: no WAITING
    assert first["CreateAigcCustomVoiceTask"]["Output"]["InfoList"] == []
    # time alone advances it too: 5 s later the (unpolled) task is PROCESSING
    other = vod_create(server.url, file_server.put("w.wav", wav_bytes(6.0)), clock)["TaskId"]
    clock.advance(5.0)
    assert vod_detail(server.url, other, clock)["Status"] == "PROCESSING"


def test_vod_confirm_events_rejects_unknown_handles(make_sandbox, file_server):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    task_id = vod_create(server.url, file_server.put("v.wav", wav_bytes(6.0)), clock)["TaskId"]
    clock.advance(10.0)  # finished by time
    [event] = tc3(server.url, "PullEvents", {}, api=VOD, clock=clock)["EventSet"]
    for bad in (["evt-nonsense"], ["no-such-handle"], [event["EventHandle"], "evt-x"]):
        refused = tc3(server.url, "ConfirmEvents", {"EventHandles": bad}, api=VOD, clock=clock)
        assert refused["Error"]["Code"] == "InvalidParameterValue"
        assert "EventHandle" in refused["Error"]["Message"]
    # a refused call confirmed nothing: the event comes back after the 30 s window
    assert task_id not in server.app.state.sandbox.vod_confirmed
    ok = tc3(
        server.url, "ConfirmEvents", {"EventHandles": [event["EventHandle"]]}, api=VOD, clock=clock
    )
    assert "Error" not in ok
    clock.advance(31.0)
    assert tc3(server.url, "PullEvents", {}, api=VOD, clock=clock)["EventSet"] == []

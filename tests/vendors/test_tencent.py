"""Tencent CCC and VOD clients against a scripted transport (no network)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendors.fakes import FakeClock, Script, json_of, write_file
from vendors.base import Receipt, UploadItem, make_async_client, make_client
from vendors.credentials import Credentials, Secret
from vendors.errors import (
    VendorAuthError,
    VendorOutcomeUnknown,
    VendorQuotaExceeded,
    VendorRateLimited,
    VendorUnavailable,
    VendorValidationError,
)
from vendors.limits import DailyQuota
from vendors.retry import RetryPolicy
from vendors.signing import RequestParts, verify_tc3

SECRET_ID, SECRET_KEY = "AKIDsandbox", "sandbox-secret"
CREDS = Credentials("tencent", SECRET_ID, Secret(SECRET_KEY))


def action(request: httpx.Request) -> str:
    return request.headers["X-TC-Action"]


def ok(**fields: Any) -> httpx.Response:
    return httpx.Response(200, json={"Response": {**fields, "RequestId": "req-1"}})


def fail(code: str, message: str = "no") -> httpx.Response:
    return httpx.Response(
        200, json={"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-e"}}
    )


def uploaded(name: str = "hello", file_id: int = 7, status: int = 0) -> httpx.Response:
    info = {"FileId": file_id, "CustomFileName": name, "AudioFileName": "a.wav", "Status": status}
    return ok(SuccessFileList=[info], FailedFileList=None)


def listed(name: str = "hello", file_id: int = 7, status: int = 0) -> httpx.Response:
    info = {"FileId": file_id, "CustomFileName": name, "AudioFileName": "a.wav", "Status": status}
    return ok(TotalCount=1, FileInfo=[info])


NONE_LISTED = ok(TotalCount=0, FileInfo=[])
"""No file of that name on CCC yet: the answer to the look before the first upload."""


def ccc_script() -> Script:
    """A CCC script whose DescribeIvrAudioList finds nothing (until told otherwise)."""
    return Script(action).on("DescribeIvrAudioList", NONE_LISTED)


@pytest.fixture
def item(tmp_path: Path) -> UploadItem:
    path = write_file(tmp_path / "hello.wav")
    return UploadItem(path=path, name="hello", url="http://127.0.0.1:9/hello.wav", source="in.m4a")


def ccc(script: Script, tmp_path: Path, **options: Any) -> Any:
    clock = FakeClock()
    options.setdefault("retry", RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.1))
    return make_client(
        "tencent-ccc-ivr",
        endpoint="http://127.0.0.1:8080",
        credentials=CREDS,
        state_dir=str(tmp_path),
        sdk_app_id=1400000001,
        transport=script.transport(),
        sleep=clock.sleep,
        **options,
    )


# --- CCC ------------------------------------------------------------------------------------


def test_ccc_upload_is_signed_for_the_host_it_sends_and_returns_a_receipt(
    tmp_path: Path, item: UploadItem
) -> None:
    script = ccc_script().on("UploadIvrAudio", uploaded())
    receipt = ccc(script, tmp_path).upload(item)
    (request,) = script.sent("UploadIvrAudio")
    assert str(request.url) == "http://127.0.0.1:8080/tencent/"
    verdict = verify_tc3(
        RequestParts.from_httpx(request), {SECRET_ID: SECRET_KEY}.get,
        now=float(request.headers["X-TC-Timestamp"]), service="ccc",
    )  # fmt: skip
    assert verdict.ok, verdict.message
    assert request.headers["X-TC-Version"] == "2020-02-10"
    assert json_of(request) == {
        "SdkAppId": 1400000001,
        "AudioList": [{"CustomFileName": "hello", "AudioUrl": item.url}],
    }
    assert (receipt.remote_id, receipt.status, receipt.request_id) == ("7", "submitted", "req-1")
    assert receipt.detail["audio_file_name"] == "a.wav"


def test_ccc_partial_failure_is_a_failed_receipt_and_gives_the_quota_back(
    tmp_path: Path, item: UploadItem
) -> None:
    script = ccc_script().on(
        "UploadIvrAudio",
        ok(SuccessFileList=None, FailedFileList=[{"FileName": "hello", "FailedMsg": "bad format"}]),
    )
    client = ccc(script, tmp_path)
    receipt = client.upload(item)
    assert receipt.status == "failed" and receipt.remote_id is None
    assert receipt.detail["message"] == "bad format"
    assert client.quota.used() == 0


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("AuthFailure.SignatureFailure", VendorAuthError),
        ("AuthFailure.SignatureExpire", VendorAuthError),
        ("InvalidParameterValue", VendorValidationError),
        ("MissingParameter", VendorValidationError),
    ],
)
def test_ccc_auth_and_validation_errors_are_typed_and_never_retried(
    tmp_path: Path, item: UploadItem, code: str, error: type[Exception]
) -> None:
    script = ccc_script().on("UploadIvrAudio", fail(code, "refused"))
    client = ccc(script, tmp_path)
    with pytest.raises(error) as err:
        client.upload(item)
    assert err.value.code == code and err.value.request_id == "req-e"  # type: ignore[attr-defined]
    assert script.routes() == ["DescribeIvrAudioList", "UploadIvrAudio"]
    assert client.quota.used() == 0


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "InternalError", "InternalError.DBError"])
def test_ccc_retries_throttling_and_internal_errors(
    tmp_path: Path, item: UploadItem, code: str
) -> None:
    script = (
        Script(action)
        .on("UploadIvrAudio", fail(code), uploaded())
        .on("DescribeIvrAudioList", ok(TotalCount=0, FileInfo=None))
    )
    receipt = ccc(script, tmp_path).upload(item)
    assert receipt.remote_id == "7"
    # an InternalError may come after the file was stored: look before sending again
    lookup = ["DescribeIvrAudioList"] if code.startswith("InternalError") else []
    assert script.routes() == ["DescribeIvrAudioList", "UploadIvrAudio", *lookup, "UploadIvrAudio"]


def test_ccc_gives_up_after_max_attempts(tmp_path: Path, item: UploadItem) -> None:
    script = ccc_script().on("UploadIvrAudio", fail("RequestLimitExceeded"))
    with pytest.raises(VendorRateLimited):
        ccc(script, tmp_path).upload(item)
    assert script.routes() == ["DescribeIvrAudioList"] + ["UploadIvrAudio"] * 3


def test_ccc_dropped_upload_is_looked_up_before_sending_again(
    tmp_path: Path, item: UploadItem
) -> None:
    drop = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    script = ccc_script().on("UploadIvrAudio", drop).on("DescribeIvrAudioList", listed())
    receipt = ccc(script, tmp_path).upload(item)
    assert script.routes() == ["DescribeIvrAudioList", "UploadIvrAudio", "DescribeIvrAudioList"]
    assert (receipt.remote_id, receipt.status, receipt.detail["adopted"]) == (
        "7",
        "submitted",
        True,
    )
    assert json_of(script.sent("DescribeIvrAudioList")[1])["CustomFileName"] == ["hello"]


def test_ccc_dropped_upload_not_found_is_sent_again(tmp_path: Path, item: UploadItem) -> None:
    drop = httpx.ReadTimeout("timed out")
    script = (
        Script(action)
        .on("UploadIvrAudio", drop, uploaded())
        .on("DescribeIvrAudioList", ok(TotalCount=0, FileInfo=[]))
    )
    client = ccc(script, tmp_path)
    receipt = client.upload(item)
    assert script.routes() == [
        "DescribeIvrAudioList", "UploadIvrAudio", "DescribeIvrAudioList", "UploadIvrAudio"
    ]  # fmt: skip
    assert receipt.remote_id == "7"
    assert client.quota.used() == 1


def test_ccc_refused_connection_is_retried_without_lookup(tmp_path: Path, item: UploadItem) -> None:
    script = ccc_script().on("UploadIvrAudio", httpx.ConnectError("refused"), uploaded())
    ccc(script, tmp_path).upload(item)
    assert script.routes() == ["DescribeIvrAudioList", "UploadIvrAudio", "UploadIvrAudio"]


def test_ccc_resumed_item_already_uploaded_is_adopted(tmp_path: Path, item: UploadItem) -> None:
    item.resumed, item.progress = True, {"ccc_newest_before": 0}
    script = Script(action).on("DescribeIvrAudioList", listed(status=1))
    receipt = ccc(script, tmp_path).upload(item)
    assert script.routes() == ["DescribeIvrAudioList"]
    assert (receipt.status, receipt.remote_id, receipt.detail["adopted"]) == ("approved", "7", True)


def test_ccc_an_older_file_of_the_same_name_is_never_adopted(
    tmp_path: Path, item: UploadItem
) -> None:
    # CustomFileName is an alias: file 7 was there before our first attempt, so it is not ours.
    drop = httpx.ReadTimeout("timed out")
    script = Script(action).on("DescribeIvrAudioList", listed(file_id=7))
    script.on("UploadIvrAudio", drop, uploaded(file_id=9))
    receipt = ccc(script, tmp_path).upload(item)
    assert script.routes() == [
        "DescribeIvrAudioList", "UploadIvrAudio", "DescribeIvrAudioList", "UploadIvrAudio"
    ]  # fmt: skip
    assert (receipt.remote_id, receipt.status) == ("9", "submitted")
    # resumed with the note of that first look: only a file above 7 is ours
    item.resumed, item.progress = True, {"ccc_newest_before": 7}
    script = Script(action).on("DescribeIvrAudioList", listed(file_id=7))
    script.on("UploadIvrAudio", uploaded(file_id=10))
    assert ccc(script, tmp_path).upload(item).remote_id == "10"


def test_ccc_resumed_attempt_of_0_3_6_is_unknown_when_a_file_of_that_name_exists(
    tmp_path: Path, item: UploadItem
) -> None:
    # 0.3.6 noted no first look: file 7 may be its upload or someone else's
    item.resumed, item.notes_kept = True, False
    script = Script(action).on("DescribeIvrAudioList", listed(file_id=7))
    client = ccc(script, tmp_path)
    with pytest.raises(VendorOutcomeUnknown) as err:
        client.upload(item)
    assert script.routes() == ["DescribeIvrAudioList"]  # neither adopted nor sent
    assert err.value.code == VendorOutcomeUnknown.CODE
    assert "FileId 7" in err.value.message and "--retry-unknown" in err.value.message
    # the same row is left by a later attempt stopped before its first look: say both
    assert "0.3.6 or older" in err.value.message and "before its first look" in err.value.message
    assert client.quota.used() == 0


def test_ccc_resumed_attempt_of_0_3_6_is_sent_when_nothing_of_that_name_landed(
    tmp_path: Path, item: UploadItem
) -> None:
    item.resumed, item.notes_kept = True, False
    saved: list[dict[str, Any]] = []
    item.save = saved.append
    script = ccc_script().on("UploadIvrAudio", uploaded(file_id=9))
    assert ccc(script, tmp_path).upload(item).remote_id == "9"
    assert script.routes() == ["DescribeIvrAudioList", "UploadIvrAudio"]  # one look only
    assert saved == [{"ccc_newest_before": 0}]  # a later resume adopts only above 0


def test_ccc_resumed_attempt_of_0_3_6_whose_look_fails_is_reconciled_again(
    tmp_path: Path, item: UploadItem
) -> None:
    item.resumed, item.notes_kept = True, False
    script = Script(action).on("DescribeIvrAudioList", fail("InternalError"))
    with pytest.raises(VendorUnavailable) as err:
        ccc(script, tmp_path).upload(item)
    assert err.value.maybe_delivered  # the row stays `sending`: the next run looks again
    assert set(script.routes()) == {"DescribeIvrAudioList"}  # (retried), nothing uploaded


def test_ccc_first_look_is_noted_before_the_upload_leaves(tmp_path: Path, item: UploadItem) -> None:
    saved: list[tuple[dict[str, Any], list[str]]] = []
    script = Script(action).on("DescribeIvrAudioList", listed(file_id=7))
    script.on("UploadIvrAudio", uploaded(file_id=9))
    item.save = lambda progress: saved.append((progress, script.routes()))
    ccc(script, tmp_path).upload(item)
    assert saved == [({"ccc_newest_before": 7}, ["DescribeIvrAudioList"])]


def test_ccc_an_item_holds_one_quota_reservation_across_a_failed_lookup_and_a_resume(
    tmp_path: Path, item: UploadItem
) -> None:
    drop = httpx.ReadTimeout("timed out")
    script = Script(action).on("DescribeIvrAudioList", NONE_LISTED, fail("InternalError"))
    script.on("UploadIvrAudio", drop)
    saved: list[dict[str, Any]] = []
    item.save = saved.append
    with pytest.raises(VendorUnavailable) as err:  # may be on CCC: reconcile, do not resend
        ccc(script, tmp_path).upload(item)
    assert err.value.maybe_delivered and "may have reached CCC" in err.value.message
    assert ccc(ccc_script(), tmp_path).quota.used() == 1  # kept: the file may be there

    item.resumed, item.progress = True, saved[-1]
    client = ccc(ccc_script().on("UploadIvrAudio", uploaded()), tmp_path)
    assert client.upload(item).remote_id == "7"
    assert client.quota.used() == 1  # the same reservation, not a second one


def test_ccc_local_quota_stops_before_sending(tmp_path: Path, item: UploadItem) -> None:
    script = ccc_script().on("UploadIvrAudio", uploaded())
    client = ccc(script, tmp_path, daily_quota=1)
    client.upload(item)
    with pytest.raises(VendorQuotaExceeded, match="nothing was sent"):
        client.upload(item)
    assert script.routes().count("UploadIvrAudio") == 1
    # a later run into the same folder sees the same count
    again = ccc(ccc_script(), tmp_path, daily_quota=1)
    with pytest.raises(VendorQuotaExceeded):
        again.upload(item)


def test_ccc_vendor_overflow_marks_the_day_used_up(tmp_path: Path, item: UploadItem) -> None:
    script = ccc_script().on("UploadIvrAudio", fail("FailedOperation.UploadFileOverflow"))
    client = ccc(script, tmp_path)
    with pytest.raises(VendorQuotaExceeded):
        client.upload(item)
    db = client.quota.db_path
    assert DailyQuota("tencent-ccc", 50, db_path=db, scope=client.target).remaining() == 0
    # kept per target: another endpoint or SdkAppId has its own day
    assert DailyQuota("tencent-ccc", 50, db_path=db, scope="elsewhere").remaining() == 50


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": None}, "url"),
        ({"name": "x" * 65}, "CustomFileName"),
        ({"name": "a/b"}, "CustomFileName"),
    ],
)
def test_ccc_invalid_items_never_leave(
    tmp_path: Path, item: UploadItem, change: dict[str, Any], field: str
) -> None:
    for key, value in change.items():
        setattr(item, key, value)
    script = Script(action)
    with pytest.raises(VendorValidationError) as err:
        ccc(script, tmp_path).upload(item)
    assert err.value.field == field
    assert script.requests == []


def test_ccc_file_over_5_mb_is_refused_locally(tmp_path: Path) -> None:
    path = write_file(tmp_path / "big.wav", 5 * 1024 * 1024 + 1)
    script = Script(action)
    with pytest.raises(VendorValidationError, match="5242880"):
        ccc(script, tmp_path).upload(UploadItem(path, "big", "http://x/big.wav", "s"))
    assert script.requests == []


def test_ccc_poll_reads_the_review_status(tmp_path: Path, item: UploadItem) -> None:
    script = Script(action).on("DescribeIvrAudioList", listed(status=2))
    receipt = Receipt("tencent-ccc", "in.m4a", item.path, "7", "submitted", "req-1", 0.0, {})
    polled = ccc(script, tmp_path).poll(receipt)
    assert polled.status == "rejected"
    assert json_of(script.sent("DescribeIvrAudioList")[0])["FileId"] == [7]


def test_ccc_needs_an_sdk_app_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import ConfigurationError

    monkeypatch.delenv("TENCENTCLOUD_CCC_SDKAPPID", raising=False)
    with pytest.raises(ConfigurationError, match="SdkAppId"):
        make_client("tencent-ccc", credentials=CREDS)


def test_secrets_stay_out_of_repr_and_errors(tmp_path: Path, item: UploadItem) -> None:
    script = ccc_script().on("UploadIvrAudio", fail("AuthFailure.SignatureFailure"))
    client = ccc(script, tmp_path)
    with pytest.raises(VendorAuthError) as err:
        client.upload(item)
    for text in (repr(client), str(err.value), repr(err.value), repr(client._auth)):
        assert SECRET_KEY not in text


def test_async_ccc_client_shares_the_flow(tmp_path: Path, item: UploadItem) -> None:
    script = (
        Script(action)
        .on("UploadIvrAudio", fail("InternalError"), uploaded())
        .on("DescribeIvrAudioList", ok(TotalCount=0, FileInfo=[]))
    )
    clock = FakeClock()

    async def go() -> Receipt:
        client = make_async_client(
            "tencent-ccc",
            endpoint="http://127.0.0.1:8080",
            credentials=CREDS,
            state_dir=str(tmp_path),
            sdk_app_id=1,
            transport=script.transport(),
            sleep=clock.asleep,
        )
        try:
            result: Receipt = await client.upload(item)
            return result
        finally:
            await client.aclose()

    receipt = asyncio.run(go())
    assert receipt.remote_id == "7"
    assert script.routes() == [
        "DescribeIvrAudioList", "UploadIvrAudio", "DescribeIvrAudioList", "UploadIvrAudio"
    ]  # fmt: skip
    assert len(clock.slept) >= 1


# --- VOD ------------------------------------------------------------------------------------


def vod(script: Script, duration: float | None = 12.0, **options: Any) -> Any:
    clock = FakeClock()
    return make_client(
        "tencent-vod",
        endpoint="http://127.0.0.1:8080",
        credentials=CREDS,
        sub_app_id=251000,
        transport=script.transport(),
        sleep=clock.sleep,
        duration_s=lambda path: duration,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.1),
        **options,
    )


def test_vod_sends_a_content_derived_session_id_and_retries_with_it(
    tmp_path: Path, item: UploadItem
) -> None:
    task = "221073-CreateAigcCustomVoice-" + "a" * 32 + "t"
    script = Script(action).on(
        "CreateAigcCustomVoice", httpx.RemoteProtocolError("dropped"), ok(TaskId=task)
    )
    receipt = vod(script).upload(item)
    first, second = (json_of(r) for r in script.sent("CreateAigcCustomVoice"))
    assert first == second
    assert first["SessionId"].startswith("vp-") and len(first["SessionId"]) <= 50
    assert first["SubAppId"] == 251000 and first["VoiceName"] == "hello"
    assert (receipt.remote_id, receipt.status) == (task, "submitted")


def test_vod_session_id_changes_with_content(tmp_path: Path, item: UploadItem) -> None:
    client = vod(Script(action))
    before = client.session_id(item)
    assert client.session_id(item) == before
    Path(item.path).write_bytes(b"RIFF other content")
    assert client.session_id(item) != before


def test_vod_duplicate_session_follows_the_noted_task(item: UploadItem) -> None:
    script = Script(action).on("CreateAigcCustomVoice", fail("InvalidParameterValue.SessionId"))
    item.resumed, item.progress = True, {"vod_task_id": "task-1"}
    receipt = vod(script).upload(item)
    assert (receipt.status, receipt.remote_id, receipt.final) == ("submitted", "task-1", False)
    assert script.routes() == ["CreateAigcCustomVoice"]


def test_vod_task_id_is_noted_as_soon_as_it_arrives(item: UploadItem) -> None:
    script = Script(action).on("CreateAigcCustomVoice", ok(TaskId="task-9"))
    saved: list[dict[str, Any]] = []
    item.save = saved.append
    vod(script).upload(item)
    assert saved == [{"vod_task_id": "task-9"}]


def test_vod_lost_task_id_is_found_by_session_id_in_the_events(item: UploadItem) -> None:
    script = Script(action).on("CreateAigcCustomVoice", fail("InvalidParameterValue.SessionId"))
    client = vod(script)
    receipt = client.upload(item)
    assert (receipt.status, receipt.remote_id) == ("submitted", None)
    assert "VOD console" in receipt.detail["message"]  # says how to find it by hand
    session = receipt.detail["session_id"]
    other = {"TaskId": "theirs", "SessionId": "x"}
    ours = {"TaskId": "task-1", "SessionId": session}
    events = [{"EventHandle": "e0", "CreateAigcCustomVoiceCompleteEvent": other}]
    script.on("PullEvents", ok(EventSet=events), ok(EventSet=[*events, {
        "EventHandle": "e1", "CreateAigcCustomVoiceCompleteEvent": ours}]))  # fmt: skip
    task = {"Status": "FINISH", "ErrCode": 0, "ErrCodeExt": "",
            "Output": {"InfoList": [{"VoiceId": "v-1"}]}}  # fmt: skip
    script.on("DescribeTaskDetail", ok(Status="FINISH", CreateAigcCustomVoiceTask=task))
    assert client.poll(receipt).remote_id is None  # not among the events yet
    polled = client.poll(receipt)
    assert (polled.remote_id, polled.status, polled.detail["voice_id"]) == (
        "task-1",
        "approved",
        "v-1",
    )
    assert "message" not in polled.detail and "ConfirmEvents" not in script.routes()


@pytest.mark.parametrize("seconds", [4.9, 30.5])
def test_vod_refuses_audio_outside_5_to_30_s(item: UploadItem, seconds: float) -> None:
    script = Script(action)
    with pytest.raises(VendorValidationError, match="5–30 s"):
        vod(script, duration=seconds).upload(item)
    assert script.requests == []


def test_vod_voice_name_limit(item: UploadItem) -> None:
    item.name = "n" * 21
    with pytest.raises(VendorValidationError) as err:
        vod(Script(action)).upload(item)
    assert err.value.field == "VoiceName"


@pytest.mark.parametrize(
    ("task", "status", "detail_key"),
    [
        ({"Status": "FINISH", "ErrCode": 0, "ErrCodeExt": "",
          "Output": {"InfoList": [{"VoiceId": "v-1"}]}}, "approved", "voice_id"),
        ({"Status": "FINISH", "ErrCode": 10, "ErrCodeExt": "InvalidInput"}, "rejected", "error"),
        ({"Status": "PROCESSING", "Progress": 40}, "submitted", "progress"),
    ],
)  # fmt: skip
def test_vod_poll_follows_the_task(
    item: UploadItem, task: dict[str, Any], status: str, detail_key: str
) -> None:
    script = Script(action).on(
        "DescribeTaskDetail",
        ok(TaskType="CreateAigcCustomVoice", Status=task["Status"], CreateAigcCustomVoiceTask=task),
    )
    receipt = Receipt("tencent-vod", "s", item.path, "task-1", "submitted", None, 0.0, {})
    polled = vod(script).poll(receipt)
    assert polled.status == status
    assert polled.detail[detail_key] is not None
    assert json.loads(script.sent("DescribeTaskDetail")[0].content) == {
        "TaskId": "task-1",
        "SubAppId": 251000,
    }


def test_http_5xx_without_envelope_is_unavailable(item: UploadItem) -> None:
    script = Script(action).on("CreateAigcCustomVoice", httpx.Response(502, text="bad gateway"))
    with pytest.raises(VendorUnavailable):
        vod(script).upload(item)
    assert len(script.requests) == 3

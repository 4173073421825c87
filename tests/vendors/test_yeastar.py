"""Yeastar P-Series client against a scripted transport (tokens, ask-before-force) and,
for the naming rule it shares with the PBX, against the sandbox."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendors.fakes import FakeClock, Script, json_of, write_file
from vendors.base import UploadItem, make_async_client, make_client
from vendors.credentials import Credentials, Secret
from vendors.errors import VendorNameClash, VendorValidationError
from vendors.retry import RetryPolicy

CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
CREDS = Credentials("yeastar", CLIENT_ID, Secret(CLIENT_SECRET))


def route(request: httpx.Request) -> str:
    name = request.url.path.rsplit("/", 1)[-1]
    if name == "upload":
        check = b'name="is_check"\r\n\r\nforce' in request.content
        return "force" if check else "ask"
    return name


def tokens(access: str = "a1", refresh: str = "r1") -> httpx.Response:
    return httpx.Response(
        200,
        json={"errcode": 0, "errmsg": "SUCCESS", "access_token_expire_time": 1800,
              "access_token": access, "refresh_token_expire_time": 86400, "refresh_token": refresh},
    )  # fmt: skip


def answer(errcode: int = 0, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"errcode": errcode, "errmsg": "x", **extra})


def write_wav(path: Path) -> str:
    """One second of an 8 kHz PCM16 tone: a file the sandbox PBX takes."""
    import numpy as np
    import soundfile as sf

    t = np.arange(8000) / 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, subtype="PCM_16")
    return str(path)


def client(script: Script, clock: FakeClock | None = None, **options: Any) -> Any:
    clock = clock or FakeClock()
    return make_client(
        "yeastar-prompt",
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


def test_new_name_is_asked_then_forced(item: UploadItem) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer()).on("force", answer())
    receipt = client(script).upload(item)
    assert script.routes() == ["get_token", "ask", "force"]
    (get_token,) = script.sent("get_token")
    assert get_token.url.path == "/yeastar/openapi/v1.0/get_token"
    assert json_of(get_token) == {"username": CLIENT_ID, "password": CLIENT_SECRET}
    for _, request in script.requests:
        assert request.headers["User-Agent"] == "OpenAPI"
    force = script.sent("force")[0]
    assert force.url.params["access_token"] == "a1"
    assert b'filename="welcome.wav"' in force.content
    assert Path(item.path).read_bytes() in force.content
    assert (receipt.remote_id, receipt.status) == ("welcome.wav", "approved")


def test_existing_name_stops_without_force(item: UploadItem) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer(exist_type="record"))
    with pytest.raises(VendorNameClash) as err:
        client(script).upload(item)
    assert err.value.exist_type == "record" and err.value.name == "welcome.wav"
    assert "--force" in str(err.value)
    assert "force" not in script.routes()


@pytest.mark.parametrize("how", ["force", "resumed"])
def test_existing_name_is_overwritten_when_asked_or_ours(item: UploadItem, how: str) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer(exist_type="record"))
    script.on("force", answer())
    if how == "resumed":  # an earlier attempt got as far as sending force
        item.resumed, item.progress = True, {"force_sent": True}
    receipt = client(script, force=how == "force").upload(item)
    assert script.routes() == ["get_token", "ask", "force"]
    assert receipt.detail["overwrote"] == "record"


@pytest.mark.parametrize(
    ("exist_type", "progress"),
    [("tts", {"force_sent": True}), ("specify", {"force_sent": True}), ("record", {})],
)
def test_resumed_item_never_overwrites_a_prompt_that_cannot_be_ours(
    item: UploadItem, exist_type: str, progress: dict[str, Any]
) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer(exist_type=exist_type))
    item.resumed, item.progress = True, progress
    with pytest.raises(VendorNameClash):
        client(script).upload(item)
    assert "force" not in script.routes()


def test_force_step_is_noted_before_it_is_sent(item: UploadItem) -> None:
    saved: list[tuple[dict[str, Any], list[str]]] = []
    script = Script(route).on("get_token", tokens()).on("ask", answer()).on("force", answer())
    item.save = lambda progress: saved.append((progress, script.routes()))
    client(script).upload(item)
    assert saved == [({"force_sent": True}, ["get_token", "ask"])]


def test_expired_token_errcode_10004_refreshes_once(item: UploadItem) -> None:
    script = (
        Script(route)
        .on("get_token", tokens("a1", "r1"))
        .on("refresh_token", tokens("a2", "r2"))
        .on("ask", answer(10004), answer())
        .on("force", answer())
    )
    client(script).upload(item)
    assert script.routes() == ["get_token", "ask", "refresh_token", "ask", "force"]
    assert json_of(script.sent("refresh_token")[0]) == {"refresh_token": "r1"}
    assert script.sent("ask")[-1].url.params["access_token"] == "a2"


def test_token_nearing_expiry_is_refreshed_before_use(item: UploadItem) -> None:
    clock = FakeClock()
    script = (
        Script(route)
        .on("get_token", tokens("a1", "r1"))
        .on("refresh_token", tokens("a2", "r2"))
        .on("ask", answer())
        .on("force", answer())
    )
    c = client(script, clock)
    c.upload(item)
    clock.now += 1750  # 50 s left of 1800
    c.upload(item)
    assert script.routes().count("refresh_token") == 1
    assert script.routes().count("get_token") == 1
    clock.now += 2 * 86400  # refresh token expired too: log in again
    c.upload(item)
    assert script.routes().count("get_token") == 2


def test_internal_error_is_retried(item: UploadItem) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer(-2), answer())
    script.on("force", answer())
    client(script).upload(item)
    assert script.routes() == ["get_token", "ask", "ask", "force"]


def test_local_checks(tmp_path: Path) -> None:
    script = Script(route)
    big = write_file(tmp_path / "big.wav", 8 * 1024 * 1024 + 1)
    with pytest.raises(VendorValidationError):
        client(script).upload(UploadItem(big, "big", None, "s"))
    odd = write_file(tmp_path / "odd.wav")
    with pytest.raises(VendorValidationError, match="special characters"):
        client(script).upload(UploadItem(odd, "a&b", None, "s"))
    flac = write_file(tmp_path / "x.flac")
    with pytest.raises(VendorValidationError, match=r"\.gsm"):
        client(script).upload(UploadItem(flac, "x", None, "s"))
    assert script.requests == []


def test_file_too_big_on_the_pbx_is_a_validation_error(item: UploadItem) -> None:
    script = Script(route).on("get_token", tokens()).on("ask", answer(40004))
    with pytest.raises(VendorValidationError) as err:
        client(script).upload(item)
    assert err.value.code == "40004"
    assert script.routes() == ["get_token", "ask"]


def test_access_token_never_reaches_the_log(
    item: UploadItem, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(route).on("get_token", tokens("tok-DO-NOT-LOG")).on("ask", answer())
    script.on("force", answer())
    with caplog.at_level(logging.INFO, logger="httpx"):
        client(script).upload(item)
    assert "custom_prompt/upload?access_token=%2A%2A%2A" in caplog.text
    assert "tok-DO-NOT-LOG" not in caplog.text


def test_async_client_runs_the_same_flow(item: UploadItem) -> None:
    clock = FakeClock()
    script = (
        Script(route)
        .on("get_token", tokens("a1", "r1"))
        .on("refresh_token", tokens("a2", "r2"))
        .on("ask", answer(10004), answer(exist_type="tts"))
    )

    async def go() -> None:
        c = make_async_client(
            "yeastar",
            endpoint="http://127.0.0.1:8080",
            credentials=CREDS,
            transport=script.transport(),
            sleep=clock.asleep,
            clock=clock,
        )
        try:
            await c.upload(item)
        finally:
            await c.aclose()

    with pytest.raises(VendorNameClash):
        asyncio.run(go())
    assert script.routes() == ["get_token", "ask", "refresh_token", "ask"]


@pytest.mark.parametrize("name", ["my prompt", "x" * 251, "a.b", "tab\there", "semi;colon"])
def test_names_the_pbx_refuses_never_leave(tmp_path: Path, name: str) -> None:
    from vendors.sandbox.server import serve_sandbox

    path = write_wav(tmp_path / "prompt.wav")
    with serve_sandbox() as server:
        c = make_client("yeastar", endpoint=server.url, credentials=CREDS)
        with pytest.raises(VendorValidationError, match="rename the output"):
            c.upload(UploadItem(path, name, None, "s"))
        assert server.app.state.sandbox.requests == {}


@pytest.mark.parametrize("name", ["x" * 250, "欢迎-prompt_1", "a+b=c"])
def test_names_the_client_accepts_the_pbx_accepts(tmp_path: Path, name: str) -> None:
    from vendors.sandbox.server import serve_sandbox

    path = write_wav(tmp_path / "prompt.wav")
    with serve_sandbox() as server:
        c = make_client("yeastar", endpoint=server.url, credentials=CREDS)
        assert c.upload(UploadItem(path, name, None, "s")).status == "approved"
        assert list(server.app.state.sandbox.yeastar_prompts) == [name]

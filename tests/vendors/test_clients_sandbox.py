"""Smoke test: each client against the sandbox app over real TCP on 127.0.0.1.

One happy path per vendor (upload, then poll where the vendor has a status API). The
fault, quota, token-expiry and resume scenarios belong to the upload stage's
integration tests; this only proves client and emulator speak the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.vendors.fakes import creds
from vendors.base import UploadItem, make_client

pytest.importorskip("vendors.sandbox.app", reason="the sandbox app is not written yet")
pytest.importorskip("uvicorn")

pytestmark = pytest.mark.integration

CREDS = {
    "tencent-ccc": creds("tencent", "AKIDsandbox"),
    "tencent-vod": creds("tencent", "AKIDsandbox"),
    "aliyun": creds("alibaba", "LTAIsandbox"),
    "huawei": creds("huawei", "sandbox-app"),
    "yeastar": creds("yeastar", "sandbox-client"),
}
OPTIONS: dict[str, dict[str, Any]] = {
    "tencent-ccc": {"sdk_app_id": 1400000001},
    "tencent-vod": {"sub_app_id": 251000},
}


def _wav(path: Path, *, seconds: float, rate: int) -> str:
    import soundfile

    t = np.arange(round(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    soundfile.write(path, tone, rate, subtype="PCM_16")
    return str(path)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audio")
    _wav(root / "prompt.wav", seconds=2.0, rate=8000)
    _wav(root / "voice.wav", seconds=8.0, rate=24000)
    return root


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    from vendors.sandbox.server import serve_sandbox

    with serve_sandbox() as server:
        yield server.url


@pytest.fixture(scope="module")
def files(audio: Path) -> Iterator[str]:
    """A plain static file server: the URLs the URL-based vendors fetch."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from vendors.sandbox.server import ThreadedServer

    app = Starlette(routes=[Mount("/", StaticFiles(directory=str(audio)))])
    with ThreadedServer(app) as server:
        yield server.url


def _client(vendor: str, sandbox: str, tmp_path: Path) -> Any:
    return make_client(
        vendor,
        endpoint=sandbox,
        credentials=CREDS[vendor],
        state_dir=str(tmp_path),
        **OPTIONS.get(vendor, {}),
    )


@pytest.mark.parametrize(
    ("vendor", "file"),
    [
        ("tencent-ccc", "prompt.wav"),
        ("tencent-vod", "voice.wav"),
        ("aliyun", "prompt.wav"),
        ("huawei", "prompt.wav"),
        ("yeastar", "prompt.wav"),
    ],
)
def test_client_uploads_to_the_sandbox_and_polls(
    vendor: str, file: str, sandbox: str, files: str, audio: Path, tmp_path: Path
) -> None:
    client = _client(vendor, sandbox, tmp_path)
    name = f"smoke{vendor.replace('-', '')}"
    item = UploadItem(
        path=str(audio / file),
        name=name,
        url=f"{files}/{file}" if client.needs_url else None,
        source=f"in/{file}",
    )
    try:
        receipt = client.upload(item)
        assert receipt.status in ("submitted", "approved"), receipt
        assert receipt.remote_id
        polled = client.poll(receipt)
        assert polled.status in ("submitted", "approved", "rejected")
    finally:
        client.close()


def test_yeastar_name_clash_against_the_sandbox(sandbox: str, audio: Path, tmp_path: Path) -> None:
    from vendors.errors import VendorNameClash

    client = _client("yeastar", sandbox, tmp_path)
    item = UploadItem(str(audio / "prompt.wav"), "clashing", None, "in/prompt.wav")
    try:
        client.upload(item)
        with pytest.raises(VendorNameClash):
            client.upload(item)
        forced = make_client("yeastar", endpoint=sandbox, credentials=CREDS["yeastar"], force=True)
        assert forced.upload(item).detail["overwrote"]
        forced.close()
    finally:
        client.close()

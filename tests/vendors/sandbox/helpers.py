"""Requests signed by our own signers, and synthetic audio, for the sandbox tests."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import soundfile as sf

from vendors.signing import ACS3Auth, RpcAuth, TC3Auth

CCC = ("ccc", "2020-02-10")
VOD = ("vod", "2018-07-17")


def wav_bytes(dur_s: float, *, rate: int = 8000, subtype: str = "PCM_16") -> bytes:
    """A mono 440 Hz tone of ``dur_s`` seconds as WAV bytes."""
    t = np.arange(round(dur_s * rate)) / rate
    buf = io.BytesIO()
    sf.write(
        buf,
        (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
        rate,
        format="WAV",
        subtype=subtype,
    )
    return buf.getvalue()


def tc3(
    url: str,
    action: str,
    payload: dict[str, Any],
    *,
    api: tuple[str, str] = CCC,
    secret_id: str = "AKIDsandbox",
    secret_key: str = "sandbox-secret",
    clock: Callable[[], float] = time.time,
    path: str = "/tencent/",
) -> dict[str, Any]:
    """POST a TC3-signed action; returns the ``Response`` object."""
    auth = TC3Auth(secret_id, secret_key, api[0], clock=clock)
    r = httpx.post(
        url + path,
        content=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-TC-Action": action, "X-TC-Version": api[1]},
        auth=auth,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["Response"]
    assert body["RequestId"]
    return body


def aliyun(
    url: str,
    action: str,
    params: dict[str, str],
    *,
    scheme: str = "rpc",
    key_id: str = "LTAIsandbox",
    secret: str = "sandbox-secret",
    clock: Callable[[], float] = time.time,
) -> httpx.Response:
    """POST a signed dyvms RPC action (parameters in the query, as the SDK does)."""
    if scheme == "rpc":
        auth: httpx.Auth = RpcAuth(key_id, secret, clock=clock)
        query = {"Action": action, "Version": "2017-05-25", **params}
        headers: dict[str, str] = {}
    else:
        auth = ACS3Auth(key_id, secret, clock=clock)
        query = dict(params)
        headers = {"x-acs-action": action, "x-acs-version": "2017-05-25"}
    return httpx.post(url + "/aliyun/", params=query, headers=headers, auth=auth)


def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    """Wait until ``predicate()`` holds (a delivery on the server's own thread), or fail."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)

"""Fault injection: an ASGI middleware in front of the vendor routes.

Per request, in this order, each with its own probability from the live config:
latency (always, ``latency_ms``), a dropped connection before the request is handled
(``drop_rate``), the vendor's rate-limit answer (``throttle_rate``), the vendor's
internal error (``error_rate``), and a response lost after the request was handled
(``lost_response_rate`` — the upload happened, the client cannot know). A dropped
connection sends the status line and headers promising a body, then closes: the client
sees the peer hang up mid-response (httpx ``RemoteProtocolError``).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vendors.sandbox.state import SandboxState

__all__ = ["FaultInjector", "vendor_of"]

_PREFIXES = ("tencent", "aliyun", "huawei", "yeastar")


def vendor_of(scope: Scope) -> str | None:
    """Which emulated vendor a request is for (None: not a vendor route)."""
    path: str = scope.get("path", "")
    head = path.lstrip("/").split("/", 1)[0]
    if head in _PREFIXES:
        return head
    if path != "/":
        return None
    headers = {k.decode("latin-1").lower() for k, _ in scope.get("headers", [])}
    if "x-tc-action" in headers:
        return "tencent"
    if "x-acs-action" in headers or b"Action=" in scope.get("query_string", b""):
        return "aliyun"
    return None


class FaultInjector:
    """Wraps the sandbox app; reads fault settings from ``state.config`` on every request."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state
        self.rng = random.Random(state.config.seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        vendor = vendor_of(scope) if scope["type"] == "http" else None
        if vendor is None:
            await self.app(scope, receive, send)
            return
        config = self.state.config
        if config.latency_ms > 0:
            await asyncio.sleep(config.latency_ms / 1000.0)
        if self._roll(config.drop_rate):
            self._count("drop")
            await _drain(receive)
            await _hang_up(send)
            return
        for kind, rate in (("throttle", config.throttle_rate), ("error", config.error_rate)):
            if self._roll(rate):
                self._count(kind)
                await _drain(receive)
                await _fault_response(vendor, kind)(scope, receive, send)
                return
        if self._roll(config.lost_response_rate):
            self._count("lost_response")

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _hang_up(send)
            return
        await self.app(scope, receive, send)

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def _count(self, kind: str) -> None:
        self.state.faults[kind] = self.state.faults.get(kind, 0) + 1


async def _drain(receive: Receive) -> None:
    """Read the request body so the server is not left with unread input."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _hang_up(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    # Returning now, mid-body, makes the server close the connection.


def _fault_response(vendor: str, kind: str) -> Any:
    from vendors.sandbox import aliyun, huawei, tencent, yeastar

    module = {"tencent": tencent, "aliyun": aliyun, "huawei": huawei, "yeastar": yeastar}[vendor]
    return module.fault_response(kind)

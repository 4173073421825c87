"""Sandbox fixtures: a real uvicorn server on 127.0.0.1 (port 0) per test.

- ``sandbox``: a running `ThreadedServer` with the default `SandboxConfig`;
  ``sandbox.url`` is the root, ``sandbox.app.state.sandbox`` the in-memory state.
- ``sandbox_url``: just the root URL (``http://127.0.0.1:<port>``); vendor prefixes
  are ``/tencent``, ``/aliyun``, ``/huawei``, ``/yeastar``.
- ``make_sandbox(**config_fields)``: start another sandbox with custom settings
  (e.g. ``clock=ManualClock()``, ``throttle_rate=1.0``); stopped after the test.
- ``file_server``: serves bytes for the URL-based vendors: ``file_server.put(name, data)``
  returns the URL.
- ``receiver``: a callback receiver (Huawei review results) that records every POST
  and answers ``{"returnCode": "0"}`` unless told to fail the first N tries.

Other test folders can reuse these with ``pytest_plugins`` or by importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from vendors.sandbox.config import SandboxConfig
from vendors.sandbox.server import ThreadedServer, serve_sandbox


@pytest.fixture
def sandbox() -> Iterator[ThreadedServer]:
    with serve_sandbox(SandboxConfig()) as server:
        yield server


@pytest.fixture
def sandbox_url(sandbox: ThreadedServer) -> str:
    return sandbox.url


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., ThreadedServer]]:
    servers: list[ThreadedServer] = []

    def make(**fields: Any) -> ThreadedServer:
        server = serve_sandbox(SandboxConfig(**fields)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@dataclass
class FileServer:
    """Serves ``files[name]`` at ``{url}/{name}``; ``hits`` counts the fetches."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def put(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"{self.url}/{name}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    store = FileServer()

    async def get(request: Request) -> Response:
        name = request.path_params["name"]
        store.hits[name] = store.hits.get(name, 0) + 1
        if name not in store.files:
            return Response("not found", status_code=404)
        return Response(store.files[name], media_type="application/octet-stream")

    app = Starlette(routes=[Route("/{name:path}", get)])
    with ThreadedServer(app) as server:
        store.url = server.url
        yield store


@dataclass
class Receiver:
    """Records POSTed JSON bodies; answers a failure to the first ``fail_first`` of them."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0
    answers: list[tuple[int, Any]] = field(default_factory=list)
    """(HTTP status, JSON body) answered first, one per request, before ``fail_first``."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    rec = Receiver()

    async def post(request: Request) -> JSONResponse:
        rec.received.append(await request.json())
        if rec.answers:
            status, body = rec.answers.pop(0)
            return JSONResponse(body, status)
        if len(rec.received) <= rec.fail_first:
            return JSONResponse({"returnCode": "1", "description": "not now"})
        return JSONResponse({"returnCode": "0"})

    app = Starlette(routes=[Route("/{path:path}", post, methods=["POST"])])
    with ThreadedServer(app) as server:
        rec.url = server.url + "/callback"
        yield rec

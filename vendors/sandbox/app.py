"""`create_app`: one Starlette app that emulates all five vendor APIs on one port.

Routes (path prefixes, so one host serves every vendor):

    POST /tencent/                       Tencent Cloud API 3.0 (CCC and VOD, by X-TC-Action)
    POST /aliyun/                        Alibaba dyvms RPC (HMAC-SHA1 or ACS3)
    POST /aliyun/dyvms/upload            Alibaba voice-file upload (GetToken token)
    POST /huawei/apigovernance/api/oauth/tokenByAkSk
    POST /huawei/apiaccess/rest/cc-management/v1/{importVoiceFile/upload,createVoiceTemplate}
    POST /yeastar/openapi/v1.0/{get_token,refresh_token,custom_prompt/upload}
    POST /                               Tencent (X-TC-Action header) or Alibaba (Action=
                                         query or x-acs-action): what the official SDKs send
    GET  /_sandbox/health, /_sandbox/state; POST /_sandbox/faults   (control, no faults)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipeline.errors import ConfigurationError
from vendors.sandbox import aliyun, huawei, tencent, yeastar
from vendors.sandbox.common import sandbox_state
from vendors.sandbox.config import SandboxConfig
from vendors.sandbox.faults import FaultInjector, vendor_of
from vendors.sandbox.state import SandboxState

__all__ = ["create_app"]

_ANY = ["GET", "POST", "PUT", "DELETE", "PATCH"]


async def _root(request: Request) -> Response:
    vendor = vendor_of(request.scope)
    if vendor == "tencent":
        return await tencent.handle(request)
    if vendor == "aliyun":
        return await aliyun.handle_rpc(request)
    return JSONResponse(
        {"sandbox": "voiceprep", "vendors": ["/tencent/", "/aliyun/", "/huawei/", "/yeastar/"]}
    )


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _state(request: Request) -> Response:
    return JSONResponse(sandbox_state(request).summary())


async def _faults(request: Request) -> Response:
    """Change fault settings of the running sandbox, e.g. ``{"error_rate": 0.2}``."""
    state = sandbox_state(request)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        state.config = state.config.with_faults(**body)
    except (ValueError, TypeError, ConfigurationError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(dict(state.config.fault_settings()))


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """The sandbox ASGI app; its `SandboxState` is ``app.state.sandbox``."""
    state = SandboxState(config or SandboxConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for task in list(state.background):
            task.cancel()
        await asyncio.gather(*state.background, return_exceptions=True)

    routes = [
        Route("/", _root, methods=_ANY),
        Route("/tencent", tencent.handle, methods=_ANY),
        Route("/tencent/{rest:path}", tencent.handle, methods=_ANY),
        Route("/aliyun/dyvms/upload", aliyun.handle_upload, methods=_ANY),
        Route("/aliyun", aliyun.handle_rpc, methods=_ANY),
        Route("/aliyun/{rest:path}", aliyun.handle_rpc, methods=_ANY),
        Route("/huawei/apigovernance/api/oauth/tokenByAkSk", huawei.handle_token, methods=["POST"]),
        Route("/huawei/apiaccess/rest/cc-management/v1/{op:path}", huawei.handle_api, methods=_ANY),
        Route("/yeastar/openapi/v1.0/{op:path}", yeastar.handle, methods=_ANY),
        Route("/yeastar/openapi/{version}/{op:path}", yeastar.other_version, methods=_ANY),
        Route("/_sandbox/health", _health),
        Route("/_sandbox/state", _state),
        Route("/_sandbox/faults", _faults, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes, middleware=[Middleware(FaultInjector, state=state)], lifespan=lifespan
    )
    app.state.sandbox = state
    return app

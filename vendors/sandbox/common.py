"""Small pieces every vendor's routes use: the state, the request as a verifier sees it,
and field checks that name the field and the rule broken."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from vendors.sandbox.state import SandboxState
from vendors.signing import RequestParts

__all__ = ["FieldError", "request_parts", "sandbox_state"]


class FieldError(Exception):
    """A request field breaks a rule; ``kind`` is ``missing``, ``too_long`` or ``invalid``."""

    def __init__(self, field: str, kind: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind
        self.message = message


def sandbox_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def request_parts(request: Request) -> RequestParts:
    """The request exactly as received (raw path and query, headers, body bytes)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode("ascii")
    return RequestParts(
        method=request.method,
        path=raw_path.split(b"?", 1)[0].decode("ascii"),
        query=request.scope.get("query_string", b"").decode("ascii", "replace"),
        headers=dict(request.headers.items()),
        body=await request.body(),
    )


def count_request(state: SandboxState, vendor: str) -> None:
    state.requests[vendor] = state.requests.get(vendor, 0) + 1


def want_str(
    params: dict[str, Any], name: str, *, required: bool = True, max_len: int | None = None
) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise FieldError(name, "missing", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise FieldError(name, "invalid", f"{name} must be a string")
    if max_len is not None and len(value) > max_len:
        raise FieldError(name, "too_long", f"{name} is {len(value)} characters, over {max_len}")
    return value


def want_int(
    params: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise FieldError(name, "missing", f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(name, "invalid", f"{name} must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        raise FieldError(name, "invalid", f"{name}={value} is outside {low}..{high}")
    return value

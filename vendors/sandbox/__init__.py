"""`voiceprep sandbox`: a local server that emulates the five vendor APIs (see `app`)."""

from typing import Any

from vendors.sandbox.config import ManualClock, SandboxConfig

__all__ = ["ManualClock", "SandboxConfig", "create_app"]


def create_app(config: SandboxConfig | None = None) -> Any:
    """The sandbox ASGI app (imports starlette lazily)."""
    from vendors.sandbox.app import create_app as _create

    return _create(config)

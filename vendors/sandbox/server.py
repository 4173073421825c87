"""Run an ASGI app (the sandbox, or any small test receiver) with uvicorn in a thread.

The socket is bound before the thread starts (port 0 → the OS picks a free port), so
``url`` is known and valid as soon as `start` returns.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any

__all__ = ["ThreadedServer", "serve_sandbox"]


class ThreadedServer:
    """uvicorn serving ``app`` on ``host:port`` from a daemon thread.

    Use as a context manager, or call `start` / `stop`. ``url`` is ``http://host:port``.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.app = app
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self, *, timeout_s: float = 10.0) -> ThreadedServer:
        self._thread.start()
        ready = threading.Event()

        def wait() -> None:
            while not self._server.started and self._thread.is_alive():
                ready.wait(0.01)
            ready.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(timeout_s)
        if not self._server.started:
            raise RuntimeError(f"server on {self.url} did not start within {timeout_s} s")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_sandbox(config: Any = None, *, host: str = "127.0.0.1", port: int = 0) -> ThreadedServer:
    """A (not yet started) server for a fresh sandbox app; ``server.app.state.sandbox``
    is its `SandboxState`."""
    from vendors.sandbox.app import create_app
    from vendors.sandbox.config import SandboxConfig

    return ThreadedServer(create_app(config or SandboxConfig()), host=host, port=port)

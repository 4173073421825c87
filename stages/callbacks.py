"""A small receiver for Huawei's review callbacks (``voiceprep callbacks --port N --out DIR``).

Huawei POSTs ``{"fileUrl", "fileId", "status": "2"|"3", "comment"}`` to the
``callBackUrl`` given at upload, and retries (at most 6 times) until the answer is
``{"returnCode": "0"}``. The receiver stores each callback in the run journal before it
answers. It answers ``"0"`` only for a ``fileId`` that a receipt in this folder's journal
holds; any other gets ``{"returnCode": "1"}``, so Huawei retries (a callback meant for
another run folder's receiver is not swallowed, and one that arrives before the upload
recorded its receipt is tried again; it is kept and applied as soon as the receipt
exists). Repeats of the same callback change nothing (idempotent on ``fileId``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stages.upload import UploadLedger, sync_results

__all__ = ["CallbackReceiver"]

_MAX_BODY = 64 * 1024


@dataclass
class CallbackReceiver:
    """Records Huawei review callbacks into the journal of ``out_dir``.

    Serves on ``host``:``port`` (0: any free port) from a background thread after
    `start`; ``url`` is what to pass as ``--callback-url``.
    """

    out_dir: str
    host: str = "127.0.0.1"
    port: int = 0
    vendor: str = "huawei"
    received: int = 0
    log: Callable[[str], None] | None = None
    """Sees one line per callback received (the CLI prints them)."""
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the receiver first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/huawei/review"

    def handle(self, payload: Any) -> tuple[int, dict[str, str]]:
        """Store one callback body; (HTTP status, answer)."""
        if not isinstance(payload, dict) or not payload.get("fileId") or "status" not in payload:
            self._log(f"refused   a body without fileId and status: {str(payload)[:200]!r}")
            return 400, {"returnCode": "1", "description": "expected fileId and status"}
        file_id = str(payload["fileId"])
        with self._lock:
            self.received += 1
            ledger = UploadLedger(self.out_dir)
            try:
                new = ledger.store_callback(self.vendor, file_id, payload)
                known = ledger.knows(self.vendor, file_id)
                changed = ledger.apply_callbacks(self.vendor) if new and known else []
            finally:
                ledger.close()
            if changed:
                sync_results(self.out_dir)
        status = payload.get("status")
        if not known:
            self._log(
                f"unknown   fileId {file_id} status {status}: no upload in {self.out_dir} has "
                'that fileId; answered returnCode "1" so Huawei retries'
            )
            return 200, {
                "returnCode": "1",
                "description": f"fileId {file_id} is not an upload of this receiver",
            }
        outcome = ", ".join(f"{r.status} {r.output}" for r in changed) or (
            "recorded" if new else "repeat, nothing changed"
        )
        self._log(f"callback  fileId {file_id} status {status}: {outcome}")
        return 200, {"returnCode": "0"}

    def _log(self, line: str) -> None:
        if self.log is not None:
            self.log(time.strftime("%H:%M:%S ") + line)

    def start(self) -> CallbackReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    status, answer = 413, {"returnCode": "1", "description": "body too large"}
                else:
                    try:
                        payload = json.loads(self.rfile.read(length) or b"null")
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        payload = None
                    status, answer = receiver.handle(payload)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI)."""
        if self._server is None:
            self.start()
        assert self._server is not None
        try:
            threading.Event().wait()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Test doubles for the vendor clients: a scripted httpx transport, a fake clock and sleep."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from vendors.credentials import Credentials, Secret

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def creds(
    vendor: str, key_id: str = "sandbox-key-id-0001", secret: str = "sandbox-secret"
) -> Credentials:
    return Credentials(vendor=vendor, key_id=key_id, secret=Secret(secret))


def reply(status: int = 200, **body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


@dataclass
class FakeClock:
    now: float = 1_700_000_000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@dataclass
class Script:
    """Answers requests by route key (``route(request)``) from queues of scripted replies.

    The last reply of a queue repeats once the queue is down to it. Every request is
    recorded in ``requests`` with its route key.
    """

    route: Callable[[httpx.Request], str]
    replies: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[tuple[str, httpx.Request]] = field(default_factory=list)

    def on(self, key: str, *answers: Reply) -> Script:
        self.replies[key].extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        key = self.route(request)
        self.requests.append((key, request))
        queue = self.replies.get(key)
        if not queue:
            return httpx.Response(404, json={"error": f"unscripted {key}"})
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def routes(self) -> list[str]:
        return [key for key, _ in self.requests]

    def sent(self, key: str) -> list[httpx.Request]:
        return [req for k, req in self.requests if k == key]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def json_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def write_file(path: Any, size: int = 2000, *, header: bytes = b"RIFF") -> str:
    data = header + b"\x00" * max(0, size - len(header))
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path)

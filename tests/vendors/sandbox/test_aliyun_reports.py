"""Alibaba call results (§5.2): VoiceCallReport and VoiceReport pushed after an IvrCall,
retried after 1, 5 and 10 minutes of the sandbox clock, then dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.vendors.sandbox.helpers import aliyun, wait_for
from vendors.sandbox.config import ManualClock
from vendors.sandbox.server import ThreadedServer

CALL = {
    "CalledShowNumber": "057188773344",
    "CalledNumber": "13800138000",
    "StartCode": "TTS_10001",
    "OutId": "order-7",
}
OK = (200, {"code": 0, "msg": "received"}, 0.0)
CDR_FIELDS = {
    "call_id",
    "caller",
    "callee",
    "status_code",
    "status_msg",
    "duration",
    "originate_time",
    "ring_time",
    "b_start_time",
    "start_time",
    "end_time",
    "early_media_code",
    "hangup_direction",
    "out_id",
    "dtmf",
    "toll_type",
    "voice_type",
}


@dataclass
class ReportReceiver:
    """Records every pushed array; answers per report kind from a script (status, JSON
    body, seconds to wait first), then ``OK``."""

    url: str = ""
    received: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    script: dict[str, list[tuple[int, Any, float]]] = field(default_factory=dict)


def kind_of(body: list[dict[str, Any]]) -> str:
    return "VoiceReport" if "caller" in body[0] else "VoiceCallReport"


@pytest.fixture
def reports() -> Iterator[ReportReceiver]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    rec = ReportReceiver()

    async def post(request: Request) -> JSONResponse:
        body = await request.json()
        kind = kind_of(body)
        rec.received.append((kind, body))
        steps = rec.script.get(kind) or []
        status, answer, delay = steps.pop(0) if steps else OK
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(answer, status)

    app = Starlette(routes=[Route("/report", post, methods=["POST"])])
    with ThreadedServer(app) as server:
        rec.url = server.url + "/report"
        yield rec


def test_call_pushes_progress_and_cdr_arrays(make_sandbox, reports):
    clock = ManualClock()
    server = make_sandbox(clock=clock, aliyun_report_url=reports.url)
    call_id = aliyun(server.url, "IvrCall", CALL, clock=clock).json()["CallId"]
    state = server.app.state.sandbox
    wait_for(
        lambda: len(state.aliyun_reports) == 2 and all(r.delivered for r in state.aliyun_reports)
    )
    got = dict(reports.received)
    [progress] = got["VoiceCallReport"]
    assert set(progress) == {"call_id", "status_code", "status_time", "out_id"}
    assert progress["call_id"] == call_id and progress["out_id"] == "order-7"
    [cdr] = got["VoiceReport"]
    assert set(cdr) == CDR_FIELDS
    assert (cdr["call_id"], cdr["caller"], cdr["callee"]) == (
        call_id,
        "057188773344",
        "13800138000",
    )
    assert cdr["duration"].isdigit() and cdr["voice_type"] == "voice"
    assert all(r.tries == ["ok"] for r in state.aliyun_reports)


def test_reports_retried_at_1_5_10_minutes_then_dropped(make_sandbox, reports):
    clock = ManualClock()
    server = make_sandbox(clock=clock, aliyun_report_url=reports.url, aliyun_report_timeout_s=0.3)
    reports.script = {
        # progress: a 500, then the string "0" (only a numeric code counts), then taken
        "VoiceCallReport": [(500, {"code": 0}, 0.0), (200, {"code": "0"}, 0.0), OK],
        # CDR: 503, a timeout, code 1, a 502 → dropped after the fourth try
        "VoiceReport": [
            (503, {"code": 0}, 0.0),
            (200, {"code": 0}, 1.0),
            (200, {"code": 1, "msg": "busy"}, 0.0),
            (502, "bad gateway", 0.0),
        ],
    }
    t0 = clock.now
    aliyun(server.url, "IvrCall", CALL, clock=clock)
    state = server.app.state.sandbox
    progress, cdr = state.aliyun_reports
    assert (progress.kind, cdr.kind) == ("VoiceCallReport", "VoiceReport")

    def tried(n: int) -> bool:
        return len(progress.tries) >= min(n, 3) and len(cdr.tries) >= n

    wait_for(lambda: tried(1))
    for minutes, n in ((1, 2), (5, 3), (10, 4)):
        clock.advance(minutes * 60)
        wait_for(lambda n=n: tried(n))
    wait_for(lambda: cdr.dropped)
    assert progress.delivered and not progress.dropped
    assert progress.tried_at == [t0, t0 + 60, t0 + 360]
    assert progress.tries[0].startswith("HTTP 500") and progress.tries[2] == "ok"
    assert cdr.tried_at == [t0, t0 + 60, t0 + 360, t0 + 960]
    assert cdr.tries[0].startswith("HTTP 503") and "Timeout" in cdr.tries[1]
    assert cdr.tries[2].startswith("HTTP 200") and cdr.tries[3].startswith("HTTP 502")
    assert not cdr.delivered
    clock.advance(3600)  # nothing more after the schedule
    assert len([k for k, _ in reports.received if k == "VoiceReport"]) == 4


def test_no_report_url_pushes_nothing(make_sandbox):
    clock = ManualClock()
    server = make_sandbox(clock=clock)
    assert aliyun(server.url, "IvrCall", CALL, clock=clock).json()["Code"] == "OK"
    assert server.app.state.sandbox.aliyun_reports == []

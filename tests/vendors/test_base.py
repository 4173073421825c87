"""The client contract: receipts, the factory, endpoints, retry policy, error types."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ConfigurationError, VendorError
from tests.vendors.fakes import creds
from vendors.base import (
    AsyncVendorClient,
    Receipt,
    VendorClient,
    make_async_client,
    make_client,
    sandbox_url,
    vendor_for_profile,
)
from vendors.errors import (
    VendorAuthError,
    VendorNameClash,
    VendorQuotaExceeded,
    VendorRateLimited,
    VendorRefused,
    VendorUnavailable,
    VendorValidationError,
)
from vendors.retry import RetryPolicy

OPTIONS: dict[str, dict[str, Any]] = {
    "tencent-ccc": {"sdk_app_id": 1},
    "tencent-vod": {},
    "aliyun": {},
    "huawei": {},
    "yeastar": {},
}
CREDS = {
    "tencent-ccc": "tencent",
    "tencent-vod": "tencent",
    "aliyun": "alibaba",
    "huawei": "huawei",
    "yeastar": "yeastar",
}


def test_receipt_round_trips_and_rejects_unknown_status() -> None:
    receipt = Receipt("huawei", "in.wav", "out.wav", "1", "submitted", None, 1.5, {"a": 1})
    assert Receipt.from_dict(receipt.to_dict()) == receipt
    assert not receipt.final
    with pytest.raises(ValueError, match="status"):
        Receipt("huawei", "in", "out", None, "done", None, 0.0)


@pytest.mark.parametrize("vendor", sorted(OPTIONS))
def test_factory_builds_sync_and_async_clients_under_the_sandbox_prefix(vendor: str) -> None:
    sync = make_client(
        vendor,
        endpoint="http://127.0.0.1:8080/",
        credentials=creds(CREDS[vendor]),
        **OPTIONS[vendor],
    )
    asynchronous = make_async_client(
        vendor,
        endpoint="http://127.0.0.1:8080",
        credentials=creds(CREDS[vendor]),
        **OPTIONS[vendor],
    )
    try:
        assert sync.endpoint == sandbox_url("http://127.0.0.1:8080", vendor)
        assert "sandbox-secret" not in repr(sync)
        assert isinstance(sync, VendorClient)
        assert isinstance(asynchronous, AsyncVendorClient)
        assert sync.vendor == asynchronous.vendor == vendor
        assert sync.needs_url == (vendor in ("tencent-ccc", "tencent-vod"))
    finally:
        sync.close()


def test_sandbox_prefixes_and_profiles() -> None:
    assert sandbox_url("http://h:1", "tencent-vod-voice") == "http://h:1/tencent"
    assert sandbox_url("http://h:1/", "huawei") == "http://h:1/huawei"
    assert vendor_for_profile("aliyun-voice") == "aliyun"
    with pytest.raises(ConfigurationError, match="use one of"):
        vendor_for_profile("nokia")


def test_vendor_endpoint_is_used_exactly() -> None:
    c = make_client(
        "yeastar", vendor_endpoint="https://pbx.example:8088", credentials=creds("yeastar")
    )
    assert c.base == "https://pbx.example:8088/openapi/v1.0"
    with pytest.raises(ConfigurationError, match="not both"):
        make_client(
            "yeastar", endpoint="http://a", vendor_endpoint="http://b", credentials=creds("yeastar")
        )


def test_yeastar_has_no_default_endpoint() -> None:
    with pytest.raises(ConfigurationError, match="vendor-endpoint"):
        make_client("yeastar", credentials=creds("yeastar"))


def test_missing_credentials_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUAWEI_CEC_APP_KEY", raising=False)
    monkeypatch.delenv("HUAWEI_CEC_APP_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="HUAWEI_CEC_APP_KEY"):
        make_client("huawei")


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YEASTAR_CLIENT_ID", "cid")
    monkeypatch.setenv("YEASTAR_CLIENT_SECRET", "very-secret-value")
    c = make_client("yeastar", vendor_endpoint="http://pbx")
    assert c.credentials.key_id == "cid"
    assert "very-secret-value" not in repr(c)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (VendorAuthError("v", "c", "m"), False),
        (VendorValidationError("v", "c", "m"), False),
        (VendorQuotaExceeded("v", "c", "m"), False),
        (VendorNameClash("v", "c", "m"), False),
        (VendorRefused("v", "c", "m"), False),
        (VendorRateLimited("v", "c", "m"), True),
        (VendorUnavailable("v", "c", "m"), True),
    ],
)
def test_only_transient_errors_are_retryable(error: VendorError, retryable: bool) -> None:
    assert isinstance(error, VendorError)
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(error, attempt=1) is retryable
    assert not policy.should_retry(error, attempt=3)
    assert not policy.should_retry(ValueError("x"), attempt=1)


def test_backoff_grows_is_capped_and_jittered() -> None:
    low = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0, rng=lambda: 0.0)
    high = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0, rng=lambda: 1.0)
    assert [low.delay_s(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.delay_s(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    hinted = VendorRateLimited("v", "429", "slow down", retry_after_s=5.0)
    assert low.delay_s(1, hinted) == 5.0


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(base_delay_s=5.0, max_delay_s=1.0)


def test_http_429_is_rate_limited_with_the_servers_hint() -> None:
    import httpx

    from vendors.base import json_object

    response = httpx.Response(429, headers={"Retry-After": "3"}, text="slow down")
    with pytest.raises(VendorRateLimited) as err:
        json_object(response, "yeastar", "ask")
    assert err.value.retry_after_s == 3.0
    with pytest.raises(VendorUnavailable):
        json_object(httpx.Response(503, text="<html>"), "yeastar", "ask")
    with pytest.raises(VendorRefused):
        json_object(httpx.Response(404, text="<html>"), "yeastar", "ask")

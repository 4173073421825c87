"""TC3-HMAC-SHA256: vendor vectors, the official SDK as oracle, and sign/verify round trips."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigurationError
from tests.vendors import vectors
from vendors.credentials import Secret
from vendors.signing import (
    RequestParts,
    TC3Auth,
    TC3Error,
    sign_tc3,
    tc3_canonical_request,
    tc3_date,
    tc3_signature,
    tc3_signing_key,
    tc3_string_to_sign,
    verify_tc3,
)

KEY_ID = "AKIDTESTTESTTESTTESTTESTTESTTEST1234"
KEY = "testTencentSecretKeyNotReal000000"
NOW = 1_700_000_000
CCC = "https://ccc.tencentcloudapi.com/"


def _inputs_for(vector: dict[str, Any]) -> tuple[dict[str, str], str]:
    """(signed headers, body) of a vector, as the request carried them."""
    if "wire" in vector:
        wire = vector["wire"]["headers"]
        return {"Content-Type": wire["Content-Type"], "Host": wire["Host"]}, vector["wire"]["body"]
    inputs = vector["inputs"]
    return {"content-type": inputs["content_type"], "host": inputs["host"]}, inputs["payload"]


# --- vectors -------------------------------------------------------------------------------


def test_committed_vectors_are_the_shared_vectors() -> None:
    committed = vectors.load(vectors.COMMITTED)
    assert len(committed["tencent"]) + len(committed["alibaba"]) == 12
    if vectors.SHARED.exists():
        assert vectors.SHARED.read_bytes() == vectors.COMMITTED.read_bytes()


@pytest.mark.parametrize("vector", vectors.params("tencent", "tc3-doc-example-legacy"))
def test_doc_example_legacy_reproduces_every_step(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    headers, body = _inputs_for(vector)
    signed = sign_tc3(
        secret_id=inputs["secret_id"],
        secret_key=inputs["secret_key"],
        service=inputs["service"],
        timestamp=inputs["timestamp"],
        method="POST",
        headers=headers,
        body=body,
    )
    assert hashlib.sha256(body.encode()).hexdigest() == expected["hashed_payload"]
    assert signed.canonical_request == expected["canonical_request"]
    assert signed.hashed_canonical_request == expected["hashed_canonical_request"]
    assert signed.credential_scope == expected["credential_scope"]
    assert signed.string_to_sign == expected["string_to_sign"]
    signing_key = tc3_signing_key(
        inputs["secret_key"], date=tc3_date(inputs["timestamp"]), service=inputs["service"]
    )
    assert signing_key.hex() == expected["signing_key_hex"]
    assert signed.signature == expected["signature"]
    assert signed.authorization == expected["authorization"]


@pytest.mark.parametrize("vector", vectors.params("tencent", "tc3-doc-example-current"))
def test_doc_example_current_signs_x_tc_action(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    headers, body = _inputs_for(vector)
    headers["X-TC-Action"] = inputs["action"]
    canonical = tc3_canonical_request(method="POST", query="", headers=headers, body=body)
    assert canonical == expected["canonical_request"]  # value lower-cased: describeinstances
    assert hashlib.sha256(canonical.encode()).hexdigest() == expected["hashed_canonical_request"]
    to_sign = tc3_string_to_sign(
        timestamp=inputs["timestamp"], service=inputs["service"], canonical_request=canonical
    )
    assert to_sign == expected["string_to_sign"]
    # The key is masked in the doc; the last step is checkable with its SecretSigning.
    signing = bytes.fromhex(inputs["published_secret_signing_hex"])
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    assert signature == expected["signature"]
    shape = expected["authorization_shape"]
    assert "SignedHeaders=content-type;host;x-tc-action" in shape
    assert shape.endswith(signature)


@pytest.mark.parametrize("vector", vectors.params("tencent", "tc3-sdk-"))
def test_sdk_vectors_reproduce_every_step(vector: dict[str, Any]) -> None:
    inputs, expected, wire = vector["inputs"], vector["expected"], vector["wire"]
    headers, body = _inputs_for(vector)
    assert json.loads(body) == inputs["request_params"]
    assert wire["headers"]["X-TC-Timestamp"] == str(inputs["timestamp"])
    signed = sign_tc3(
        secret_id=inputs["secret_id"],
        secret_key=Secret(inputs["secret_key"]),
        service=inputs["service"],
        timestamp=inputs["timestamp"],
        method=wire["method"],
        headers=headers,
        body=body.encode("utf-8"),
    )
    assert hashlib.sha256(body.encode()).hexdigest() == expected["hashed_payload"]
    for field in (
        "canonical_request",
        "hashed_canonical_request",
        "credential_scope",
        "string_to_sign",
        "signature",
        "authorization",
    ):
        assert getattr(signed, field) == expected[field], field
    assert signed.authorization == wire["headers"]["Authorization"]


def test_scope_date_is_utc_and_flips_at_utc_midnight() -> None:
    before = vectors.vector("tencent", "tc3-sdk-DescribeIvrAudioList-1700006399")
    after = vectors.vector("tencent", "tc3-sdk-DescribeIvrAudioList-1700006400")
    assert before["expected"]["credential_scope"].startswith("2023-11-14/")
    assert after["expected"]["credential_scope"].startswith("2023-11-15/")
    assert tc3_date(1700006399) == "2023-11-14"
    assert tc3_date(1700006400) == "2023-11-15"
    assert tc3_date(1551113065) == "2019-02-25"  # not the Beijing date 02-26


@pytest.mark.parametrize("vector", vectors.params("tencent", "tc3-sdk-"))
def test_auth_on_mock_transport_sends_what_the_sdk_sends(vector: dict[str, Any]) -> None:
    inputs, wire = vector["inputs"], vector["wire"]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"Response": {"RequestId": "r-1"}})

    auth = TC3Auth(inputs["secret_id"], inputs["secret_key"], clock=lambda: inputs["timestamp"])
    passthrough = {
        k: v for k, v in wire["headers"].items() if k not in ("Authorization", "X-TC-Timestamp")
    }
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.post(
            wire["url"], content=wire["body"].encode(), headers=passthrough, auth=auth
        )
    assert response.status_code == 200
    (request,) = sent
    for name, value in wire["headers"].items():
        assert request.headers[name] == value, name
    assert request.content == wire["body"].encode()
    assert str(request.url) == wire["url"]
    verdict = verify_tc3(
        RequestParts.from_httpx(request),
        {inputs["secret_id"]: inputs["secret_key"]}.get,
        now=inputs["timestamp"] + 299,
        service=inputs["service"],
    )
    assert verdict.ok, verdict.message


# --- the official SDK as oracle ------------------------------------------------------------

_service = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12)
_host = st.builds(
    lambda s, intl: f"{s}.{'intl.' if intl else ''}tencentcloudapi.com", _service, st.booleans()
)
_timestamp = st.integers(min_value=0, max_value=4_102_444_800)  # 1970 … 2100
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_params = st.dictionaries(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.",
        min_size=1,
        max_size=12,
    ),
    st.text(max_size=20),
    max_size=6,
)


@settings(deadline=None)
@given(key=st.text(min_size=1), date=st.text(max_size=12), service=_service, to_sign=st.text())
def test_tc3_signature_equals_sdk_sign_tc3(key: str, date: str, service: str, to_sign: str) -> None:
    from tencentcloud.common.sign import Sign

    assert tc3_signature(key, date=date, service=service, string_to_sign=to_sign) == Sign.sign_tc3(
        key, date, service, to_sign
    )


@settings(max_examples=150, deadline=None)
@given(
    key=st.text(min_size=1, max_size=40),
    host=_host,
    timestamp=_timestamp,
    params=st.dictionaries(st.text(max_size=10), _json_value, max_size=5),
    ensure_ascii=st.booleans(),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "application/octet-stream"]
    ),
)
def test_post_signature_equals_sdk(
    key: str,
    host: str,
    timestamp: int,
    params: dict[str, Any],
    ensure_ascii: bool,
    content_type: str,
) -> None:
    from tencentcloud.common.abstract_client import AbstractClient
    from tencentcloud.common.http.request import RequestInternal

    body = json.dumps(params, ensure_ascii=ensure_ascii)
    headers = {"Content-Type": content_type, "Host": host, "X-TC-Timestamp": str(timestamp)}
    req = RequestInternal(host, "POST", "/", header=headers, data=body)
    service, date = host.split(".")[0], tc3_date(timestamp)
    sdk = AbstractClient._get_tc3_signature(None, {}, req, date, service, key)
    ours = sign_tc3(
        secret_id=KEY_ID,
        secret_key=key,
        service=service,
        timestamp=timestamp,
        method="POST",
        headers={"content-type": content_type, "host": host},
        body=body.encode("utf-8"),
    )
    assert ours.signature == sdk


@settings(max_examples=150, deadline=None)
@given(key=st.text(min_size=1, max_size=40), host=_host, timestamp=_timestamp, params=_params)
def test_get_signature_equals_sdk(
    key: str, host: str, timestamp: int, params: dict[str, str]
) -> None:
    from tencentcloud.common.abstract_client import AbstractClient
    from tencentcloud.common.http.request import RequestInternal

    query = urlencode(params)
    content_type = "application/x-www-form-urlencoded"
    headers = {"Content-Type": content_type, "Host": host, "X-TC-Timestamp": str(timestamp)}
    req = RequestInternal(host, "GET", "/", header=headers, data=query)
    service, date = host.split(".")[0], tc3_date(timestamp)
    sdk = AbstractClient._get_tc3_signature(None, {}, req, date, service, key)
    ours = sign_tc3(
        secret_id=KEY_ID,
        secret_key=key,
        service=service,
        timestamp=timestamp,
        method="GET",
        headers={"content-type": content_type, "host": host},
        query=query,
    )
    assert ours.signature == sdk


@settings(max_examples=100, deadline=None)
@given(
    action=st.sampled_from(["UploadIvrAudio", "DescribeIvrAudioList", "CreateAigcCustomVoice"]),
    params=st.dictionaries(st.text(max_size=10), _json_value, max_size=5),
    timestamp=st.integers(min_value=1_000_000_000, max_value=4_000_000_000),
    token=st.none() | st.text(alphabet="abcdef0123456789", min_size=8, max_size=32),
)
def test_auth_header_equals_sdk_build_request(
    action: str, params: dict[str, Any], timestamp: int, token: str | None
) -> None:
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.http.request import RequestInternal

    host = "ccc.tencentcloudapi.com"
    client = CommonClient("ccc", "2020-02-10", Credential(KEY_ID, KEY, token), "")
    req = RequestInternal(host, "POST", "/", header={})
    with mock.patch("tencentcloud.common.abstract_client.time.time", return_value=float(timestamp)):
        client._build_req_inter(action, params, req)

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    auth = TC3Auth(KEY_ID, KEY, token=token, clock=lambda: timestamp)
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        http.post(
            f"https://{host}/",
            content=req.data.encode(),
            headers={"X-TC-Action": action},
            auth=auth,
        )
    assert sent[0].headers["Authorization"] == req.header["Authorization"]
    assert sent[0].headers.get("X-TC-Token") == req.header.get("X-TC-Token")


# --- sign / verify -------------------------------------------------------------------------


def _signed(
    *,
    method: str = "POST",
    body: bytes = b'{"SdkAppId": 1}',
    params: dict[str, str] | None = None,
    **kw: Any,
) -> httpx.Request:
    auth = TC3Auth(KEY_ID, KEY, "ccc", clock=lambda: NOW, **kw)
    request = httpx.Request(
        method,
        CCC,
        params=params,
        content=body if method != "GET" else None,
        headers={"X-TC-Action": "UploadIvrAudio"},
    )
    flow = auth.auth_flow(request)
    return next(flow)


def _verify(parts: RequestParts, *, now: float = NOW, secrets: dict[str, str] | None = None) -> Any:
    return verify_tc3(parts, (secrets if secrets is not None else {KEY_ID: KEY}).get, now=now)


def test_round_trip_verifies() -> None:
    verdict = _verify(RequestParts.from_httpx(_signed()))
    assert verdict.ok and verdict.code is None and verdict.key_id == KEY_ID


def test_get_round_trip_signs_the_query() -> None:
    request = _signed(method="GET", params={"Limit": "10", "Name": "a b*~é"})
    parts = RequestParts.from_httpx(request)
    assert _verify(parts).ok
    tampered = RequestParts(
        parts.method, parts.path, parts.query.replace("10", "11"), parts.headers
    )
    assert _verify(tampered).error is TC3Error.SIGNATURE_FAILURE


@settings(deadline=None)
@given(
    body=st.binary(min_size=1, max_size=200), index=st.integers(min_value=0), bit=st.integers(0, 7)
)
def test_any_flipped_body_bit_fails(body: bytes, index: int, bit: int) -> None:
    parts = RequestParts.from_httpx(_signed(body=body))
    assert _verify(parts).ok
    flipped = bytearray(body)
    flipped[index % len(body)] ^= 1 << bit
    tampered = RequestParts(parts.method, parts.path, parts.query, parts.headers, bytes(flipped))
    assert _verify(tampered).error is TC3Error.SIGNATURE_FAILURE


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("content-type", "application/json; charset=utf-8"),
        ("host", "ccc.intl.tencentcloudapi.com"),
        ("x-tc-action", "DeleteEverything"),
    ],
)
def test_tampered_signed_header_fails(header: str, value: str) -> None:
    parts = RequestParts.from_httpx(_signed(sign_headers=["X-TC-Action"]))
    assert "x-tc-action" in parts.headers["authorization"]
    tampered = RequestParts(
        parts.method, parts.path, parts.query, {**parts.headers, header: value}, parts.body
    )
    assert _verify(tampered).error is TC3Error.SIGNATURE_FAILURE


def test_unsigned_header_can_change() -> None:
    parts = RequestParts.from_httpx(_signed())
    changed = RequestParts(
        parts.method,
        parts.path,
        parts.query,
        {**parts.headers, "x-tc-language": "en-US"},
        parts.body,
    )
    assert _verify(changed).ok


@pytest.mark.parametrize(
    ("offset_s", "ok"), [(-300, True), (300, True), (-301, False), (301, False)]
)
def test_clock_skew_over_five_minutes_expires(offset_s: int, ok: bool) -> None:
    verdict = _verify(RequestParts.from_httpx(_signed()), now=NOW + offset_s)
    assert verdict.ok is ok
    if not ok:
        assert verdict.error is TC3Error.SIGNATURE_EXPIRE
        assert verdict.code == "AuthFailure.SignatureExpire"
        assert "301 s" in verdict.message and "300 s" in verdict.message


def test_skew_is_checked_before_the_signature() -> None:
    parts = RequestParts.from_httpx(_signed())
    tampered = RequestParts(parts.method, parts.path, parts.query, parts.headers, b"{}")
    assert _verify(tampered, now=NOW + 3600).error is TC3Error.SIGNATURE_EXPIRE


def test_unknown_secret_id() -> None:
    verdict = _verify(RequestParts.from_httpx(_signed()), secrets={"AKIDother": KEY})
    assert verdict.error is TC3Error.SECRET_ID_NOT_FOUND


def test_wrong_secret_key_fails() -> None:
    verdict = _verify(RequestParts.from_httpx(_signed()), secrets={KEY_ID: KEY + "x"})
    assert verdict.error is TC3Error.SIGNATURE_FAILURE


_AUTH_PREFIX = "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/ccc/tc3_request, "


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer abc",
        _AUTH_PREFIX + "SignedHeaders=content-type;host",
        _AUTH_PREFIX + "SignedHeaders=content-type;host, Signature=xyz",
        _AUTH_PREFIX + "SignedHeaders=host, Signature=" + "0" * 64,
        _AUTH_PREFIX + "SignedHeaders=content-type;host;x-missing, Signature=" + "0" * 64,
    ],
)
def test_unparsable_authorization(authorization: str | None) -> None:
    parts = RequestParts.from_httpx(_signed())
    headers = {k: v for k, v in parts.headers.items() if k != "authorization"}
    if authorization is not None:
        headers["authorization"] = authorization
    verdict = _verify(RequestParts(parts.method, parts.path, parts.query, headers, parts.body))
    assert verdict.error is TC3Error.INVALID_AUTHORIZATION


def test_scope_date_must_match_timestamp() -> None:
    parts = RequestParts.from_httpx(_signed())
    auth = parts.headers["authorization"].replace(tc3_date(NOW), "2023-11-13")
    verdict = _verify(
        RequestParts(
            parts.method,
            parts.path,
            parts.query,
            {**parts.headers, "authorization": auth},
            parts.body,
        )
    )
    assert verdict.error is TC3Error.SIGNATURE_FAILURE


def test_expected_service_is_enforced_when_given() -> None:
    parts = RequestParts.from_httpx(_signed())
    assert verify_tc3(parts, {KEY_ID: KEY}.get, now=NOW, service="ccc").ok
    assert (
        verify_tc3(parts, {KEY_ID: KEY}.get, now=NOW, service="vod").error
        is TC3Error.SIGNATURE_FAILURE
    )


def test_service_defaults_to_host_label() -> None:
    request = next(
        TC3Auth(KEY_ID, KEY, clock=lambda: NOW).auth_flow(
            httpx.Request("POST", "https://vod.intl.tencentcloudapi.com/", json={})
        )
    )
    assert "/vod/tc3_request" in request.headers["Authorization"]


def test_default_content_type_and_token_are_set() -> None:
    request = next(
        TC3Auth(KEY_ID, KEY, "ccc", token="sts-token", clock=lambda: NOW).auth_flow(
            httpx.Request("POST", CCC, content=b"{}")
        )
    )
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-TC-Token"] == "sts-token"
    assert request.headers["X-TC-Timestamp"] == str(NOW)


# --- secrets stay secret -------------------------------------------------------------------


def test_auth_repr_and_str_hide_secrets() -> None:
    auth = TC3Auth(KEY_ID, KEY, "ccc", token="sts-token-value")
    for text in (repr(auth), str(auth), f"{auth}"):
        assert KEY not in text and "sts-token-value" not in text and KEY_ID not in text
    # Attributes hold the secrets only as Secret, so even a debugger's dump hides them.
    assert KEY not in repr(vars(auth)) and "sts-token-value" not in repr(vars(auth))
    assert "Secret('***')" in repr(auth)


def test_errors_do_not_leak_secrets() -> None:
    auth = TC3Auth(KEY_ID, KEY, "ccc", sign_headers=["x-absent"], clock=lambda: NOW)
    with pytest.raises(ConfigurationError) as info:
        next(auth.auth_flow(httpx.Request("POST", CCC, content=b"{}")))
    assert "x-absent" in str(info.value)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    with pytest.raises(ConfigurationError, match="TENCENTCLOUD_SECRET_KEY"):
        TC3Auth(KEY_ID, "")
    parts = RequestParts.from_httpx(_signed())
    for verdict in (_verify(parts, secrets={KEY_ID: KEY + "x"}), _verify(parts, now=NOW + 999)):
        assert KEY not in verdict.message and KEY not in repr(verdict)

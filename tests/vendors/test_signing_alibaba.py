"""Alibaba RPC HMAC-SHA1 and ACS3-HMAC-SHA256: vectors, the official SDK as oracle, round trips."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigurationError
from tests.vendors import vectors
from vendors._signing._alibaba_common import format_timestamp, parse_timestamp
from vendors.signing import (
    ACS3Auth,
    AlibabaError,
    MemoryNonceStore,
    RequestParts,
    RpcAuth,
    acs3_canonical_request,
    acs3_string_to_sign,
    percent_encode,
    rpc_canonical_query,
    rpc_signature,
    rpc_string_to_sign,
    sign_acs3,
    verify_acs3,
    verify_rpc,
)

AK = "LTAITESTACCESSKEYID0001"
SECRET = "testAlibabaSecretNotReal00000000"
NOW = 1_717_228_800  # 2024-06-01T08:00:00Z
DYVMS = "https://dyvmsapi.aliyuncs.com/"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# --- vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs-rpc-"))
def test_rpc_vectors_reproduce(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    params, method = inputs["params"], inputs["method"]
    assert rpc_canonical_query(params) == expected["canonicalized_query_string"]
    assert rpc_string_to_sign(method, params) == expected["string_to_sign"]
    assert (
        rpc_signature(inputs["access_key_secret"], method=method, params=params)
        == expected["signature"]
    )


def test_rpc_doc_example_is_the_published_signature() -> None:
    vector = vectors.vector("alibaba", "acs-rpc-hmacsha1-doc-example")
    assert rpc_signature("testsecret", method="GET", params=vector["inputs"]["params"]) == (
        "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
    )


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs-rpc-hmacsha1-IvrCall"))
def test_rpc_wire_url_from_aliyunsdkcore_verifies(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    url = vector["wire"]["signed_query_as_sent_by_aliyunsdkcore"]
    path, _, query = url.partition("?")
    assert (
        dict(parse_qsl(query, keep_blank_values=True))["Signature"]
        == vector["expected"]["signature"]
    )
    parts = RequestParts("POST", path, query, {"host": "dyvmsapi.aliyuncs.com"})
    now = parse_timestamp(inputs["params"]["Timestamp"])
    assert now is not None
    secrets = {inputs["access_key_id"]: inputs["access_key_secret"]}
    verdict = verify_rpc(parts, secrets.get, now=now, nonces=MemoryNonceStore())
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs-rpc-hmacsha1-encoding-stress"))
def test_percent_encoding_rules(vector: dict[str, Any]) -> None:
    canonical = vector["expected"]["canonicalized_query_string"]
    assert "OutId=a%20b%2Ac~d%2Be%2Ff" in canonical
    assert percent_encode("a b*c~d+e/f") == "a%20b%2Ac~d%2Be%2Ff"
    assert percent_encode("中") == "%E4%B8%AD"
    assert percent_encode("-_.~AZaz09") == "-_.~AZaz09"
    assert percent_encode("!'()*,;:@&=") == "%21%27%28%29%2A%2C%3B%3A%40%26%3D"


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs3-"))
def test_acs3_vectors_reproduce(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    if "wire" in vector:
        wire = vector["wire"]
        method, path, query = wire["method"], wire["path"], wire["query"]
        headers = {k: v for k, v in wire["headers"].items() if k != "Authorization"}
        hashed = headers["x-acs-content-sha256"]
        assert hashed == EMPTY_SHA256  # RPC-in-query: body is empty
    else:
        method, path, query = inputs["method"], inputs["path"], inputs["query"]
        headers, hashed = inputs["headers"], inputs["hashed_payload"]
    signed = sign_acs3(
        access_key_id=inputs["access_key_id"],
        access_key_secret=inputs["access_key_secret"],
        method=method,
        path=path,
        query=query,
        headers=headers,
        hashed_payload=hashed,
    )
    assert signed.canonical_request == expected["canonical_request"]
    assert (
        acs3_string_to_sign(signed.canonical_request)
        == signed.string_to_sign
        == expected["string_to_sign"]
    )
    assert signed.signature == expected["signature"]
    assert signed.authorization == expected["authorization"]


def test_acs3_doc_example_is_the_published_signature() -> None:
    vector = vectors.vector("alibaba", "acs3-doc-example")
    assert vector["expected"]["signature"].startswith("06563a9e")
    canonical = acs3_canonical_request(
        method="POST",
        path="/",
        query=vector["inputs"]["query"],
        headers=vector["inputs"]["headers"],
        hashed_payload=EMPTY_SHA256,
    )
    assert canonical == vector["expected"]["canonical_request"]


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs3-sdk-IvrCall"))
def test_acs3_auth_on_mock_transport_sends_what_the_sdk_sends(vector: dict[str, Any]) -> None:
    inputs, wire = vector["inputs"], vector["wire"]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"Code": "OK"})

    auth = ACS3Auth(
        inputs["access_key_id"],
        inputs["access_key_secret"],
        clock=lambda: NOW,
        nonce=lambda: wire["headers"]["x-acs-signature-nonce"],
        sign_headers=["accept", "user-agent"],
    )
    caller_headers = {
        k: wire["headers"][k]
        for k in (
            "x-acs-action",
            "x-acs-version",
            "user-agent",
            "accept",
            "x-acs-credentials-provider",
        )
    }
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.post(
            f"https://{wire['host']}{wire['path']}",
            params=wire["query"],
            headers=caller_headers,
            auth=auth,
        )
    (request,) = sent
    for name, value in wire["headers"].items():
        assert request.headers[name] == value, name
    assert dict(parse_qsl(request.url.query.decode(), keep_blank_values=True)) == wire["query"]
    verdict = verify_acs3(
        RequestParts.from_httpx(request),
        {inputs["access_key_id"]: inputs["access_key_secret"]}.get,
        now=NOW,
        nonces=MemoryNonceStore(),
    )
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("vector", vectors.params("alibaba", "acs-rpc-hmacsha1-IvrCall"))
def test_rpc_auth_on_mock_transport_signs_like_aliyunsdkcore(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    full = inputs["params"]
    added = {
        "AccessKeyId",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
    }
    business = {k: v for k, v in full.items() if k not in added}
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"Code": "OK"})

    auth = RpcAuth(
        inputs["access_key_id"],
        inputs["access_key_secret"],
        clock=lambda: parse_timestamp(full["Timestamp"]) or 0.0,
        nonce=lambda: full["SignatureNonce"],
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.post(DYVMS, params=business, auth=auth)
    (request,) = sent
    query = request.url.query.decode()
    assert query == expected["canonicalized_query_string"] + "&Signature=" + percent_encode(
        expected["signature"]
    )
    assert dict(parse_qsl(query, keep_blank_values=True)) == {
        **full,
        "Signature": expected["signature"],
    }


# --- the official SDK as oracle ------------------------------------------------------------

_tricky = st.text(
    alphabet=st.sampled_from(list(" *~+/:=&%中文é!'()_-.aZ09\u00a0\U0001f600"))
    | st.characters(exclude_categories=["Cs"]),
    max_size=24,
)
_name = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~",
    min_size=1,
    max_size=16,
)


@settings(max_examples=150, deadline=None)
@given(
    params=st.dictionaries(_name | _tricky.filter(bool), _tricky, max_size=10),
    method=st.sampled_from(["GET", "POST"]),
    secret=st.text(min_size=1, max_size=40),
)
def test_rpc_signature_equals_sdk(params: dict[str, str], method: str, secret: str) -> None:
    from alibabacloud_openapi_util.client import Client

    params.pop("Signature", None)
    assert rpc_signature(secret, method=method, params=params) == Client.get_rpcsignature(
        params, method, secret
    )


class _SdkRequest:
    """The attributes `Client.get_authorization` reads from a tea request."""

    def __init__(
        self, method: str, pathname: str, query: dict[str, str], headers: dict[str, str]
    ) -> None:
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


_header_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
_header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    action=st.sampled_from(["IvrCall", "GetToken", "QueryVoiceFileAuditInfo", "RunInstances"]),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    path=st.sampled_from(["/", "/dyvms/upload", "/v1/a%20b"]),
    query=st.dictionaries(_name, _tricky, max_size=8),
    extra=st.dictionaries(_header_name, _header_value, max_size=4),
    body=st.binary(max_size=64),
    secret=st.text(min_size=1, max_size=40),
)
def test_acs3_authorization_equals_sdk(
    action: str,
    method: str,
    path: str,
    query: dict[str, str],
    extra: dict[str, str],
    body: bytes,
    secret: str,
) -> None:
    from alibabacloud_openapi_util.client import Client

    hashed = hashlib.sha256(body).hexdigest()
    headers = {
        **extra,
        "host": "dyvmsapi.aliyuncs.com",
        "x-acs-action": action,
        "x-acs-version": "2017-05-25",
        "x-acs-date": "2024-06-01T08:00:00Z",
        "x-acs-signature-nonce": "n0nce",
        "x-acs-content-sha256": hashed,
    }
    sdk = Client.get_authorization(
        _SdkRequest(method, path, query, headers), "ACS3-HMAC-SHA256", hashed, AK, secret
    )
    ours = sign_acs3(
        access_key_id=AK,
        access_key_secret=secret,
        method=method,
        path=path,
        query=query,
        headers=headers,
        hashed_payload=hashed,
    )
    assert ours.authorization == sdk


# --- sign / verify: RPC --------------------------------------------------------------------

_IVR = {
    "Action": "IvrCall",
    "Version": "2017-05-25",
    "CalledNumber": "13800000000",
    "OutId": "a b*~中",
}


def _rpc_signed(
    params: dict[str, str] | None = None, *, nonce: str = "nonce-1", **kw: Any
) -> RequestParts:
    auth = RpcAuth(AK, SECRET, clock=lambda: NOW, nonce=lambda: nonce, **kw)
    request = next(auth.auth_flow(httpx.Request("POST", DYVMS, params=params or _IVR)))
    return RequestParts.from_httpx(request)


def _rpc_verify(
    parts: RequestParts, *, now: float = NOW, nonces: MemoryNonceStore | None = None
) -> Any:
    return verify_rpc(
        parts, {AK: SECRET}.get, now=now, nonces=MemoryNonceStore() if nonces is None else nonces
    )


def _with_query(parts: RequestParts, **changes: str | None) -> RequestParts:
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
    return RequestParts(parts.method, parts.path, query, parts.headers, parts.body)


def test_rpc_round_trip() -> None:
    parts = _rpc_signed()
    params = dict(parse_qsl(parts.query))
    assert params["Timestamp"] == "2024-06-01T08:00:00Z" and params["Format"] == "JSON"
    assert "+" not in parts.query and "%20" in parts.query
    verdict = _rpc_verify(parts)
    assert verdict.ok and verdict.key_id == AK


def test_rpc_form_body_params_are_signed() -> None:
    auth = RpcAuth(AK, SECRET, clock=lambda: NOW)
    request = next(
        auth.auth_flow(
            httpx.Request(
                "POST",
                DYVMS,
                params={"Action": "IvrCall"},
                data={"Version": "2017-05-25", "OutId": "x y"},
            )
        )
    )
    parts = RequestParts.from_httpx(request)
    assert _rpc_verify(parts).ok
    tampered = RequestParts(
        parts.method, parts.path, parts.query, parts.headers, parts.body.replace(b"x", b"z")
    )
    assert _rpc_verify(tampered).error is AlibabaError.SIGNATURE_DOES_NOT_MATCH


@pytest.mark.parametrize(
    ("name", "value"), [("OutId", "other"), ("CalledNumber", "13900000000"), ("Extra", "1")]
)
def test_rpc_tampered_param_fails(name: str, value: str) -> None:
    verdict = _rpc_verify(_with_query(_rpc_signed(), **{name: value}))
    assert verdict.error is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    assert verdict.code == "SignatureDoesNotMatch" and verdict.error.http_status == 400


def test_rpc_method_is_signed() -> None:
    parts = _rpc_signed()
    assert (
        _rpc_verify(RequestParts("GET", parts.path, parts.query, parts.headers)).error
        is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    )


@pytest.mark.parametrize(
    ("offset_s", "ok"), [(-900, True), (900, True), (-901, False), (901, False)]
)
def test_rpc_skew_over_fifteen_minutes_expires(offset_s: int, ok: bool) -> None:
    verdict = _rpc_verify(_rpc_signed(), now=NOW + offset_s)
    assert verdict.ok is ok
    if not ok:
        assert verdict.code == "InvalidTimeStamp.Expired"


def test_rpc_nonce_replay_is_refused() -> None:
    nonces = MemoryNonceStore()
    parts = _rpc_signed()
    assert _rpc_verify(parts, nonces=nonces).ok
    assert _rpc_verify(parts, nonces=nonces).error is AlibabaError.NONCE_USED
    assert _rpc_verify(_rpc_signed(nonce="nonce-2"), nonces=nonces).ok


def test_rpc_forgery_does_not_burn_the_nonce() -> None:
    nonces = MemoryNonceStore()
    parts = _rpc_signed()
    assert (
        _rpc_verify(_with_query(parts, OutId="forged"), nonces=nonces).error
        is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    )
    assert _rpc_verify(parts, nonces=nonces).ok


def test_rpc_unknown_access_key() -> None:
    verdict = verify_rpc(_rpc_signed(), dict[str, str]().get, now=NOW, nonces=MemoryNonceStore())
    assert verdict.error is AlibabaError.ACCESS_KEY_NOT_FOUND and verdict.error.http_status == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"Signature": None},
        {"AccessKeyId": None},
        {"SignatureNonce": None},
        {"SignatureMethod": "HMAC-SHA256"},
        {"SignatureVersion": "2.0"},
    ],
)
def test_rpc_incomplete_signature(changes: dict[str, str | None]) -> None:
    assert (
        _rpc_verify(_with_query(_rpc_signed(), **changes)).error
        is AlibabaError.INCOMPLETE_SIGNATURE
    )


def test_rpc_bad_timestamp_format() -> None:
    verdict = _rpc_verify(_with_query(_rpc_signed(), Timestamp="2024-06-01 08:00:00"))
    assert verdict.error is AlibabaError.TIMESTAMP_FORMAT


def test_rpc_auth_requires_action_and_version() -> None:
    with pytest.raises(ConfigurationError, match="Action and Version"):
        next(RpcAuth(AK, SECRET).auth_flow(httpx.Request("POST", DYVMS)))


def test_rpc_auth_sends_security_token() -> None:
    params = dict(parse_qsl(_rpc_signed(security_token="sts-token").query))
    assert params["SecurityToken"] == "sts-token"


# --- sign / verify: ACS3 -------------------------------------------------------------------


def _acs3_signed(
    *, body: bytes = b"", nonce: str = "nonce-1", params: dict[str, str] | None = None, **kw: Any
) -> RequestParts:
    auth = ACS3Auth(AK, SECRET, clock=lambda: NOW, nonce=lambda: nonce, **kw)
    request = httpx.Request(
        "POST",
        DYVMS,
        params=params
        if params is not None
        else {"CalledNumber": "13800000000", "OutId": "a b*~中"},
        content=body,
        headers={
            "x-acs-action": "IvrCall",
            "x-acs-version": "2017-05-25",
            "content-type": "application/octet-stream",
        },
    )
    return RequestParts.from_httpx(next(auth.auth_flow(request)))


def _acs3_verify(
    parts: RequestParts, *, now: float = NOW, nonces: MemoryNonceStore | None = None
) -> Any:
    return verify_acs3(
        parts, {AK: SECRET}.get, now=now, nonces=MemoryNonceStore() if nonces is None else nonces
    )


def _replace(parts: RequestParts, **changes: Any) -> RequestParts:
    fields = {
        "method": parts.method,
        "path": parts.path,
        "query": parts.query,
        "headers": parts.headers,
        "body": parts.body,
    }
    return RequestParts(**{**fields, **changes})


def test_acs3_round_trip() -> None:
    parts = _acs3_signed(body=b"RIFF....WAVE")
    assert parts.headers["x-acs-date"] == "2024-06-01T08:00:00Z"
    assert parts.headers["x-acs-content-sha256"] == hashlib.sha256(b"RIFF....WAVE").hexdigest()
    signed = parts.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "content-type", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"} <= set(
        signed
    )
    assert "accept-encoding" not in signed
    verdict = _acs3_verify(parts)
    assert verdict.ok and verdict.key_id == AK


@settings(deadline=None)
@given(
    body=st.binary(min_size=1, max_size=100), index=st.integers(min_value=0), bit=st.integers(0, 7)
)
def test_acs3_any_flipped_body_bit_fails(body: bytes, index: int, bit: int) -> None:
    parts = _acs3_signed(body=body)
    assert _acs3_verify(parts).ok
    flipped = bytearray(body)
    flipped[index % len(body)] ^= 1 << bit
    assert (
        _acs3_verify(_replace(parts, body=bytes(flipped))).error
        is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    )


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-acs-action", "GetToken"), ("host", "evil.example"), ("content-type", "text/plain")],
)
def test_acs3_tampered_header_fails(header: str, value: str) -> None:
    parts = _acs3_signed()
    verdict = _acs3_verify(_replace(parts, headers={**parts.headers, header: value}))
    assert verdict.error is AlibabaError.SIGNATURE_DOES_NOT_MATCH


def test_acs3_tampered_query_fails() -> None:
    parts = _acs3_signed()
    assert (
        _acs3_verify(_replace(parts, query=parts.query.replace("138", "139"))).error
        is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    )


def test_acs3_unsigned_x_acs_header_is_incomplete() -> None:
    parts = _acs3_signed()
    verdict = _acs3_verify(_replace(parts, headers={**parts.headers, "x-acs-extra": "1"}))
    assert verdict.error is AlibabaError.INCOMPLETE_SIGNATURE and "x-acs-extra" in verdict.message


@pytest.mark.parametrize(
    "authorization", [None, "", "ACS3-HMAC-SHA256 Credential=AK, SignedHeaders=host, Signature=00"]
)
def test_acs3_malformed_authorization_is_incomplete(authorization: str | None) -> None:
    parts = _acs3_signed()
    headers = {k: v for k, v in parts.headers.items() if k != "authorization"}
    if authorization is not None:
        headers["authorization"] = authorization
    assert _acs3_verify(_replace(parts, headers=headers)).error is AlibabaError.INCOMPLETE_SIGNATURE


@pytest.mark.parametrize(
    ("offset_s", "ok"), [(-900, True), (900, True), (-901, False), (901, False)]
)
def test_acs3_skew_over_fifteen_minutes_expires(offset_s: int, ok: bool) -> None:
    verdict = _acs3_verify(_acs3_signed(), now=NOW + offset_s)
    assert verdict.ok is ok
    if not ok:
        assert verdict.error is AlibabaError.TIMESTAMP_EXPIRED


def test_acs3_nonce_replay_is_refused() -> None:
    nonces = MemoryNonceStore()
    parts = _acs3_signed()
    assert _acs3_verify(parts, nonces=nonces).ok
    assert _acs3_verify(parts, nonces=nonces).code == "SignatureNonceUsed"


def test_acs3_unknown_access_key() -> None:
    verdict = verify_acs3(_acs3_signed(), {"other": SECRET}.get, now=NOW, nonces=MemoryNonceStore())
    assert verdict.error is AlibabaError.ACCESS_KEY_NOT_FOUND


def test_acs3_auth_requires_action_and_version() -> None:
    with pytest.raises(ConfigurationError, match="x-acs-action"):
        next(ACS3Auth(AK, SECRET).auth_flow(httpx.Request("POST", DYVMS)))


def test_acs3_security_token_is_sent_and_signed() -> None:
    parts = _acs3_signed(security_token="sts-token")
    assert parts.headers["x-acs-security-token"] == "sts-token"
    assert "x-acs-security-token" in parts.headers["authorization"]
    assert _acs3_verify(parts).ok


# --- nonce store, timestamps ---------------------------------------------------------------


def test_nonce_store_forgets_after_ttl() -> None:
    store = MemoryNonceStore(ttl_s=10)
    assert store.add("ak", "n", now=0)
    assert not store.add("ak", "n", now=9.9)
    assert store.add("other", "n", now=9.9)
    assert store.add("ak", "n", now=10.0)
    assert store.add("ak", "m", now=100.0) and store.remembered == 1


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_timestamp_round_trip(unix_s: int) -> None:
    assert parse_timestamp(format_timestamp(unix_s)) == unix_s


# --- secrets stay secret -------------------------------------------------------------------


@pytest.mark.parametrize("auth_cls", [RpcAuth, ACS3Auth])
def test_auth_repr_hides_secrets(auth_cls: type[RpcAuth] | type[ACS3Auth]) -> None:
    auth = auth_cls(AK, SECRET, "sts-token-value")
    for text in (repr(auth), str(auth), f"{auth!r}"):
        assert SECRET not in text and "sts-token-value" not in text and AK not in text
    assert SECRET not in repr(vars(auth)) and "sts-token-value" not in repr(vars(auth))


def test_errors_and_verdicts_do_not_leak_secrets() -> None:
    with pytest.raises(ConfigurationError) as info:
        next(RpcAuth(AK, SECRET).auth_flow(httpx.Request("POST", DYVMS)))
    assert SECRET not in str(info.value)
    with pytest.raises(ConfigurationError, match="ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        ACS3Auth(AK, "")
    wrong = verify_rpc(_rpc_signed(), {AK: "wrong"}.get, now=NOW, nonces=MemoryNonceStore())
    assert wrong.error is AlibabaError.SIGNATURE_DOES_NOT_MATCH
    assert SECRET not in wrong.message and "wrong" not in repr(wrong)

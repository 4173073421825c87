"""Vendor request signing: httpx `Auth` classes for clients, pure functions underneath,
and verifiers that answer with each vendor's error codes (for the sandbox server).

    Tencent Cloud API 3.0   TC3-HMAC-SHA256    TC3Auth   sign_tc3   verify_tc3
    Alibaba RPC             HMAC-SHA1 (V1.0)   RpcAuth   rpc_signature  verify_rpc
    Alibaba V3              ACS3-HMAC-SHA256   ACS3Auth  sign_acs3  verify_acs3

Example::

    from vendors.credentials import from_env
    auth = TC3Auth.from_credentials(from_env("tencent"))
    httpx.post("https://ccc.tencentcloudapi.com/", json=params, auth=auth,
               headers={"X-TC-Action": "UploadIvrAudio", "X-TC-Version": "2020-02-10"})
"""

from vendors._signing._alibaba_common import AlibabaError
from vendors._signing._common import (
    MemoryNonceStore,
    NonceStore,
    RequestParts,
    SecretLookup,
    Verdict,
    percent_encode,
)
from vendors._signing.alibaba_acs3 import (
    ACS3Auth,
    ACS3Signature,
    acs3_canonical_headers,
    acs3_canonical_request,
    acs3_signature,
    acs3_string_to_sign,
    sign_acs3,
    verify_acs3,
)
from vendors._signing.alibaba_rpc import (
    RpcAuth,
    rpc_canonical_query,
    rpc_signature,
    rpc_string_to_sign,
    verify_rpc,
)
from vendors._signing.tencent import (
    TC3Auth,
    TC3Error,
    TC3Signature,
    sign_tc3,
    tc3_canonical_headers,
    tc3_canonical_request,
    tc3_date,
    tc3_signature,
    tc3_signing_key,
    tc3_string_to_sign,
    verify_tc3,
)

__all__ = [
    "ACS3Auth",
    "ACS3Signature",
    "AlibabaError",
    "MemoryNonceStore",
    "NonceStore",
    "RequestParts",
    "RpcAuth",
    "SecretLookup",
    "TC3Auth",
    "TC3Error",
    "TC3Signature",
    "Verdict",
    "acs3_canonical_headers",
    "acs3_canonical_request",
    "acs3_signature",
    "acs3_string_to_sign",
    "percent_encode",
    "rpc_canonical_query",
    "rpc_signature",
    "rpc_string_to_sign",
    "sign_acs3",
    "sign_tc3",
    "tc3_canonical_headers",
    "tc3_canonical_request",
    "tc3_date",
    "tc3_signature",
    "tc3_signing_key",
    "tc3_string_to_sign",
    "verify_acs3",
    "verify_rpc",
    "verify_tc3",
]

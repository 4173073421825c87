"""The vendors' official Python SDKs, pointed at the sandbox, get real answers.

Test-only dependencies (pinned as in VENDORS.md §0):
``tencentcloud-sdk-python-ccc==3.1.177`` (with -common 3.1.195) and
``alibabacloud-dyvmsapi20170525==5.3.0`` (with alibabacloud-tea-openapi 0.4.6).
"""

from __future__ import annotations

import json

import pytest

from tests.vendors.sandbox.helpers import wav_bytes

pytestmark = pytest.mark.integration


def test_tencent_ccc_sdk_upload_ivr_audio(sandbox, file_server):
    pytest.importorskip("tencentcloud.ccc")
    from tencentcloud.ccc.v20200210 import ccc_client, models
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(endpoint=f"{sandbox.host}:{sandbox.port}", protocol="http")
    client = ccc_client.CccClient(
        credential.Credential("AKIDsandbox", "sandbox-secret"), "", ClientProfile(httpProfile=http)
    )
    req = models.UploadIvrAudioRequest()
    url = file_server.put("hello.wav", wav_bytes(1.0))
    req.from_json_string(
        json.dumps({"SdkAppId": 1400, "AudioList": [{"CustomFileName": "hello", "AudioUrl": url}]})
    )
    resp = client.UploadIvrAudio(req)
    assert resp.SuccessFileList[0].CustomFileName == "hello"
    assert resp.SuccessFileList[0].Status == 0 and resp.RequestId
    bad = ccc_client.CccClient(
        credential.Credential("AKIDsandbox", "wrong"), "", ClientProfile(httpProfile=http)
    )
    with pytest.raises(TencentCloudSDKException) as info:
        bad.UploadIvrAudio(req)
    assert info.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("algorithm", [None, "v2"])  # ACS3 (the default) and RPC HMAC-SHA1
def test_alibaba_dyvms_sdk_ivr_call(sandbox, algorithm):
    pytest.importorskip("alibabacloud_dyvmsapi20170525")
    from alibabacloud_dyvmsapi20170525 import models
    from alibabacloud_dyvmsapi20170525.client import Client
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_tea_util import models as util_models

    config = open_api_models.Config(
        access_key_id="LTAIsandbox",
        access_key_secret="sandbox-secret",
        endpoint=f"{sandbox.host}:{sandbox.port}",
        protocol="http",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    client = Client(config)
    request = models.IvrCallRequest(
        called_show_number="057188773344",
        called_number="13800138000",
        start_code="TTS_10001",
        play_times=2,
        timeout=3000,
        menu_key_map=[models.IvrCallRequestMenuKeyMap(key="1", code="TTS_10002")],
    )
    resp = client.ivr_call_with_options(request, util_models.RuntimeOptions())
    assert resp.body.code == "OK" and "^" in resp.body.call_id
    [call] = sandbox.app.state.sandbox.aliyun_calls
    assert call["MenuKeyMap.1.Key"] == "1"
    assert sandbox.app.state.sandbox.nonces.remembered == 1  # the signature was checked

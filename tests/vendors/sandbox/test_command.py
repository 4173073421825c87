"""`voiceprep sandbox` options: loopback only unless --allow-remote, faults into the config."""

from __future__ import annotations

import pytest

from pipeline.cli import EXIT_USAGE, build_parser, main
from pipeline.commands.sandbox import build_config, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_refuses_remote_host_without_flag(capsys):
    assert main(["sandbox", "--host", "0.0.0.0", "--port", "0"]) == EXIT_USAGE
    assert "--allow-remote" in capsys.readouterr().err


def test_options_become_config():
    args = build_parser().parse_args(
        [
            "sandbox",
            "--error-rate",
            "0.2",
            "--drop-rate",
            "0.1",
            "--throttle-rate",
            "0.3",
            "--latency-ms",
            "50",
            "--seed",
            "3",
            "--callback-delays-s",
            "0.1,0.2",
            "--report-url",
            "http://127.0.0.1:9000/ali",
        ]
    )
    config = build_config(args)
    assert (config.error_rate, config.drop_rate, config.throttle_rate) == (0.2, 0.1, 0.3)
    assert config.latency_ms == 50 and config.seed == 3
    assert config.huawei_callback_delays_s == (0.1, 0.2)
    assert config.aliyun_report_url == "http://127.0.0.1:9000/ali"
    assert build_config(build_parser().parse_args(["sandbox"])).aliyun_report_url is None


def test_report_url_must_be_http(capsys):
    assert main(["sandbox", "--report-url", "ftp://x/y"]) == EXIT_USAGE
    assert "http(s) URL" in capsys.readouterr().err


def test_bad_rate_is_a_usage_error(capsys):
    assert main(["sandbox", "--error-rate", "2"]) == EXIT_USAGE
    assert "between 0 and 1" in capsys.readouterr().err


def test_busy_port_is_a_usage_error_before_the_banner(capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert "voiceprep sandbox on" not in out
    assert f"cannot listen on 127.0.0.1:{port}" in err and "another --port" in err

"""`voiceprep sandbox`: serve local emulations of the five vendor APIs for rehearsals.

Exit codes: 0 stopped cleanly (Ctrl-C), 2 usage error (bad rate, non-loopback host
without --allow-remote, port in use, starlette/uvicorn not installed).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
from typing import Any

EXIT_OK = 0


def register(subparsers: Any) -> None:
    """Add the ``sandbox`` command to the ``voiceprep`` parser."""
    p = subparsers.add_parser(
        "sandbox",
        help="serve local emulations of the vendor APIs (offline rehearsals, tests)",
        description="Serve Tencent CCC/VOD, Alibaba dyvms, Huawei AICC and Yeastar P-Series "
        "emulations on one port: /tencent/, /aliyun/, /huawei/, /yeastar/. Signatures and "
        "tokens are checked against test credentials (Tencent AKIDsandbox, Alibaba "
        "LTAIsandbox, Huawei sandbox-app, Yeastar sandbox-client; secret sandbox-secret). "
        "Point `voiceprep upload --endpoint http://HOST:PORT` at it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback address (the sandbox has no real security)",
    )
    p.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests answered with the vendor's internal error (0-1)",
    )
    p.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share answered with the vendor's rate-limit error (0-1)",
    )
    p.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of connections dropped before the request is handled (0-1)",
    )
    p.add_argument(
        "--lost-response-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share handled but whose response is dropped (0-1)",
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        metavar="N",
        help="extra delay before every vendor request, in milliseconds",
    )
    p.add_argument("--seed", type=int, default=None, help="seed the fault dice (reproducible)")
    p.add_argument(
        "--callback-delays-s",
        default=None,
        metavar="LIST",
        help="Huawei review-callback schedule, comma-separated seconds "
        "(default 1,2,4,8,16,32: six tries)",
    )
    p.add_argument(
        "--report-url",
        default=None,
        metavar="URL",
        help="Alibaba call results: POST a VoiceCallReport and a VoiceReport (JSON arrays) "
        "here after every IvrCall, retried after 1, 5 and 10 min (default: no pushes)",
    )
    p.add_argument(
        "--review-after-s",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds until reviews pass and VOD tasks advance a stage (default 5)",
    )
    p.set_defaults(func=cmd_sandbox)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_config(args: argparse.Namespace) -> Any:
    """The `SandboxConfig` the options describe (raises ConfigurationError when invalid)."""
    from pipeline.errors import ConfigurationError
    from vendors.sandbox.config import SandboxConfig

    extra: dict[str, Any] = {}
    if args.callback_delays_s:
        try:
            extra["huawei_callback_delays_s"] = tuple(
                float(x) for x in args.callback_delays_s.split(",") if x.strip()
            )
        except ValueError:
            raise ConfigurationError(
                f"--callback-delays-s {args.callback_delays_s!r}: give seconds like 1,2,4"
            ) from None
    return SandboxConfig(
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        drop_rate=args.drop_rate,
        lost_response_rate=args.lost_response_rate,
        latency_ms=args.latency_ms,
        seed=args.seed,
        review_after_s=args.review_after_s,
        aliyun_report_url=args.report_url,
        **extra,
    )


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run the sandbox in the foreground until interrupted."""
    from pipeline.errors import ConfigurationError

    if not is_loopback(args.host) and not args.allow_remote:
        raise ConfigurationError(
            f"--host {args.host} is not a loopback address; the sandbox accepts fake "
            "credentials, so it listens on 127.0.0.1 only. Pass --allow-remote to override."
        )
    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port {args.port} is not a port number")
    config = build_config(args)
    try:
        import uvicorn

        from vendors.sandbox.app import create_app
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the sandbox needs {exc.name}; install it with `pip install 'voiceprep[sandbox]'`"
        ) from None
    sock = bind(args.host, args.port)  # before the banner: a busy port is a usage error
    try:
        print(
            f"voiceprep sandbox on http://{args.host}:{args.port}  "
            "(vendors under /tencent/ /aliyun/ /huawei/ /yeastar/; Ctrl-C to stop)",
            flush=True,
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(config), host=args.host, port=args.port, log_level="info")
        )
        server.run(sockets=[sock])
    finally:
        sock.close()
    return EXIT_OK


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or ConfigurationError naming why not."""
    from pipeline.errors import ConfigurationError

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        why = exc.strerror or str(exc)
        hint = (
            "; another program (an earlier sandbox?) is using it: stop it or pick another --port"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise ConfigurationError(f"cannot listen on {host}:{port} ({why}){hint}") from None

"""`voiceprep upload DIR` and `voiceprep callbacks`: send a run's outputs to a vendor.

Exit codes: 0 every output is uploaded and nothing was refused, 1 something needs
attention (a refusal, a rejected review, quota used up, an unknown outcome), 2 usage
error. Running `upload` again is always safe: nothing is sent twice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_OK, EXIT_FAILED = 0, 1
VENDOR_CHOICES = ("tencent-ccc", "tencent-vod", "aliyun", "huawei", "yeastar")


def register(subparsers: Any) -> None:
    """Add the ``upload`` and ``callbacks`` commands to the ``voiceprep`` parser."""
    up = subparsers.add_parser(
        "upload",
        help="upload the outputs of a finished run to a vendor (each exactly once)",
        description="Upload every passed output in DIR to the vendor, record each receipt in "
        "DIR/journal.sqlite, DIR/uploads.jsonl and results.jsonl, and follow the review or task "
        "until it is final. Run it again to resume after a failure or to refresh pending "
        "outcomes; nothing is uploaded twice. Credentials come from the vendor's environment "
        "variables (TENCENTCLOUD_SECRET_ID/KEY, ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, "
        "HUAWEI_CEC_APP_KEY/SECRET, YEASTAR_CLIENT_ID/SECRET) or, when those are unset, "
        "from a credentials file (--credentials, $VOICEPREP_CREDENTIALS or "
        "~/.config/voiceprep/credentials.toml; one [vendor] table with id and secret).",
    )
    up.add_argument("dir", metavar="DIR", help="the --out folder of `voiceprep run`")
    up.add_argument(
        "--vendor", choices=VENDOR_CHOICES, help="target vendor (default: from the run's profile)"
    )
    up.add_argument(
        "--endpoint",
        metavar="URL",
        help="a `voiceprep sandbox` root, e.g. http://127.0.0.1:8080 (the vendor's path "
        "prefix is added)",
    )
    up.add_argument(
        "--vendor-endpoint", metavar="URL", help="the vendor's base URL exactly as given"
    )
    up.add_argument(
        "--upload-endpoint",
        metavar="URL",
        help="Alibaba: the voice-file upload host (default "
        "http://dysmsapi-custom.cn-shanghai.aliyuncs.com, whatever --vendor-endpoint says; "
        "with --endpoint, the sandbox)",
    )
    up.add_argument(
        "--publish",
        metavar="WHERE",
        help="for CCC and VOD, which fetch URLs: s3://BUCKET/PREFIX (S3 or Tencent COS) or "
        "'local' (serve from this machine; sandbox only). Default with --endpoint: local",
    )
    up.add_argument("--publish-endpoint", metavar="URL", help="S3 endpoint, e.g. COS's")
    up.add_argument(
        "--expires-s", type=int, default=3600, help="presigned URL lifetime (s, default 3600)"
    )
    up.add_argument(
        "--force", action="store_true", help="Yeastar: overwrite an existing prompt of that name"
    )
    up.add_argument("--no-poll", action="store_true", help="do not wait for reviews or tasks")
    up.add_argument(
        "--poll-timeout-s",
        type=float,
        default=60.0,
        help="how long to follow pending outcomes (s, default 60); run again to refresh later",
    )
    up.add_argument("--workers", type=int, default=1, help="parallel uploads (default 1)")
    up.add_argument(
        "--retry-unknown",
        action="store_true",
        help="Huawei/Alibaba: resend items whose earlier attempt may have landed (can create "
        "a duplicate; check the vendor console first)",
    )
    up.add_argument("--sdk-app-id", help="Tencent CCC SdkAppId (or TENCENTCLOUD_CCC_SDKAPPID)")
    up.add_argument("--sub-app-id", help="Tencent VOD SubAppId (or TENCENTCLOUD_VOD_SUBAPPID)")
    up.add_argument(
        "--callback-url",
        metavar="URL",
        help="Huawei: where review results are POSTed (see `voiceprep callbacks`)",
    )
    up.add_argument("--locale", help="Huawei locale (zh_CN, en_US, pt_BR, th_TH)")
    up.add_argument("--json", action="store_true", help="print receipts and summary as JSON")
    up.add_argument(
        "--credentials", metavar="FILE", help="credentials TOML file (when the variables are unset)"
    )
    up.set_defaults(func=cmd_upload)

    cb = subparsers.add_parser(
        "callbacks",
        help="receive Huawei review callbacks into a run's journal",
        description="Serve HTTP on 127.0.0.1:PORT (or --host) and record each Huawei review "
        'callback into DIR/journal.sqlite; answers {"returnCode": "0"} for a fileId uploaded '
        'from DIR and {"returnCode": "1"} (Huawei retries) for any other; prints one line '
        "per callback. Pass http://HOST:PORT/huawei/review as --callback-url to "
        "`voiceprep upload`.",
    )
    cb.add_argument("--port", type=int, required=True, help="port to listen on")
    cb.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    cb.add_argument("--out", required=True, metavar="DIR", help="the run folder")
    cb.set_defaults(func=cmd_callbacks)


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.sdk_app_id:
        options["sdk_app_id"] = args.sdk_app_id
    if args.sub_app_id:
        options["sub_app_id"] = args.sub_app_id
    if args.callback_url:
        options["callback_url"] = args.callback_url
    if args.locale:
        options["locale"] = args.locale
    if args.upload_endpoint:
        options["upload_endpoint"] = args.upload_endpoint
    return options


def cmd_upload(args: argparse.Namespace) -> int:
    """Upload, print one line per receipt and a summary."""
    from stages.publish import publisher_from_spec
    from stages.upload import upload_run

    if not os.path.isdir(args.dir):
        from pipeline.errors import ConfigurationError

        raise ConfigurationError(f"{args.dir} is not a folder; pass the --out folder of a run")
    if args.credentials:
        os.environ["VOICEPREP_CREDENTIALS"] = args.credentials
    publisher = None
    if args.publish:
        publisher = publisher_from_spec(
            args.publish,
            out_dir=args.dir,
            endpoint_url=args.publish_endpoint,
            expires_s=args.expires_s,
        )

    def show(receipt: Any) -> None:
        if args.json:
            print(json.dumps(receipt.to_dict(), ensure_ascii=False), flush=True)
        else:
            remote = receipt.remote_id or "-"
            print(f"{receipt.status:<9} {os.path.basename(receipt.output)}  {remote}", flush=True)
            if receipt.detail.get("message"):  # what the user should know or do about it
                print(f"{'':<9} {receipt.detail['message']}", file=sys.stderr, flush=True)

    try:
        summary = upload_run(
            args.dir,
            args.vendor,
            endpoint=args.endpoint,
            vendor_endpoint=args.vendor_endpoint,
            publisher=publisher,
            force=args.force,
            workers=args.workers,
            poll=not args.no_poll,
            poll_timeout_s=args.poll_timeout_s,
            retry_unknown=args.retry_unknown,
            client_options=_client_options(args),
            on_receipt=show,
        )
    finally:
        if publisher is not None:
            publisher.close()
    if args.json:
        print(json.dumps({"summary": summary.to_dict()}, ensure_ascii=False))
    else:
        _print_summary(summary)
    if summary.vendor == "huawei" and not args.callback_url and summary.sent:
        print(
            f"note: Huawei reports its review only by callback, and no --callback-url was "
            f"given: the review result of the {summary.sent} file(s) just sent will not be "
            "recorded (check the Huawei console). To record reviews, start `voiceprep "
            f"callbacks --port 8090 --out {args.dir}` where Huawei can reach it and upload "
            "with --callback-url http://HOST:8090/huawei/review.",
            file=sys.stderr,
        )
    return EXIT_OK if summary.ok else EXIT_FAILED


def _print_summary(summary: Any) -> None:
    labels = {"clash": "clash", "refused": "refused", "error": "error"}
    for output, code, message in summary.errors:
        kind = summary.error_kinds.get(output, "error")
        if kind == "clash":
            message = f"name clash: {message}"
        print(f"{labels[kind]:<9} {output}  {code}: {message}", file=sys.stderr)
    for output in summary.unknown:
        why = summary.unknown_why.get(output) or (
            f"an earlier upload may have landed; check the {summary.vendor} console, then "
            "run again with --retry-unknown to resend"
        )
        print(f"unknown   {output}  {why}", file=sys.stderr)
    if summary.stopped:
        print(f"stopped: {summary.stopped}", file=sys.stderr)
    n = summary.counts
    parts = [
        f"{n['sent']} sent now",
        f"{n['already']} already uploaded",
        f"{n['left']} left for a later run",
    ]
    if n["refused"]:
        parts.append(f"{n['refused']} refused")
    if n["clash"]:
        parts.append(f"{n['clash']} name clash{'es' if n['clash'] > 1 else ''}")
    if n["error"]:
        parts.append(f"{n['error']} failed (retried next run)")
    if n["unknown"]:
        parts.append(f"{n['unknown']} unknown")
    counts = ", ".join(f"{k} {s}" for s, k in sorted(summary.statuses.items())) or "none"
    print(f"\n{summary.total} outputs for {summary.vendor}: {', '.join(parts)}; receipts: {counts}")


def cmd_callbacks(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from pipeline.errors import ConfigurationError
    from stages.callbacks import CallbackReceiver

    if not os.path.isdir(args.out):
        raise ConfigurationError(f"{args.out} is not a folder; pass the --out folder of a run")
    try:
        receiver = CallbackReceiver(
            args.out, host=args.host, port=args.port, log=lambda line: print(line, flush=True)
        ).start()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror})"
        ) from None
    print(f"receiving Huawei review callbacks at {receiver.url}; Ctrl-C to stop", flush=True)
    receiver.serve_forever()
    return EXIT_OK

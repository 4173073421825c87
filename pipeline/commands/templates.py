"""`voiceprep template check|render` and `voiceprep ivr check`: TTS templates and IvrCall
requests, checked before they reach the vendor.

Exit codes as for `voiceprep check`: 0 everything passed, 1 something failed, 2 usage
error (unreadable file, invalid JSON, no input).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add the ``template`` and ``ivr`` commands to the ``voiceprep`` parser."""
    template = subparsers.add_parser("template", help="check and render TTS templates")
    tsub = template.add_subparsers(metavar="ACTION")
    template.set_defaults(func=_usage(template))

    check = tsub.add_parser(
        "check",
        help="check template texts against a vendor's rules",
        description="Check TTS templates; every violation is shown with its rule, position "
        "and a caret. Each TEMPLATE is template text, or the path of an existing file of "
        "templates (one per line, '#' comments; or JSON: a list of {name, text, ...} "
        "objects, one such object, or an object mapping id to text). An argument that "
        "looks like a path (ends in .txt/.json, or is ASCII without spaces and contains "
        "'/') but names no file is an "
        "error; pass --text to check such arguments as template text.",
    )
    check.add_argument("templates", nargs="+", metavar="TEMPLATE", help="text or file")
    check.add_argument(
        "--text",
        action="store_true",
        help="treat every TEMPLATE as template text, never as a file",
    )
    _vendor_option(check)
    check.add_argument(
        "--shared",
        action="store_true",
        help="aliyun: shared-mode limits (≤2 variables, each used once)",
    )
    for name, kind in (
        ("name", str),
        ("language", str),
        ("voicename", str),
        ("scene", str),
        ("speed", float),
        ("volume", float),
    ):
        check.add_argument(f"--{name}", type=kind, help=f"huawei: createVoiceTemplate {name}")
    check.add_argument("--json", action="store_true", help="one JSON object per template")
    check.set_defaults(func=cmd_template_check)

    render = tsub.add_parser(
        "render",
        help="fill a template with values and measure the result",
        description="Fill TEMPLATE with --values, checking each value against its variable; "
        "prints the rendered text and its UTF-8 byte count.",
    )
    render.add_argument("template", metavar="TEMPLATE", help="template text")
    render.add_argument(
        "--values",
        required=True,
        metavar="JSON",
        help="a JSON list in variable order (huawei) or object by name, e.g. "
        '\'["张三", "123456"]\' or \'{"name": "张三"}\'; @FILE reads a file',
    )
    _vendor_option(render)
    render.add_argument("--json", action="store_true", help="machine-readable output")
    render.set_defaults(func=cmd_template_render)

    ivr = subparsers.add_parser("ivr", help="check Alibaba IvrCall requests")
    isub = ivr.add_subparsers(metavar="ACTION")
    ivr.set_defaults(func=_usage(ivr))
    ivr_check = isub.add_parser(
        "check",
        help="check IvrCall request files before sending them",
        description="Check IvrCall requests (JSON object of API parameters, or a list); "
        "TtsParams are checked against the template texts in REGISTRY.",
    )
    ivr_check.add_argument("requests", nargs="+", metavar="REQUEST.json")
    ivr_check.add_argument(
        "--templates",
        metavar="REGISTRY",
        help="JSON object mapping template id (TTS_…) to template text",
    )
    ivr_check.add_argument(
        "--uploads",
        metavar="DIR",
        help="a folder `voiceprep upload` sent Alibaba voice files from: each voice file "
        "the requests play is checked against its last recorded review",
    )
    ivr_check.add_argument("--json", action="store_true", help="one JSON object per request")
    ivr_check.set_defaults(func=cmd_ivr_check)


def _vendor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vendor",
        choices=("huawei", "aliyun"),
        default="huawei",
        help="whose rules to apply (default huawei)",
    )


def _usage(parser: argparse.ArgumentParser) -> Any:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return show


def cmd_template_check(args: argparse.Namespace) -> int:
    from pipeline.errors import ConfigurationError
    from stages.templates import check_template, load_templates

    options = {
        k: getattr(args, k)
        for k in ("name", "language", "voicename", "scene", "speed", "volume")
        if getattr(args, k) is not None
    }
    verdicts = []
    try:
        for item in args.templates:
            if not args.text and (problem := _not_a_template_file(item)):
                return _fail_usage(problem)
            if not args.text and os.path.isfile(item):
                for entry in load_templates(item):
                    fields = {**options, **entry.fields}
                    verdicts.append(
                        check_template(
                            entry.text,
                            vendor=args.vendor,
                            label=entry.label,
                            shared=args.shared,
                            **fields,
                        )
                    )
            else:
                verdicts.append(
                    check_template(item, vendor=args.vendor, shared=args.shared, **options)
                )
    except ConfigurationError as exc:
        return _fail_usage(str(exc))
    if not verdicts:
        return _fail_usage("no templates found in the given files")
    return _report(verdicts, as_json=args.json, noun="templates")


def _not_a_template_file(item: str) -> str | None:
    """Why ``item`` is neither a template file nor plausible template text, or None.

    A directory, or a missing path (ends in .txt/.json, starts like a path, or is ASCII
    without spaces and holds a path separator; never with ``${``), is a mistyped file name
    far more often than a template to speak; "营业时间9:00/18:00" is text.
    """
    if os.path.isdir(item):
        return f"{item}: is a directory; give a template file, or template text with --text"
    if os.path.exists(item) or "${" in item or "\n" in item:
        return None
    separators = [sep for sep in ("/", os.sep, os.altsep) if sep]
    rooted = item.startswith(("/", "./", "../", "~/")) or os.path.isabs(item)
    plain = item.isascii() and not any(ch.isspace() for ch in item)
    if (
        item.lower().endswith((".txt", ".json"))
        or rooted
        or (plain and any(sep in item for sep in separators))
    ):
        return f"{item}: no such file; check the path, or pass --text to check it as template text"
    return None


def cmd_template_render(args: argparse.Namespace) -> int:
    from stages.templates import render_template

    raw = args.values
    if raw.startswith("@"):
        try:
            with open(raw[1:], encoding="utf-8-sig") as fh:
                raw = fh.read()
        except OSError as exc:
            return _fail_usage(f"{raw[1:]}: cannot read --values file ({exc.strerror})")
    try:
        values = json.loads(raw)
    except json.JSONDecodeError as exc:
        return _fail_usage(
            f"--values is not valid JSON ({exc.msg} at char {exc.pos}); "
            'give a list such as \'["张三"]\' or an object such as \'{"name": "张三"}\''
        )
    if not isinstance(values, list | dict):
        return _fail_usage(
            "--values must be a JSON list (in variable order) or an object (by variable name)"
        )
    verdict = render_template(args.template, values, vendor=args.vendor)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        print(verdict.format())
        if verdict.rendered is not None:
            print(f"\nrendered: {verdict.rendered}")
            print(
                f"{verdict.measured['bytes']} bytes in UTF-8, {verdict.measured['chars']} "
                "characters"
            )
    return EXIT_OK if verdict.ok else EXIT_FAILED


def cmd_ivr_check(args: argparse.Namespace) -> int:
    from pipeline.errors import ConfigurationError
    from stages.ivr import check_ivr_call, load_requests, recorded_voice_files
    from stages.templates import load_registry

    try:
        registry = load_registry(args.templates) if args.templates else None
        voice_files = recorded_voice_files(args.uploads) if args.uploads else None
        requests = [item for path in args.requests for item in load_requests(path)]
    except ConfigurationError as exc:
        return _fail_usage(str(exc))
    verdicts = [
        check_ivr_call(req, templates=registry, voice_files=voice_files, label=label)
        for label, req in requests
    ]
    if registry is None and not args.json:
        print(
            "note: no --templates registry given; TtsParams were not checked against "
            "template variables",
            file=sys.stderr,
        )
    return _report(verdicts, as_json=args.json, noun="requests")


def _report(verdicts: Iterable[Any], *, as_json: bool, noun: str) -> int:
    verdicts = list(verdicts)
    failed = sum(not v.ok for v in verdicts)
    for verdict in verdicts:
        if as_json:
            print(json.dumps(verdict.to_dict(), ensure_ascii=False))
        else:
            print(verdict.format())
    if not as_json:
        label = noun if len(verdicts) != 1 else noun.rstrip("s")
        print(f"\n{len(verdicts)} {label}: {len(verdicts) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _fail_usage(message: str) -> int:
    print(f"voiceprep: error: {message}", file=sys.stderr)
    return EXIT_USAGE

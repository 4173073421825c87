"""The `voiceprep` command line: a thin layer over `Pipeline`.

Exit codes: 0 every input passed, 1 some input failed, 2 usage error (bad option, unknown
profile, no inputs). `run --report` whose report cannot be written after the run says why on
stderr and exits 1 if some input failed (the run's own status), else 2: the report's failure
never hides failed inputs, and never passes for success. Heavy modules are imported inside
the commands so `--help` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# One BLAS/OpenMP thread per process: the runner parallelises over clips, and numeric
# libraries spinning up their own threads on top only fight over the cores. Set before numpy
# is first imported; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_on_file_names()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    from pipeline.errors import ConfigurationError

    try:
        with _plain_warnings():
            code: int = args.func(args)
    except ConfigurationError as exc:
        print(f"voiceprep: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voiceprep: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`, a closed pager): stop quietly, as Unix tools do;
        # what finished is in the journal. Point stdout at /dev/null so the interpreter's
        # final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return code


@contextlib.contextmanager
def _plain_warnings() -> Iterator[None]:
    """Print voiceprep's own warnings as one ``voiceprep: warning:`` line on stderr, each
    time, as the errors are; other warnings show as Python shows them."""
    from pipeline.errors import VoiceprepWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", VoiceprepWarning)
        previous = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, VoiceprepWarning):
                print(f"voiceprep: warning: {message}", file=sys.stderr)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def _never_fail_on_file_names() -> None:
    """Print a file name that is not valid UTF-8 with ``\\udcXX`` escapes instead of failing.

    ``os.listdir`` gives such names' bytes as lone surrogates, which a strict UTF-8 terminal
    refuses; the escapes keep every table line and ``--json`` line valid UTF-8 (and JSON).
    """
    from pipeline.results import LONE_SURROGATES

    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=LONE_SURROGATES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceprep",
        description="Turn raw voice recordings into audio that telephony and voice-cloning "
        "platforms accept.",
    )
    parser.add_argument("--version", action="version", version=f"voiceprep {_version()}")
    sub = parser.add_subparsers(metavar="COMMAND")

    check = sub.add_parser("check", help="analyse and validate recordings; writes no audio")
    _add_run_options(check)
    check.set_defaults(func=_cmd_check)

    run = sub.add_parser("run", help="process recordings into vendor-ready files")
    _add_run_options(run)
    run.add_argument("--out", required=True, metavar="DIR", help="output folder (resumable)")
    run.add_argument(
        "--format",
        help="output format instead of the profile's (wav-pcm16, wav-alaw, wav-ulaw, gsm, mp3)",
    )
    run.add_argument(
        "--report",
        action="store_true",
        help="also write DIR/report.html (see `voiceprep report`; for a remote --out, in the "
        "local folder that keeps its results.jsonl, or --report-out)",
    )
    from pipeline.commands.report import add_page_options

    add_page_options(run, prefix="report-")
    run.set_defaults(func=_cmd_run)

    profiles = sub.add_parser("profiles", help="list the vendor profiles and their rules")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")
    profiles.set_defaults(func=_cmd_profiles)

    for module in _command_modules():
        module.register(sub)
    return parser


def _command_modules() -> list[Any]:
    import importlib

    modules = []
    for name in ("templates", "upload", "report", "sandbox"):
        try:
            modules.append(importlib.import_module(f"pipeline.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"pipeline.commands.{name}":
                raise
    return modules


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs")
    p.add_argument("--profile", required=True, help="vendor profile (see `voiceprep profiles`)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where the work runs: local processes (default) or a Dask cluster "
        "(needs the voiceprep[dask] extra)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://HOST:8786 (with --executor dask; default: "
        "start a local cluster of --workers processes)",
    )
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--target-lufs", type=float, help="integrated loudness target (LUFS)")
    p.add_argument("--ceiling-dbfs", type=float, help="sample-peak ceiling (dBFS)")
    p.add_argument(
        "--limiter",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="turn loud peaks down (look-ahead limiter) so the loudness target is reached "
        "under the ceiling; default: the profile's `limiter` (off in the built-in profiles)",
    )
    p.add_argument("--pad-ms", type=float, help="silence kept around speech (ms)")
    p.add_argument("--vad-aggressiveness", type=int, choices=range(4), default=2)
    p.add_argument(
        "--vad",
        choices=("webrtc", "energy", "silero"),
        default="webrtc",
        help="speech detector: webrtc (default), energy (fastest, for large "
        "batches) or silero (needs the voiceprep[silero] extra)",
    )
    p.add_argument(
        "--quality",
        choices=("dnsmos",),
        default=None,
        help="also score DNSMOS P.835 quality, and warn of a voice under the main one "
        "(needs the voiceprep[dnsmos] extra; ~22x real time)",
    )
    p.add_argument(
        "--speakers",
        choices=("default", "neural", "off"),
        default="default",
        help="second-voice check: default (fast), neural (needs the "
        "voiceprep[neural] extra; more accurate) or off",
    )
    p.add_argument(
        "--max-input-s",
        type=float,
        default=600.0,
        help="refuse inputs longer than this (s, default 600)",
    )
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="use the part of a truncated file that decodes (a warning instead of an error)",
    )


def _pipeline(args: argparse.Namespace) -> Any:
    from pipeline.runner import Pipeline

    if args.workers is not None and args.workers < 1:
        from pipeline.errors import ConfigurationError

        raise ConfigurationError("--workers must be at least 1")
    return Pipeline.for_profile(
        args.profile,
        target_lufs=args.target_lufs,
        ceiling_dbfs=args.ceiling_dbfs,
        limiter=getattr(args, "limiter", None),
        pad_ms=args.pad_ms,
        vad_aggressiveness=args.vad_aggressiveness,
        vad=getattr(args, "vad", "webrtc"),
        quality=getattr(args, "quality", None),
        speakers=None if getattr(args, "speakers", "default") == "off" else args.speakers,
        max_input_s=args.max_input_s,
        allow_truncated=args.allow_truncated,
        format=getattr(args, "format", None),
    )


def _cmd_check(args: argparse.Namespace) -> int:
    return _execute(args, out=None)


def _cmd_run(args: argparse.Namespace) -> int:
    from pipeline.commands.report import check_page_options, write_page
    from pipeline.errors import ConfigurationError

    check_page_options(args, wanted=args.report, prefix="report-")
    code = _execute(args, out=args.out)
    if not args.report:
        return code
    try:
        write_page(
            args.out,
            args.report_out,
            args,
            progress=False if (args.no_progress or args.json) else None,
            stream=sys.stderr if args.json else sys.stdout,
        )
    except (ConfigurationError, OSError) as exc:
        status = EXIT_FAILED if code == EXIT_FAILED else EXIT_USAGE
        print(
            f"voiceprep: error: the run finished, but its report could not be written: {exc} "
            f"(exit status {status}; make it again with `voiceprep report {args.out}`)",
            file=sys.stderr,
        )
        return status
    return code


def _execute(args: argparse.Namespace, out: str | None) -> int:
    pipeline = _pipeline(args)
    printer = _print_json if args.json else None
    with _executor(args) as executor:
        results = pipeline.run(
            args.paths,
            out=out,
            workers=args.workers,
            progress=False if (args.no_progress or args.json) else None,
            on_result=printer,
            executor=executor,
        )
    if args.json:
        print(json.dumps({"summary": results.summary.to_dict()}))
    else:
        print_summary(results, out)
    return EXIT_OK if results.all_passed else EXIT_FAILED


def _executor(args: argparse.Namespace) -> Any:
    """The executor chosen by --executor/--scheduler, as a context manager that closes it."""
    from pipeline.errors import ConfigurationError
    from pipeline.executors import DaskExecutor, LocalPool

    executor = getattr(args, "executor", "local")
    scheduler = getattr(args, "scheduler", None)
    if executor != "dask":
        if scheduler:
            raise ConfigurationError("--scheduler needs --executor dask")
        return LocalPool(args.workers)
    return DaskExecutor.connect(scheduler, n_workers=args.workers)


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def print_summary(results: Any, out: str | None) -> None:
    """A table a person reads at the end of a run: each failed input with its errors, each
    input that passed with warnings with those warnings (``loudness_ceiling`` only counted),
    then counts per finding."""
    s = results.summary
    where = f"see {os.path.join(out, 'results.jsonl')}" if out else "run with --json to see all"
    failed = [(_short(src), messages) for src, messages in s.failed_messages]
    _print_listing("FAILED", "ERRORS", failed)
    if s.failed > len(failed):
        print(f"... and {s.failed - len(failed)} more failed inputs; {where}")
    warned = [(_short(src), messages) for src, messages in s.warned_messages]
    _print_listing("PASSED WITH WARNINGS", "WARNINGS", warned)
    if s.warned > len(warned):
        print(f"... and {s.warned - len(warned)} more inputs with warnings; {where}")
    if s.findings:
        print("\nFINDING                      COUNT")
        for key, count in sorted(s.findings.items(), key=lambda kv: (-kv[1], kv[0])):
            severity, code = key.split(":", 1)
            print(f"{code:<20} {severity:<7} {count:>5}")
    minutes = s.audio_s / 60
    print(f"\n{s.total} inputs ({minutes:.1f} min of audio): {s.passed} passed, {s.failed} failed")
    if out:
        print(f"outputs and results.jsonl in {out}")


def _print_listing(title: str, heading: str, rows: list[tuple[str, list[str]]]) -> None:
    """Rows of a name and its messages, one message a line, under a two-column heading."""
    if not rows:
        return
    width = max(display_width(title), *(display_width(name) for name, _ in rows))
    print(f"\n{_pad(title, width)}  {heading}")
    for name, messages in rows:
        for i, message in enumerate(messages):
            print(f"{_pad(name if i == 0 else '', width)}  {message}")


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide and full-width (CJK) characters take two, marks
    and format characters none (`stages.templates.positions.text_width`, as the carets)."""
    from stages.templates.positions import text_width

    return text_width(text)


def _pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    return text + " " * max(0, width - display_width(text))


SOURCE_COLUMN = 60  # the summary's source column (terminal columns); longer names lose their middle


def _short(path: str) -> str:
    """``path`` relative to here when under it, at most `SOURCE_COLUMN` columns wide."""
    rel = os.path.relpath(path)
    name = rel if not rel.startswith("..") else path
    if display_width(name) <= SOURCE_COLUMN:
        return name
    keep = (SOURCE_COLUMN - 1) // 2
    return f"{_first_columns(name, keep)}…{_first_columns(name[::-1], keep)[::-1]}"


def _first_columns(text: str, columns: int) -> str:
    """The longest start of ``text`` that fits in ``columns`` terminal columns."""
    from itertools import accumulate

    from stages.templates.positions import char_width

    fits = sum(1 for used in accumulate(map(char_width, text)) if used <= columns)
    return text[:fits]


def _cmd_profiles(args: argparse.Namespace) -> int:
    from pipeline.profiles import available_profiles, load_profile

    profiles = [load_profile(name) for name in available_profiles()]
    if args.json:
        print(json.dumps([_profile_dict(p) for p in profiles], ensure_ascii=False, indent=2))
        return EXIT_OK
    for p in profiles:
        print(f"{p.name}  —  {p.vendor}, {p.api}")
        print(f"  {p.summary}")
        print(
            f"  emits: {p.output.name} at {p.sample_rate} Hz mono; loudness "
            f"{p.loudness.target_lufs:g} LUFS, peak ≤ {p.loudness.ceiling_dbfs:g} dBFS"
            + (f", limiter up to {p.loudness.max_limiting_db:g} dB" if p.loudness.limiter else "")
        )
        if p.trim.min_s or p.trim.max_s:
            print(f"  duration window: {p.trim.min_s or 0:g}–{p.trim.max_s or float('inf'):g} s")
        for rule in p.rules.values():
            print(f"  {rule.name:<12} {rule.describe()}")
        print()
    print("Documented rules are errors when broken; our defaults are warnings.")
    return EXIT_OK


def _profile_dict(p: Any) -> dict[str, Any]:
    return {
        "name": p.name,
        "vendor": p.vendor,
        "api": p.api,
        "summary": p.summary,
        "output": {"format": p.output.name, "sample_rate": p.sample_rate},
        "loudness": vars(p.loudness),
        "trim": vars(p.trim),
        "analysis": vars(p.analysis),
        "rules": {
            name: {
                "documented": r.documented,
                "allowed": list(r.allowed),
                "min": r.minimum,
                "max": r.maximum,
                "pattern": r.pattern,
                "source": r.source,
            }
            for name, r in p.rules.items()
        },
    }


def _version() -> str:
    from pipeline import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())

"""`voiceprep report DIR`: the HTML report of a finished (or interrupted) run.

Exit codes: 0 the report was written, 2 usage error (no results.jsonl in DIR, a --out that
is a folder or in a folder that does not exist).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

EXIT_OK = 0


def register(subparsers: Any) -> None:
    """Add the ``report`` command to the ``voiceprep`` parser."""
    report = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a run",
        description="Write one HTML file that shows every clip of the run in DIR: its verdict, "
        "findings, key metrics, a waveform and spectrogram, and players for the source and the "
        "output. The page works offline; open it in any browser.",
    )
    report.add_argument(
        "dir",
        metavar="DIR",
        help="the --out of `voiceprep run`: a folder, file:// or remote URL (the report of a "
        "remote run is written in the local folder that keeps its results.jsonl)",
    )
    add_page_options(report)
    report.add_argument(
        "--workers", type=int, default=None, help="processes drawing cards (default: all cores)"
    )
    report.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    report.set_defaults(func=cmd_report)


def add_page_options(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """The options of the page, shared by `report` and `run --report` (there with ``report-``
    before --out, which `run` already has)."""
    parser.add_argument(
        f"--{prefix}out",
        metavar="FILE",
        help="where to write the report (default: report.html beside results.jsonl)",
    )
    parser.add_argument(
        "--no-audio",
        action="store_true",
        help=("with --report: " if prefix else "")
        + "leave the audio players out of the report (about 3 kB per second of audio "
        "each); for big batches",
    )
    parser.add_argument(
        "--preview-max-s",
        type=float,
        default=None,
        metavar="S",
        help=("with --report: " if prefix else "")
        + "longest audio preview per player, in seconds (default 20)",
    )


def check_page_options(args: argparse.Namespace, *, wanted: bool = True, prefix: str = "") -> None:
    """Refuse page options that cannot be used, before any work is done."""
    from pipeline.errors import ConfigurationError
    from pipeline.report import check_target

    out = getattr(args, f"{prefix}out".replace("-", "_"))
    given = [
        name
        for name, value in (
            (f"--{prefix}out", out),
            ("--no-audio", args.no_audio),
            ("--preview-max-s", args.preview_max_s),
        )
        if value
    ]
    if not wanted and given:
        what = "is a report option" if len(given) == 1 else "are report options"
        raise ConfigurationError(f"{', '.join(given)} {what}; add --report to write the report")
    if getattr(args, "workers", None) is not None and args.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if args.preview_max_s is not None and not args.preview_max_s > 0:
        raise ConfigurationError("--preview-max-s must be more than 0 seconds")
    if out is not None:
        check_target(out)


def write_page(
    out_dir: str,
    target: str | None,
    args: argparse.Namespace,
    *,
    progress: bool | None,
    stream: TextIO,
) -> str:
    """Write the report with the page options in ``args`` and print where it is."""
    from pipeline.remote import is_url
    from pipeline.report import write_report

    path = write_report(
        out_dir,
        target,
        audio=not args.no_audio,
        preview_max_s=args.preview_max_s or 20.0,
        progress=progress,
        workers=getattr(args, "workers", None),
    )
    size_mb = os.path.getsize(path) / 1e6
    remote = is_url(out_dir) and target is None
    where = "; a remote run's report is written on this machine, beside its results" * remote
    print(f"report: {path} ({size_mb:.1f} MB{where}); open it in a browser", file=stream)
    return path


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print where it is."""
    check_page_options(args)
    write_page(
        args.dir, args.out, args, progress=False if args.no_progress else None, stream=sys.stdout
    )
    return EXIT_OK

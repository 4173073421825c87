"""`voiceprep report DIR`: the HTML report of a finished (or interrupted) run.

Exit codes: 0 the report was written, 2 usage error (no results.jsonl in DIR).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

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
    report.add_argument("dir", metavar="DIR", help="the --out folder of `voiceprep run`")
    report.add_argument("--out", metavar="FILE", help="where to write (default: DIR/report.html)")
    report.add_argument(
        "--no-audio",
        action="store_true",
        help="leave out the audio players (about 7 kB per second of audio each); for big batches",
    )
    report.add_argument(
        "--preview-max-s",
        type=float,
        default=20.0,
        metavar="S",
        help="longest audio preview per player, in seconds (default 20)",
    )
    report.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print where it is."""
    from pipeline.errors import ConfigurationError
    from pipeline.report import write_report

    if args.preview_max_s <= 0:
        raise ConfigurationError("--preview-max-s must be more than 0 seconds")
    path = write_report(
        args.dir,
        args.out,
        audio=not args.no_audio,
        preview_max_s=args.preview_max_s,
        progress=False if args.no_progress else None,
    )
    size_mb = os.path.getsize(path) / 1e6
    print(f"report: {path} ({size_mb:.1f} MB); open it in a browser")
    return EXIT_OK

"""Render report.md and a self-contained report.html for a run folder.

RUN defaults to the latest folder under <reports>/runs. The plots are PNG files in the
run folder's plots/ beside the reports; the HTML page needs nothing else.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blitzbench.errors import EXIT_OK
from blitzbench.options import add_out

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_folder", nargs="?", type=Path, default=None, metavar="RUN",
                        help="a run folder (default: the latest under <reports>/runs)")
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    from blitzbench.report.render import render_run
    from blitzbench.runs import default_reports_dir, latest_run

    reports = Path(args.out) if args.out is not None else default_reports_dir()
    folder = args.run_folder if args.run_folder is not None else latest_run(reports)
    markdown, page = render_run(folder)
    print(f"report: {markdown}\nreport: {page}")
    return EXIT_OK

"""Render report.md and a self-contained report.html for a run folder.

RUN defaults to the latest folder under <reports>/runs. The plots are PNG files in the
run folder's plots/ beside report.md; report.html embeds them and needs nothing else.
``--against BASELINE`` also writes RUN's comparison with BASELINE as a page (what
``blitzbench compare BASELINE RUN --html`` writes), first, so that the report links it.

Exit codes: 0 the pages were written (whatever they say: ``compare`` is the command that
exits on a SLOWER or NOISY figure); 2 a missing or malformed run folder, or with --against
runs from different hardware or torch without --force; 5 a page cannot be written; 6 a
run folder written by a newer blitzbench.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blitzbench.errors import EXIT_OK
from blitzbench.options import add_out, add_threshold
from blitzbench.results.compare import DEFAULT_THRESHOLD

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_folder", nargs="?", type=Path, default=None, metavar="RUN",
                        help="a run folder (default: the latest under <reports>/runs)")
    add_out(parser)
    parser.add_argument("--against", type=Path, default=None, metavar="BASELINE",
                        help="also write compare-<BASELINE>.html: RUN against a baseline "
                             "run folder, figure by figure")
    add_threshold(parser, 100 * DEFAULT_THRESHOLD, "smallest change called FASTER or SLOWER")
    parser.add_argument("--force", action="store_true",
                        help="with --against: compare runs from different hardware or torch")


def run(args: argparse.Namespace) -> int:
    from blitzbench.report.render import render_run
    from blitzbench.runs import default_reports_dir, latest_run

    reports = Path(args.out) if args.out is not None else default_reports_dir()
    folder = args.run_folder if args.run_folder is not None else latest_run(reports)
    compared = _comparison(args.against, folder, args) if args.against is not None else None
    markdown, page = render_run(folder)  # after the comparison page: it links it
    print(f"report: {markdown}\nreport: {page}")
    if compared is not None:
        print(f"report: {compared}")
    return EXIT_OK


def _comparison(baseline: Path, folder: Path, args: argparse.Namespace) -> Path:
    from blitzbench.commands.compare import checked_rows, default_page, write_page
    from blitzbench.results.reader import read_run

    run_a, run_b = read_run(baseline, "baseline"), read_run(folder, "run")
    rows, problems = checked_rows(run_a, run_b, args.threshold / 100, force=args.force)
    return write_page(default_page(run_a, run_b), run_a, run_b, rows, problems)

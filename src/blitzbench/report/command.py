"""Render report.md and a self-contained report.html for a run folder.

RUN defaults to the latest folder under <reports>/runs. The plots are PNG files in the
run folder's plots/ beside the reports; the HTML page needs nothing else.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from blitzbench.errors import EXIT_OK
from blitzbench.options import add_out
from blitzbench.runs import default_reports_dir, latest_run, load_results, write_text_atomic

__all__ = ["HTML_FILE", "MARKDOWN_FILE", "PLOTS_FOLDER", "add_arguments", "render_run", "run"]

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
PLOTS_FOLDER = "plots"
PROFILER_FOLDER = "profiler"  # as profiling.command writes it; not imported: that loads torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_folder", nargs="?", type=Path, default=None, metavar="RUN",
                        help="a run folder (default: the latest under <reports>/runs)")
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    reports = Path(args.out) if args.out is not None else default_reports_dir()
    folder = args.run_folder if args.run_folder is not None else latest_run(reports)
    markdown, page = render_run(folder)
    print(f"report: {markdown}\nreport: {page}")
    return EXIT_OK


def render_run(folder: Path) -> tuple[Path, Path]:
    """Read the run's results.json, draw its plots, write report.md and report.html.

    Each file is written whole or not at all (temporary file, then rename); the pages are
    written last, so they never reference a plot that is not there.
    """
    from blitzbench.report.benchmarks import rows_from_results
    from blitzbench.report.html import render_html
    from blitzbench.report.markdown import render_markdown
    from blitzbench.report.plots import render_plots  # matplotlib: loaded only when drawing
    from blitzbench.report.sections import build_document

    folder = Path(folder)
    results = load_results(folder)
    figures = render_plots(rows_from_results(results), folder / PLOTS_FOLDER,
                           prefix=f"{PLOTS_FOLDER}/")
    logdir = str(folder.parent.parent / PROFILER_FOLDER)
    doc = build_document(results, figures, _reports_link_prefix(folder), logdir)
    markdown = write_text_atomic(folder / MARKDOWN_FILE, render_markdown(doc))
    page = write_text_atomic(folder / HTML_FILE, render_html(doc))
    return markdown, page


def _reports_link_prefix(folder: Path) -> str:
    """Profiler trace folders are stored relative to the reports folder, two levels above a
    run folder (<reports>/runs/<run-id>/)."""
    return os.path.relpath(folder.resolve().parent.parent, folder.resolve()) + "/"

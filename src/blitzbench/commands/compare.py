"""Compare two runs figure by figure: FASTER, SLOWER, SAME or NOISY, tested.

Each benchmark case measured in both runs (same benchmark, parameters and device, and the
same rank when both are torchrun jobs' folders) is
judged on its repeats (or its per-round times): the ratio B/A with a confidence interval,
read against a threshold (results/compare.py says how and why). The intervals are
simultaneous: each figure's confidence is Bonferroni-corrected so that the chance of any
false FASTER or SLOWER among all the figures compared stays at 5%. Runs from
different hardware or torch are refused unless --force. ``--html`` also writes the
comparison as a page (report/comparison.py renders these same rows). Exit 0: nothing
SLOWER; 1: some figure SLOWER; 2: a usage error or a missing or malformed run folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blitzbench.errors import EXIT_FAILED, EXIT_OK, UsageError
from blitzbench.options import add_threshold
from blitzbench.results.compare import (
    DEFAULT_THRESHOLD,
    Verdict,
    compare_measurements,
    family_confidence,
    percent,
)

if TYPE_CHECKING:
    from blitzbench.results.compare import Comparison
    from blitzbench.results.reader import StoredRun
    from blitzbench.results.records import Measurement

__all__ = ["Row", "add_arguments", "checked_rows", "compare_runs", "default_page", "run",
           "write_page"]

Row = tuple["Measurement", "Measurement", "Comparison"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the reference run folder")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the run judged against it")
    add_threshold(parser, 100 * DEFAULT_THRESHOLD, "smallest change called FASTER or SLOWER")
    parser.add_argument("--force", action="store_true",
                        help="compare runs from different hardware or torch anyway")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true",
                        help="list every figure, not only those that are not SAME")
    parser.add_argument("--html", nargs="?", const=PAGE_IN_B, default=None, type=Path,
                        metavar="FILE", help="also write the comparison as a self-contained "
                        "page (default: compare-<RUN_A>.html in RUN_B)")


#: --html without a file: the page goes into run B's folder
PAGE_IN_B = Path()


def run(args: argparse.Namespace) -> int:
    from blitzbench.results.reader import read_run

    run_a, run_b = read_run(args.run_a, "run A"), read_run(args.run_b, "run B")
    rows, problems = checked_rows(run_a, run_b, args.threshold / 100, force=args.force)
    if args.html is not None:
        page = default_page(run_a, run_b) if args.html == PAGE_IN_B else args.html
        print(f"compare: page {write_page(page, run_a, run_b, rows, problems)}",
              file=sys.stderr)
    if args.format == "json":
        print(json.dumps(_json(run_a, run_b, rows, problems), indent=2))
    else:
        _print(run_a, run_b, rows, problems, show_all=args.all)
    slower = any(c.verdict is Verdict.SLOWER for _, _, c in rows)
    return EXIT_FAILED if slower else EXIT_OK


def checked_rows(run_a: StoredRun, run_b: StoredRun, threshold: float, *,
                 force: bool) -> tuple[list[Row], list[str]]:
    """The compared figures and the environments' differences; a UsageError when the runs
    come from different hardware or torch (unless ``force``) or share no case."""
    problems = run_b.results.environment.differences(
        run_a.results.environment, here=f"in B ({run_b.name})", there=f"in A ({run_a.name})")
    if problems and not force:
        raise UsageError(f"{run_a.folder} and {run_b.folder} were measured on different "
                         f"hardware or torch ({'; '.join(problems)}): pass --force to "
                         f"compare anyway")
    rows = compare_runs(run_a, run_b, threshold)
    if not rows:
        raise UsageError(f"{run_a.folder} and {run_b.folder} share no measured benchmark "
                         f"case: nothing to compare (compare two runs of `blitzbench accept`)")
    return rows, problems


def default_page(run_a: StoredRun, run_b: StoredRun) -> Path:
    """``<RUN_B>/compare-<RUN_A name>.html``."""
    return run_b.folder / f"compare-{run_a.name}.html"


def write_page(path: Path, run_a: StoredRun, run_b: StoredRun, rows: list[Row],
               problems: list[str]) -> Path:
    """The comparison page, rendering exactly these rows (matplotlib: loaded here)."""
    from blitzbench.report.comparison import render_comparison

    return render_comparison(Path(path), run_a.name, run_b.name, rows, counts(rows), problems)


def compare_runs(run_a: StoredRun, run_b: StoredRun, threshold: float) -> list[Row]:
    """Every case measured in both runs, with its verdict, in run A's order."""
    theirs = {m.identity: m for m in run_b.results.benchmarks}
    pairs = [(a, theirs[a.identity]) for a in run_a.results.benchmarks
             if a.identity in theirs]
    confidence = family_confidence(len(pairs))
    return [(a, b, compare_measurements(a, b, threshold=threshold, confidence=confidence))
            for a, b in pairs]


def counts(rows: list[Row]) -> str:
    """``2 SLOWER, 0 FASTER, 40 SAME, 5 NOISY of 47 figures``."""
    found = {v: sum(c.verdict is v for _, _, c in rows) for v in Verdict}
    return ", ".join(f"{n} {v.value}" for v, n in found.items()) + f" of {len(rows)} figures"


def _json(run_a: StoredRun, run_b: StoredRun, rows: list[Row],
          problems: list[str]) -> dict[str, object]:
    return {"run_a": str(run_a.folder), "run_b": str(run_b.folder), "summary": counts(rows),
            "environment_differences": problems,
            "figures": [{"benchmark": a.benchmark, "device": a.device,
                         "rank": a.identity[2],
                         "params": dict(a.params), "verdict": c.verdict.value,
                         "ratio": c.ratio, "ci_low": c.low, "ci_high": c.high,
                         "threshold": c.threshold, "median_a_s": a.median_s,
                         "median_b_s": b.median_s, "evidence": c.evidence()}
                        for a, b, c in rows]}


def _print(run_a: StoredRun, run_b: StoredRun, rows: list[Row], problems: list[str], *,
           show_all: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from blitzbench.acceptance.table import LOG_WIDTH
    from blitzbench.report.formatting import fmt_duration_s

    level = percent(rows[0][2].confidence)
    print(f"compare: {counts(rows)} (B = {run_b.name} against A = {run_a.name}; B/A median "
          f"time, {level} CI each, 95% for all together)")  # one line: scripts read it
    console = Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    if problems:
        console.print(f"[yellow]compared across environments: {escape('; '.join(problems))}")
    table = Table()
    table.add_column("case", no_wrap=True)  # a metric name reads whole or not at all
    for column in ("device", "A", "B", "B/A", f"{level} CI", "verdict"):
        table.add_column(column, overflow="fold")
    for a, b, c in rows:
        if show_all or c.verdict is not Verdict.SAME:
            tested = math.isfinite(c.ratio)
            table.add_row(escape(a.prefix), escape(a.site), fmt_duration_s(a.median_s),
                          fmt_duration_s(b.median_s), f"{c.ratio:.3f}" if tested else "-",
                          f"{c.low:.3f}-{c.high:.3f}" if tested else escape(c.reason),
                          _styled(c.verdict))
    console.print(table)


def _styled(verdict: Verdict) -> str:
    from blitzbench.report.tones import COMPARE_TONES, style_of

    return f"[{style_of(verdict.value, COMPARE_TONES)}]{verdict.value}[/]"

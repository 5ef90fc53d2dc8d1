"""Compare two runs figure by figure: FASTER, SLOWER, SAME or NOISY, tested.

Each benchmark case measured in both runs (same benchmark, parameters and device, and the
same rank when both are torchrun jobs' folders) is judged on its repeats (or its
per-round times): the ratio B/A with a confidence interval, read against a threshold
(SLOWER or FASTER past it, SAME within it, NOISY when the interval straddles it; the
docs/benchmarks.md, "Comparing two runs", says why this test). The intervals are
simultaneous: each figure's confidence is Bonferroni-corrected so that the chance of any
false FASTER or SLOWER among all the figures compared stays at 5%. Runs from
different hardware or torch are refused unless --force. ``--html`` also writes the
comparison as a page, rendering these same rows.

The A and B shown are the figures the ratio is computed from (the geometric mean of the
repeats' medians, or the median of all rounds where a run has one repeat); a NOISY figure
says why, and each figure the smallest change it could have detected.

When both runs counted instructions (``accept --count-instructions``), the counts of the
cases both counted are judged too (2%; not comparable across setups, never a pass).

Exit codes: 0 every figure judged, none SLOWER; 1 some figure SLOWER (a finding); 8 none
SLOWER but some figure NOISY (not judged: run again on a quieter machine, or with more
repeats); 2 bad options, a missing or malformed run folder, or runs from different
hardware or torch without --force; 5 the page cannot be written; 6 a run folder written
by a newer blitzbench.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blitzbench.errors import EXIT_FAILED, EXIT_NOT_JUDGED, EXIT_OK, UsageError
from blitzbench.options import add_threshold
from blitzbench.results.compare import (
    DEFAULT_THRESHOLD,
    Verdict,
    compare_measurements,
    detectable_change,
    family_confidence,
    noisy_why,
    percent,
    shown_figures,
)

if TYPE_CHECKING:
    from blitzbench.results.compare import Comparison
    from blitzbench.results.instructions import CountComparison, InstructionCount
    from blitzbench.results.reader import StoredRun
    from blitzbench.results.records import Measurement

__all__ = ["Row", "add_arguments", "checked_rows", "compare_runs", "default_page",
           "exit_code", "run", "write_page"]

Row = tuple["Measurement", "Measurement", "Comparison"]
CountRow = tuple["InstructionCount", "InstructionCount", "CountComparison"]


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
    counted = counted_rows(run_a, run_b)
    if args.format == "json":
        print(json.dumps({**_json(run_a, run_b, rows, problems),
                          "instructions": _counts_json(counted)}, indent=2))
    else:
        _print(run_a, run_b, rows, problems, show_all=args.all)
        _print_counts(counted)
    return exit_code(rows, counted)


def exit_code(rows: list[Row], counted: list[CountRow] | None = None) -> int:
    """1 when a figure is SLOWER, in time or in instructions (a finding); else 8 when one
    is NOISY (not judged); else 0: the numbers every command that judges uses
    (docs/exit-codes.md)."""
    verdicts = {c.verdict for _, _, c in rows}
    verdicts |= {c.verdict for _, _, c in counted or () if c.verdict is not None}
    if Verdict.SLOWER in verdicts:
        return EXIT_FAILED
    return EXIT_NOT_JUDGED if Verdict.NOISY in verdicts else EXIT_OK


def counted_rows(run_a: StoredRun, run_b: StoredRun) -> list[CountRow]:
    """Instruction counts of the cases both runs counted (``--count-instructions``),
    judged B against A at results/instructions.py's threshold (2%); none when a run did
    not count."""
    from blitzbench.results.instructions import compare_count_records

    a, b = run_a.results.instructions, run_b.results.instructions
    if a is None or b is None:
        return []
    return compare_count_records(a, b)


def _counts_json(counted: list[CountRow]) -> list[dict[str, object]]:
    return [{"benchmark": b.benchmark, "device": b.device, "params": dict(b.params),
             "verdict": c.label, "ratio": c.ratio if c.comparable else None,
             "instructions_a": a.instructions_per_call,
             "instructions_b": b.instructions_per_call, "evidence": c.evidence()}
            for a, b, c in counted]


def _print_counts(counted: list[CountRow]) -> None:
    """The instruction counts: one line of tally, then each case not SAME."""
    if not counted:
        return
    tally = ", ".join(f"{sum(c.label == v for _, _, c in counted)} {v}"
                      for v in sorted({c.label for _, _, c in counted}))
    print(f"instructions: {tally} of {len(counted)} counted cases (callgrind, threshold 2%)")
    for _, b, c in counted:
        if c.label != "SAME":
            print(f"  {c.label} {b.prefix}: {c.evidence()}")


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
            "figures": [_figure(a, b, c) for a, b, c in rows]}


def _figure(a: Measurement, b: Measurement, c: Comparison) -> dict[str, object]:
    shown_a, shown_b, estimator = shown_figures(a, b, c)
    detectable = detectable_change(c)
    return {"benchmark": a.benchmark, "device": a.device, "rank": a.identity[2],
            "params": dict(a.params), "verdict": c.verdict.value, "ratio": c.ratio,
            "ci_low": c.low, "ci_high": c.high, "threshold": c.threshold,
            "a_s": shown_a, "b_s": shown_b, "estimator": estimator,
            "median_a_s": a.median_s, "median_b_s": b.median_s,
            "detectable_change": None if math.isnan(detectable) else detectable,
            "why": noisy_why(c) or None, "evidence": c.evidence()}


def _print(run_a: StoredRun, run_b: StoredRun, rows: list[Row], problems: list[str], *,
           show_all: bool) -> None:
    from blitzbench.report.comparison import status_rows
    from blitzbench.report.terminal import log_console, print_status_rows

    level = percent(rows[0][2].confidence)
    print(f"compare: {counts(rows)} (B = {run_b.name} against A = {run_a.name}; B/A median "
          f"time, {level} CI each, 95% for all together)")  # one line: scripts read it
    console = log_console()
    if problems:
        console.print(f"compared across environments: {'; '.join(problems)}",
                      style="yellow", highlight=False, markup=False)
    shown = [row for row in rows if show_all or row[2].verdict is not Verdict.SAME]
    print_status_rows(status_rows(shown), console)

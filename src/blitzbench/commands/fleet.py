"""Judge the same figures from runs on several nodes against each other.

Two runs: each figure of one node against the other's; a difference beyond the threshold
(tested on the per-round times) is DIVERGENT. Three or more: each node against the median
of its peers with the same hardware; more than the threshold worse is an OUTLIER. With
--baseline: every node against the baseline run. A figure that cannot be judged (one
node only, too few peers, too noisy) is named in the verdict's first line.
Exit 0: every figure judged and within the threshold; 1: a finding, or a figure not
judged; 2: a missing or malformed run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blitzbench.errors import EXIT_FAILED, EXIT_OK
from blitzbench.options import add_threshold
from blitzbench.results.compare import FLEET_THRESHOLD

if TYPE_CHECKING:
    from blitzbench.acceptance.fleet import FleetVerdict

__all__ = ["add_arguments", "run"]

DEFAULT_THRESHOLD_PCT = round(100 * FLEET_THRESHOLD)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                        help="run folders (reports/runs/...), one or more per node")
    parser.add_argument("--baseline", type=Path, default=None, metavar="PATH",
                        help="judge every node against this run folder instead")
    add_threshold(parser, DEFAULT_THRESHOLD_PCT, "smallest difference that is a finding")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true",
                        help="show every figure, not only the findings")


def run(args: argparse.Namespace) -> int:
    from blitzbench.acceptance.fleet import fleet_run, judge_fleet, load_fleet
    from blitzbench.results.reader import read_run

    runs = load_fleet(args.runs)
    baseline = fleet_run("baseline", read_run(args.baseline, "baseline")) \
        if args.baseline is not None else None
    verdict = judge_fleet(runs, baseline, args.threshold / 100)
    if args.format == "json":
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        _print(verdict, show_all=args.all)
    return EXIT_OK if verdict.uniform else EXIT_FAILED


def _print(verdict: FleetVerdict, *, show_all: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from blitzbench.acceptance.table import LOG_WIDTH

    print(f"fleet: {verdict.headline()}")  # one line, never wrapped: scripts read it
    console = Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    shown = verdict.cells if show_all else verdict.findings
    if shown:
        table = Table(title=f"nodes: {', '.join(verdict.nodes)}; finding = more than "
                            f"{verdict.threshold:.0%} apart, tested")
        for column in ("metric", "hardware", "node", "value", "reference", "finding",
                       "evidence"):
            table.add_column(column, overflow="fold")
        for cell in shown:
            reference = f"{cell.reference:.4g} ({cell.reference_name})" \
                if cell.reference else "-"
            table.add_row(*map(escape, (cell.metric, cell.hardware, cell.node, cell.shown(),
                                        reference, cell.finding.value, cell.evidence)))
        console.print(table)

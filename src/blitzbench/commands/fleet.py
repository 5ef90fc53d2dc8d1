"""Judge the same figures from runs on several nodes against each other.

Two runs: each figure of one node against the other's; a difference beyond the threshold
(tested on the per-round times) is DIVERGENT. Three or more: each node against the median
of its peers with the same hardware; more than the threshold worse is an OUTLIER. With
--baseline: every node against the baseline run. A figure that cannot be judged (one
node only, too few peers, too noisy) is named in the verdict's first line and listed.

Exit codes: 0 every figure judged, none a finding; 1 a finding (DIVERGENT, OUTLIER or
SLOWER), whatever else; 8 no finding, but some figure not judged (or no figure the runs
share): inconclusive, never a pass; 2 fewer than two run folders, a missing or malformed
one, or bad options; 6 a run folder written by a newer blitzbench.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from blitzbench.errors import EXIT_FAILED, EXIT_NOT_JUDGED, EXIT_OK
from blitzbench.options import add_threshold
from blitzbench.results.compare import FLEET_THRESHOLD

if TYPE_CHECKING:
    from blitzbench.acceptance.fleet import FleetVerdict
    from blitzbench.report.terminal import StatusRow

__all__ = ["add_arguments", "exit_code", "fleet_rows", "run"]

DEFAULT_THRESHOLD_PCT = round(100 * FLEET_THRESHOLD)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                        help="run folders (reports/runs/...), one or more per node")
    parser.add_argument("--baseline", type=Path, default=None, metavar="PATH",
                        help="judge every node against this run folder instead")
    add_threshold(parser, DEFAULT_THRESHOLD_PCT, "smallest difference that is a finding")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true",
                        help="show every figure, not only the findings and the figures "
                             "not judged")


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
    return exit_code(verdict)


def exit_code(verdict: FleetVerdict) -> int:
    """1 on a finding; else 8 when a figure was not judged (or none was shared); else 0:
    a script tells a finding from an inconclusive fleet (docs/exit-codes.md)."""
    if verdict.findings:
        return EXIT_FAILED
    return EXIT_OK if verdict.uniform else EXIT_NOT_JUDGED


def _print(verdict: FleetVerdict, *, show_all: bool) -> None:
    from blitzbench.report.terminal import log_console, print_status_rows

    print(f"fleet: {verdict.headline()}")  # one line, never wrapped: scripts read it
    rows = fleet_rows(verdict, show_all=show_all)
    if rows:
        print_status_rows(rows, log_console(), f"nodes: {', '.join(verdict.nodes)}; "
                          f"finding = more than {verdict.threshold:.0%} apart, tested")


def fleet_rows(verdict: FleetVerdict, *, show_all: bool) -> list[StatusRow]:
    """The findings and the figures not judged (every cell with ``show_all``), status
    first: what was found, the metric and node, the figures and evidence below."""
    from blitzbench.acceptance.fleet import Finding
    from blitzbench.acceptance.metrics import format_number
    from blitzbench.report.terminal import StatusRow
    from blitzbench.report.tones import STATUS_TONES, TONE_STYLES

    shown = verdict.cells if show_all else [*verdict.findings, *verdict.not_judged]
    rows = []
    for cell in shown:
        tone = "warn" if cell.finding is Finding.NOT_JUDGED else \
            "good" if cell.finding is Finding.NONE else STATUS_TONES["FAIL"]
        reference = f" against {format_number(cell.reference)} ({cell.reference_name})" \
            if cell.reference else ""
        rows.append(StatusRow(cell.finding.value or "WITHIN", TONE_STYLES[tone],
                              f"{cell.metric} on {cell.node} ({cell.hardware})",
                              (f"{cell.shown()}{reference}; {cell.evidence}",)))
    return rows

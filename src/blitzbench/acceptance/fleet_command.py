"""Merge acceptance runs from several hosts into one table and flag the outliers.

Each figure is compared with the median of the same figure on the same hardware across
the runs given; a node more than 15% worse than that median is an outlier even when
every absolute bound passed. Needs at least three peers per figure to flag one.
Exit 0: no outlier; 1: at least one outlier; 2: a missing or malformed run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blitzbench.acceptance.fleet import (
    FLEET_OUTLIER_FRACTION,
    MIN_PEERS,
    FleetCell,
    compare_fleet,
    load_fleet,
)
from blitzbench.acceptance.table import LOG_WIDTH
from blitzbench.errors import EXIT_FAILED, EXIT_OK

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                        help="run folders (reports/runs/...), one or more per host")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true",
                        help="show every figure, not only the outliers and their peers")


def run(args: argparse.Namespace) -> int:
    runs = load_fleet(args.runs)
    cells = compare_fleet(runs)
    outliers = [c for c in cells if c.outlier]
    if args.format == "json":
        print(json.dumps({"nodes": [r.node for r in runs],
                          "outlier_fraction": FLEET_OUTLIER_FRACTION,
                          "cells": [c.to_json() for c in cells]}, indent=2))
    else:
        _print(cells, outliers, [r.node for r in runs], show_all=args.all)
    return EXIT_FAILED if outliers else EXIT_OK


def _print(cells: Sequence[FleetCell], outliers: Sequence[FleetCell], nodes: Sequence[str],
           *, show_all: bool) -> None:
    console = Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    flagged = {(c.metric, c.hardware) for c in outliers}
    shown = [c for c in cells if show_all or (c.metric, c.hardware) in flagged]
    table = Table(title=f"blitzbench fleet: {len(nodes)} runs ({', '.join(nodes)}), "
                        f"outlier = more than {FLEET_OUTLIER_FRACTION:.0%} below the median")
    for column in ("metric", "hardware", "node", "device", "value", "fleet median",
                   "vs median", "finding"):
        table.add_column(column, overflow="fold")
    for cell in shown:
        finding = "[bold red]OUTLIER[/]" if cell.outlier else ""
        if cell.noisy:
            finding += " (noisy)"
        table.add_row(*map(escape, (cell.metric, cell.hardware, cell.node, cell.device,
                                    cell.shown())),
                      f"{cell.fleet_median:.4g}", f"{-cell.deficit:+.1%}", finding)
    if shown:
        console.print(table)
    few = {c.metric for c in cells if c.peers < MIN_PEERS}
    if few:
        console.print(f"{len(few)} figure(s) have fewer than {MIN_PEERS} peers: no outlier "
                      f"judgement for them")
    console.print(f"[bold red]{len(outliers)} outlier(s)[/]" if outliers else
                  f"no outlier among {len(cells)} figures")

"""Merge run folders, one per PyTorch release, into one table: release x claim and
release x tutorial block, marking where a verdict changes between consecutive releases.

Each folder holds ``claims.json`` (``blitzbench claims --format json``) and
``tutorial.json`` (``blitzbench tutorial --out RUN``), as the tox release environments
(``tox -e torch29`` ...) write them under reports/drift/<release>/.

Exit codes: 0 the table was printed (a verdict that changes is a finding to read, not a
failure); 2 a missing or malformed folder (one line); 6 a file written by a newer
blitzbench.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blitzbench.errors import EXIT_OK

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN",
                        help="run folders holding claims.json and tutorial.json")
    parser.add_argument("--format", choices=("table", "markdown"), default="table")


def run(args: argparse.Namespace) -> int:
    from blitzbench.results.drift import drift_table, read_release_run
    from blitzbench.tutorial.render import drift_markdown, print_drift

    table = drift_table([read_release_run(folder) for folder in args.runs])
    if args.format == "markdown":
        print(drift_markdown(table))
    else:
        print_drift(table)
    return EXIT_OK

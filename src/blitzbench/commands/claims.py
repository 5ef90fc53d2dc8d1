"""Judge every tutorial claim on every device and print the claim matrix.

Exit 0 when every observed verdict is the expected one, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

from blitzbench.errors import EXIT_FAILED, EXIT_OK
from blitzbench.options import add_data_root, add_device, add_out

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_device(parser)
    add_data_root(parser)
    add_out(parser)
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    parser.add_argument("--no-save", action="store_true",
                        help="do not write a run folder")


def run(args: argparse.Namespace) -> int:
    from blitzbench.claims.runner import judge_all
    from blitzbench.devices import parse_devices
    from blitzbench.runs import RunRecorder, create_run_folder
    from blitzbench.workloads.cifar import resolve_data_source

    parse_devices(args.device)  # reject unknown or absent devices before any work
    data = resolve_data_source(args.data_root)
    if args.data_root is not None:
        data.validate()
    if args.no_save:
        cells = [cell.record() for cell in judge_all(args.device, data)]
    else:
        folder = create_run_folder(args.out)
        with RunRecorder(folder, "claims", data_source=data.to_json()) as recorder:
            cells = []
            for cell in judge_all(args.device, data):
                cells.append(cell.record())
                recorder.extend("claims", cells[-1:])
        print(f"run folder: {folder}", file=sys.stderr)
    _print(cells, args.format, data.describe())
    return EXIT_OK if all(c.passed for c in cells) else EXIT_FAILED


def _print(cells: list, fmt: str, data_text: str) -> None:
    if fmt == "json":
        payload = {"data_source": data_text, "claims": [c.to_json() for c in cells]}
        print(json.dumps(payload, indent=2, default=str))
    elif fmt == "markdown":
        from blitzbench.report.claims_table import matrix_markdown

        print(matrix_markdown(cells))
    else:
        from blitzbench.report.terminal import print_claim_matrix

        print_claim_matrix(cells, data_text)

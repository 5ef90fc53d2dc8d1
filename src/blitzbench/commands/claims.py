"""Judge every tutorial claim on every device and print the claim matrix.

Exit codes: 0 every observed verdict is the expected one; 1 some verdict is not (a claim
whose judge broke, ERROR, is never as expected); 2 bad options; 3 a missing or damaged
--data-root; 4 a device that is not here; 5 the reports folder cannot be written; 130
Ctrl-C (the cells judged so far are kept).
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
    from blitzbench.runner.session import open_recorder, recording, run_inputs
    from blitzbench.runner.steps import judged_cells

    inputs = run_inputs(args.device, args.data_root, args.out)
    recorder = None if args.no_save else open_recorder(inputs, "claims")
    cells = []
    with recording(recorder):
        for cell in judged_cells(inputs.claim_devices, inputs.data):
            cells.append(cell)
            if recorder is not None:
                recorder.extend("claims", [cell])
    if recorder is not None:
        recorder.finish()
        print(f"run folder: {recorder.folder}", file=sys.stderr)
    _print(cells, args.format, inputs.data.describe())
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

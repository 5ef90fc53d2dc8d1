"""Judge every tutorial claim on every device and print the claim matrix.

Exit 0 when every observed verdict is the expected one, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

from blitzbench.claims import ALL_CLAIMS
from blitzbench.claims.runner import MatrixCell, iter_matrix
from blitzbench.devices import parse_devices, planned_devices
from blitzbench.errors import EXIT_FAILED, EXIT_OK
from blitzbench.options import add_data_root, add_device, add_out
from blitzbench.report.claims_table import matrix_markdown
from blitzbench.runs import RunRecorder, create_run_folder
from blitzbench.workloads.cifar import DataSource, resolve_data_source

__all__ = ["add_arguments", "judge_all", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_device(parser)
    add_data_root(parser)
    add_out(parser)
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    parser.add_argument("--no-save", action="store_true",
                        help="do not write a run folder")


def judge_all(device_spec: str, data: DataSource,
              recorder: RunRecorder | None = None) -> list[MatrixCell]:
    """The matrix for ``--device``; "all" includes a skipped CUDA column without a GPU.
    With a recorder, each cell is saved as soon as it is judged."""
    devices = planned_devices() if device_spec == "all" else parse_devices(device_spec)
    cells = []
    for cell in iter_matrix(ALL_CLAIMS, devices, data):
        cells.append(cell)
        if recorder is not None:
            recorder.extend("claims", [cell.to_json()])
    return cells


def run(args: argparse.Namespace) -> int:
    parse_devices(args.device)  # reject unknown or absent devices before any work
    data = resolve_data_source(args.data_root)
    if args.data_root is not None:
        data.validate()
    if args.no_save:
        cells = judge_all(args.device, data)
    else:
        folder = create_run_folder(args.out)
        with RunRecorder(folder, "claims", data_source=data.to_json()) as recorder:
            cells = judge_all(args.device, data, recorder)
        print(f"run folder: {folder}", file=sys.stderr)
    _print(cells, args.format, data)
    return EXIT_OK if all(c.passed for c in cells) else EXIT_FAILED


def _print(cells: list[MatrixCell], fmt: str, data: DataSource) -> None:
    if fmt == "json":
        payload = {"data_source": data.describe(),
                   "claims": [{**c.claim.to_json(), **c.to_json()} for c in cells]}
        print(json.dumps(payload, indent=2, default=str))
    elif fmt == "markdown":
        print(matrix_markdown(cells))
    else:
        from blitzbench.report.terminal import print_claim_matrix

        print_claim_matrix(cells, data)

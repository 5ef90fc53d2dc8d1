"""Run a tutorial's own code blocks, in order, on the CPU and every CUDA device found, and
judge each: RUNS AS WRITTEN, RUNS WITH A SHIM, OUTPUT DIFFERS, FAILS or NOT RUN.

Reads a Markdown post (fenced ``python`` blocks, output in the fences it labels as
output), a sphinx-gallery ``.py`` or an ``.ipynb``. Each block runs in a worker process
with a time limit, in a fresh temporary folder, offline: CIFAR-10 is the synthetic set (or
``--data-root``).

Exit codes: 0 every block runs; 1 a block prints something else than the tutorial shows,
or raises; 22 a block ran past its time limit, 23 crashed its process, 24 asked for input,
25 wrote outside its folder; 20 PATH is not a tutorial, 21 a malformed notebook; 2 bad
options; 3 a missing or damaged --data-root; 4 a device that is not here; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from blitzbench.errors import (
    EXIT_OK,
    BlockCrashedError,
    BlockFailedError,
    BlockInputError,
    BlockOutsideWriteError,
    BlockTimeoutError,
    UsageError,
)
from blitzbench.options import add_data_root, add_device
from blitzbench.results.tutorial import OUTPUT_DIFFERS, TutorialResults, TutorialRun

__all__ = ["add_arguments", "run"]

DEFAULT_TIMEOUT_S = 300.0  # per block: the post's data block loads CIFAR-10 up to 3 times
FAILURE_ERRORS = {"timeout": BlockTimeoutError, "crash": BlockCrashedError,
                  "input": BlockInputError, "outside-write": BlockOutsideWriteError}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{value:g} s is out of range: use 0 < N <= 86400")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH",
                        help="a Markdown post, a sphinx-gallery .py or a Jupyter .ipynb")
    add_device(parser)
    add_data_root(parser)
    parser.add_argument("--timeout-s", type=_seconds, default=DEFAULT_TIMEOUT_S,
                        metavar="N", help=f"time limit per block, in seconds (default "
                                          f"{DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    parser.add_argument("--out", type=Path, default=None, metavar="RUNDIR",
                        help="also write RUNDIR/tutorial.json (what `blitzbench drift` reads)")


def run(args: argparse.Namespace) -> int:
    from blitzbench.tutorial.plan import plan_data, plan_devices, tutorial_results
    from blitzbench.tutorial.sources import read_tutorial

    tutorial = read_tutorial(args.path)  # a bad path fails before any device or data work
    devices, skipped = plan_devices(args.device.text, strict=True)
    data = plan_data(args.data_root)
    results = tutorial_results(tutorial, devices, skipped, data, args.timeout_s)
    if args.out is not None:
        _write(args.out, results)
    _print(results, args.format)
    _raise_for(results)
    return EXIT_OK


def _write(folder: Path, results: TutorialResults) -> None:
    from blitzbench.results.drift import TUTORIAL_FILE
    from blitzbench.runs import write_json_atomic

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {folder} cannot be created ({exc.strerror}): give a "
                         f"writable folder") from None
    write_json_atomic(folder / TUTORIAL_FILE, results.to_json())


def _print(results: TutorialResults, fmt: str) -> None:
    from blitzbench.tutorial.render import print_runs, runs_markdown

    if fmt == "json":
        print(json.dumps(results.to_json(), indent=2))
    elif fmt == "markdown":
        print(runs_markdown(results.runs))
    else:
        print_runs(results.runs)


def _raise_for(results: TutorialResults) -> None:
    """The first failing block as one line with its exit code; then any other difference."""
    for run in results.runs:
        failed = run.first_failure
        if failed is not None:
            error = FAILURE_ERRORS.get(failed.failure, BlockFailedError)
            raise error(f"{run.path}: block {failed.index} (line {failed.line}) on "
                        f"{run.device} FAILS: {failed.detail}{_not_run(run, failed.index)}")
    for run in results.runs:
        differs = [b for b in run.blocks if b.verdict == OUTPUT_DIFFERS]
        if differs:
            raise BlockFailedError(f"{run.path}: block {differs[0].index} (line "
                                   f"{differs[0].line}) on {run.device}: output differs: "
                                   f"{differs[0].detail} ({len(differs)} block(s) differ)")


def _not_run(run: TutorialRun, index: int) -> str:
    after = len(run.blocks) - index
    return f"; blocks {index + 1}-{len(run.blocks)} not run" if after > 1 else \
        (f"; block {index + 1} not run" if after == 1 else "")



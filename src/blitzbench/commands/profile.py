"""Profile the LeNet training step and the DataLoader-fed loop with torch.profiler.

Traces land inside the run folder, in <reports>/runs/<run-id>/profiler/<device>-<workload>/
(open them with `tensorboard --logdir <run folder>/profiler`, or in Perfetto: they are
Chrome-trace JSON), each beside a summary.json; the run folder's results.json records the
same summaries for `blitzbench report`, and a copied run folder keeps its traces.

Exit codes: 0 every capture written (a capture that fails is recorded in the run folder
and shown as ERROR); 2 bad options; 3 a missing or damaged --data-root; 4 a device that is
not here; 5 the reports folder cannot be written; 130 Ctrl-C (what finished is kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blitzbench.errors import EXIT_OK
from blitzbench.options import add_data_root, add_device, add_out, positive_int
from blitzbench.results.names import (
    PROFILE_ACTIVE_STEPS,
    PROFILE_WORKLOADS,
    PROFILER_FOLDER,
    TUTORIAL_BATCH_SIZE,
)

if TYPE_CHECKING:
    from blitzbench.results.records import ProfileEntry

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_device(parser)
    parser.add_argument("--batch-size", type=positive_int, default=TUTORIAL_BATCH_SIZE,
                        metavar="N", help=f"images per step (default {TUTORIAL_BATCH_SIZE}, "
                                          f"the tutorial's)")
    parser.add_argument("--workload", choices=(*PROFILE_WORKLOADS, "all"), default="all",
                        help="what to profile (default: all)")
    parser.add_argument("--active-steps", type=positive_int, default=PROFILE_ACTIVE_STEPS,
                        metavar="N", help="recorded steps after one wait and one warm-up "
                                          f"step (default {PROFILE_ACTIVE_STEPS})")
    add_out(parser)
    add_data_root(parser)


def run(args: argparse.Namespace) -> int:
    from blitzbench.profiling.capture import ProfileSchedule
    from blitzbench.profiling.session import profile_all
    from blitzbench.runner.session import open_recorder, recording, run_inputs

    inputs = run_inputs(args.device, args.data_root, args.out)
    workloads = PROFILE_WORKLOADS if args.workload == "all" else (args.workload,)
    plan = ProfileSchedule(active=args.active_steps)
    recorder = open_recorder(inputs, "profile", settings={"batch_size": args.batch_size,
                                                          "schedule": plan.to_json()})
    with recording(recorder):
        profiles = profile_all(recorder, inputs.reports, list(inputs.devices), workloads,
                               args.batch_size, inputs.data, plan)
    recorder.finish()
    _print(profiles, recorder.folder)
    return EXIT_OK


def _print(profiles: list[ProfileEntry], folder: Path) -> None:
    from blitzbench.report.terminal import print_profile_summaries

    print_profile_summaries(profiles)
    for entry in profiles:
        if entry.trace_dir:
            print(f"trace: {folder / entry.trace_dir}", file=sys.stderr)
    print(f"run folder: {folder}", file=sys.stderr)
    print(f"traces: tensorboard --logdir {folder / PROFILER_FOLDER}", file=sys.stderr)

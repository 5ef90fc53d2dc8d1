"""Profile the LeNet training step and the DataLoader-fed loop with torch.profiler.

Traces land in <reports>/profiler/<run-id>/<device>-<workload>/ (open them with
`tensorboard --logdir <reports>/profiler`, or in Perfetto: they are Chrome-trace JSON),
each beside a summary.json; the run folder <reports>/runs/<run-id>/ records the same
summaries for `blitzbench report`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from blitzbench.devices import device_label, parse_devices
from blitzbench.errors import EXIT_OK
from blitzbench.options import add_data_root, add_device, add_out, positive_int
from blitzbench.profiling.capture import (
    LABELS,
    WORKLOADS,
    ProfileSchedule,
    capture,
    publish,
    trace_folder_name,
)
from blitzbench.profiling.summary import summarize
from blitzbench.runs import RunRecorder, create_run_folder, default_reports_dir, write_json_atomic
from blitzbench.workloads.cifar import resolve_data_source

__all__ = ["PROFILER_FOLDER", "SUMMARY_FILE", "add_arguments", "profile_all", "run"]

PROFILER_FOLDER = "profiler"
STAGING_FOLDER = ".profiler-staging"  # outside the TensorBoard log folder, same disk
SUMMARY_FILE = "summary.json"
KINETO_LOG_LEVEL_ENV = "KINETO_LOG_LEVEL"
KINETO_QUIET = "5"  # above Kineto's ERROR level
DEFAULT_BATCH_SIZE = 4  # the tutorial's batch size: the launch-bound case


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_device(parser)
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        metavar="N", help=f"images per step (default {DEFAULT_BATCH_SIZE}, "
                                          f"the tutorial's)")
    parser.add_argument("--workload", choices=(*WORKLOADS, "all"), default="all",
                        help="what to profile (default: all)")
    parser.add_argument("--active-steps", type=positive_int, default=ProfileSchedule.active,
                        metavar="N", help="recorded steps after one wait and one warm-up "
                                          f"step (default {ProfileSchedule.active})")
    add_out(parser)
    add_data_root(parser)


def run(args: argparse.Namespace) -> int:
    devices = parse_devices(args.device)  # unknown or absent devices fail before any work
    data = resolve_data_source(args.data_root)
    if args.data_root is not None:
        data.validate()  # a defective data set fails before the run folder exists
    reports = Path(args.out) if args.out is not None else default_reports_dir()
    workloads = WORKLOADS if args.workload == "all" else (args.workload,)
    plan = ProfileSchedule(active=args.active_steps)
    recorder = RunRecorder(create_run_folder(reports), "profile",
                           data_source={"kind": data.kind, "root": str(data.root)},
                           profile_settings={"batch_size": args.batch_size,
                                             "schedule": plan.to_json()})
    try:
        profiles = profile_all(recorder, reports, devices, workloads, args.batch_size,
                               data, plan)
    except KeyboardInterrupt:
        recorder.finish(interrupted=True)
        raise
    recorder.finish()
    _print(profiles, reports, recorder.folder)
    return EXIT_OK


def profile_all(recorder: RunRecorder, reports: Path, devices: list[Any],
                workloads: tuple[str, ...], batch_size: int, data: Any,
                plan: ProfileSchedule) -> list[dict[str, Any]]:
    """Capture every (device, workload); each finished one is saved before the next.
    The staging area is removed however this ends, so no half-written trace remains."""
    if all(d.type == "cpu" for d in devices):
        # Kineto in a CUDA build logs an ERROR when it finds no GPU; harmless for a CPU
        # capture, alarming to read. A value the user set wins.
        os.environ.setdefault(KINETO_LOG_LEVEL_ENV, KINETO_QUIET)
    try:
        return [_profile_one(recorder, reports, device, workload, batch_size, data, plan)
                for device in devices for workload in workloads]
    finally:
        _remove_staging(reports, recorder.folder.name)


def _profile_one(recorder: RunRecorder, reports: Path, device: Any, workload: str,
                 batch_size: int, data: Any, plan: ProfileSchedule) -> dict[str, Any]:
    run_id = recorder.folder.name
    name = trace_folder_name(device_label(device), workload)
    staging = reports / STAGING_FOLDER / run_id / name
    result = capture(workload, device, staging, batch_size=batch_size, data=data, plan=plan)
    summary = summarize(result, LABELS)
    write_json_atomic(staging / SUMMARY_FILE, summary)
    final = publish(staging, reports / PROFILER_FOLDER / run_id / name)
    entry = {"device": result.device, "workload": workload,
             "trace_dir": final.relative_to(reports).as_posix(), "summary": summary}
    recorder.extend("profiles", [entry])
    return entry


def _remove_staging(reports: Path, run_id: str) -> None:
    staging = reports / STAGING_FOLDER
    shutil.rmtree(staging / run_id, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.rmdir()  # only when no other run is staging there


def _print(profiles: list[dict[str, Any]], reports: Path, folder: Path) -> None:
    from blitzbench.report.terminal import print_profile_summaries

    print_profile_summaries(profiles)
    for entry in profiles:
        print(f"trace: {reports / entry['trace_dir']}", file=sys.stderr)
    print(f"run folder: {folder}", file=sys.stderr)
    print(f"traces: tensorboard --logdir {reports / PROFILER_FOLDER}", file=sys.stderr)

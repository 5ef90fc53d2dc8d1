"""A profiling session: every (device, workload) captured, summarized and published.

Each capture is staged outside the TensorBoard log folder and moved into the run folder,
<reports>/runs/<run-id>/profiler/<device>-<workload>/, whole, beside its summary.json: a
run folder copied elsewhere keeps its traces, the report's links to them and its
``tensorboard --logdir profiler`` hint. The run's recorder saves each summary as soon as
it exists (its ``trace_dir`` relative to the run folder), so Ctrl-C keeps what finished.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from blitzbench.devices import device_label
from blitzbench.profiling.capture import (
    LABELS,
    ProfileSchedule,
    capture,
    publish,
    trace_folder_name,
)
from blitzbench.profiling.quiet import native_noise_dropped
from blitzbench.profiling.summary import summarize
from blitzbench.results.names import PROFILER_FOLDER, TUTORIAL_BATCH_SIZE
from blitzbench.results.records import ProfileEntry
from blitzbench.runs import RunRecorder, write_json_atomic

__all__ = ["DEFAULT_BATCH_SIZE", "SUMMARY_FILE", "profile_all"]

STAGING_FOLDER = ".profiler-staging"  # outside the TensorBoard log folder, same disk
SUMMARY_FILE = "summary.json"
KINETO_LOG_LEVEL_ENV = "KINETO_LOG_LEVEL"
KINETO_QUIET = "5"  # above Kineto's ERROR level
DEFAULT_BATCH_SIZE = TUTORIAL_BATCH_SIZE  # the launch-bound case


def profile_all(recorder: RunRecorder, reports: Path, devices: list[Any],
                workloads: tuple[str, ...], batch_size: int, data: Any,
                plan: ProfileSchedule) -> list[ProfileEntry]:
    """Capture every (device, workload); each finished one is saved before the next.
    The staging area is removed however this ends, so no half-written trace remains."""
    if all(d.type == "cpu" for d in devices):
        # Kineto in a CUDA build logs an ERROR when it finds no GPU; harmless for a CPU
        # capture, alarming to read. A value the user set wins.
        os.environ.setdefault(KINETO_LOG_LEVEL_ENV, KINETO_QUIET)
    try:
        with native_noise_dropped():
            return [_profile_one(recorder, reports, device, workload, batch_size, data,
                                 plan) for device in devices for workload in workloads]
    finally:
        _remove_staging(reports, recorder.folder.name)


def _profile_one(recorder: RunRecorder, reports: Path, device: Any, workload: str,
                 batch_size: int, data: Any, plan: ProfileSchedule) -> ProfileEntry:
    run_id = recorder.folder.name
    name = trace_folder_name(device_label(device), workload)
    staging = reports / STAGING_FOLDER / run_id / name
    result = capture(workload, device, staging, batch_size=batch_size, data=data, plan=plan)
    summary = summarize(result, LABELS)
    write_json_atomic(staging / SUMMARY_FILE, summary)
    final = publish(staging, recorder.folder / PROFILER_FOLDER / name)
    entry = ProfileEntry(result.device, workload,
                         final.relative_to(recorder.folder).as_posix(), summary)
    recorder.extend("profiles", [entry])
    return entry


def _remove_staging(reports: Path, run_id: str) -> None:
    staging = reports / STAGING_FOLDER
    shutil.rmtree(staging / run_id, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.rmdir()  # only when no other run is staging there

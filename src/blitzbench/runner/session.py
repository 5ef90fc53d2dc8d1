"""How every run starts and ends: devices, data, reports folder, recorder, Ctrl-C.

``accept``, ``claims``, ``profile``, ``ab`` and every rank of a torchrun job begin the same
way: the ``--device`` choice checked against this machine (once), the data set resolved and,
when the user named one, validated, all before a run folder exists (a bad input leaves no
trace); then a run folder with its recorder, or records held in memory on a rank that is
not rank 0. A run ends finished, or interrupted: Ctrl-C marks the folder incomplete and
names it, and the interrupt goes on to the CLI's exit 130.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from blitzbench.devices import parse_devices, planned_devices
from blitzbench.options import DeviceChoice
from blitzbench.runs import RunRecorder, create_run_folder, default_reports_dir
from blitzbench.workloads.cifar import DataSource, resolve_data_source

if TYPE_CHECKING:
    from blitzbench.runner.job import HeldRecords, Job

__all__ = ["Recorder", "RunInputs", "mark_interrupted", "open_recorder", "recording",
           "resolve_devices", "run_inputs"]

#: What the steps of a run save into: a run folder's recorder, or a rank's held records.
Recorder = Any  # RunRecorder | HeldRecords (duck-typed: set, extend, finish, results)


@dataclass(frozen=True)
class RunInputs:
    """What a run measures, on what data, and where it writes. ``claim_devices`` are the
    claim matrix's columns: with ``--device all`` a CUDA column even without a GPU, so that
    it reads SKIPPED with the reason rather than missing."""

    devices: tuple[torch.device, ...]
    claim_devices: tuple[torch.device, ...]
    data: DataSource
    reports: Path


def resolve_devices(choice: DeviceChoice) -> tuple[list[torch.device], list[torch.device]]:
    """The devices ``--device`` names, checked against this machine (CUDA asked for where
    torch sees none is a DeviceError), and the claim matrix's columns for them."""
    devices = parse_devices(choice.text)
    return devices, planned_devices() if choice.text == "all" else devices


def run_inputs(choice: DeviceChoice, data_root: Path | None, out: Path | None, *,
               job: Job | None = None) -> RunInputs:
    """Devices (a job's rank: its own device), data and reports folder, each checked
    before any run folder exists: a defective ``--data-root`` fails here."""
    devices, columns = (job.devices, job.devices) if job else resolve_devices(choice)
    data = resolve_data_source(data_root)
    if data_root is not None:
        data.validate()
    reports = Path(out) if out is not None else default_reports_dir()
    return RunInputs(tuple(devices), tuple(columns), data, reports)


def open_recorder(inputs: RunInputs, command: str, *, job: Job | None = None,
                  level: str | None = None, settings: Mapping[str, Any] | None = None
                  ) -> RunRecorder | HeldRecords:
    """A new run folder and its recorder; in a job, rank 0's (the others hold records)."""
    data_source = inputs.data.to_json()
    if job is not None:
        return job.recorder(inputs.reports, command, data_source=data_source, level=level)
    return RunRecorder(create_run_folder(inputs.reports), command, data_source=data_source,
                       level=level, settings=settings)


@contextlib.contextmanager
def recording(recorder: Recorder | None) -> Iterator[Recorder | None]:
    """The run's life: Ctrl-C marks the folder interrupted and names it, then goes on."""
    try:
        yield recorder
    except KeyboardInterrupt:
        mark_interrupted(recorder)
        raise


def mark_interrupted(recorder: Recorder | None) -> None:
    """The folder kept, marked incomplete and interrupted, and named on stderr."""
    if recorder is None:
        return
    recorder.finish(interrupted=True)
    if recorder.folder is not None:
        print(f"run folder (incomplete): {recorder.folder}", file=sys.stderr)

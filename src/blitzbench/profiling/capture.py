"""Capture torch.profiler traces of the LeNet training step and the DataLoader-fed loop.

Each capture runs ``wait + warmup + active`` steps under a profiler schedule, so only the
active steps are recorded, after warm-up has paid for lazy initialisation (cuDNN autotune,
allocator growth, worker start). The trace goes through ``tensorboard_trace_handler``, the
format the PyTorch Profiler plugin of TensorBoard reads; it is Chrome-trace JSON, which
Perfetto and chrome://tracing open too.

Every step ends by reading the loss (``loss.item()``), as the tutorial's loop does for its
running loss: that synchronizes, so one profiler step holds one training step's GPU work.
"""

from __future__ import annotations

import inspect
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.profiler import (
    ProfilerActivity,
    profile,
    record_function,
    supported_activities,
    tensorboard_trace_handler,
)
from torch.profiler import schedule as profiler_schedule

from blitzbench.errors import OutputError
from blitzbench.results.names import PROFILE_ACTIVE_STEPS, PROFILE_WORKLOADS
from blitzbench.workloads.cifar import DataSource, make_loader, tutorial_split
from blitzbench.workloads.lenet import make_train_step, synthetic_batch

__all__ = [
    "LABELS",
    "LOADER_WORKERS",
    "STEP_LABEL",
    "WORKLOADS",
    "Capture",
    "CudaActivities",
    "ProfileSchedule",
    "capture",
    "cuda_activities",
    "publish",
    "trace_folder_name",
]

#: the workloads a profile covers, in the order they run.
WORKLOADS = PROFILE_WORKLOADS
#: the tutorial's DataLoader uses two workers.
LOADER_WORKERS = 2
#: record_function labels inside each profiler step, so the trace shows where a step goes.
STEP_LABEL = "blitzbench.train_step"
BATCH_LABEL = "blitzbench.next_batch"
LABELS = (BATCH_LABEL, STEP_LABEL)
TRACE_SUFFIX = ".pt.trace.json"
#: One schedule cycle, so nothing is dropped; saying so silences torch's warning that
#: events are cleared between cycles (the argument is newer than some supported releases).
_ONE_CYCLE = {"acc_events": True} if "acc_events" in inspect.signature(profile).parameters else {}


@dataclass(frozen=True)
class ProfileSchedule:
    """torch.profiler's wait / warmup / active step counts (one repeat).

    The defaults keep a CPU capture at a few seconds: one skipped step, one warm-up step
    whose events are discarded, three recorded steps.
    """

    wait: int = 1
    warmup: int = 1
    active: int = PROFILE_ACTIVE_STEPS

    @property
    def total_steps(self) -> int:
        return self.wait + self.warmup + self.active

    def to_json(self) -> dict[str, int]:
        return {"wait": self.wait, "warmup": self.warmup, "active": self.active}


@dataclass(frozen=True)
class CudaActivities:
    """Whether a capture asks for, and can record, CUDA kernels (CUPTI)."""

    requested: bool
    available: bool
    reason: str | None = None

    @property
    def record(self) -> bool:
        return self.requested and self.available

    def to_json(self) -> dict[str, Any]:
        return {"requested": self.requested, "available": self.available,
                "reason": self.reason}


@dataclass(frozen=True)
class Capture:
    """One finished capture: the profiler, where its trace went, and how long it took."""

    device: str
    workload: str
    batch_size: int
    schedule: ProfileSchedule
    cuda: CudaActivities
    profiler: profile
    trace_files: tuple[Path, ...]
    wall_s: float
    details: dict[str, Any]


def cuda_activities(device: torch.device,
                    supported: set[ProfilerActivity] | None = None) -> CudaActivities:
    """CUDA activities are asked for on a CUDA device, and need the profiler's CUPTI support."""
    if device.type != "cuda":
        return CudaActivities(requested=False, available=False)
    supported = supported_activities() if supported is None else supported
    if ProfilerActivity.CUDA not in supported:
        return CudaActivities(
            requested=True, available=False,
            reason="this torch build's profiler cannot record CUDA activities (CUPTI "
                   "missing): kernels, GPU busy time and device memory are not in the trace")
    return CudaActivities(requested=True, available=True)


def trace_folder_name(device: str, workload: str) -> str:
    """``cpu-train_step``, ``cuda0-loader_loop``: a device label made safe for a folder name."""
    return f"{device.replace(':', '')}-{workload}"


def capture(workload: str, device: torch.device, trace_dir: Path, *, batch_size: int,
            data: DataSource, plan: ProfileSchedule | None = None) -> Capture:
    """Profile one workload on one device; the trace lands in ``trace_dir``."""
    from blitzbench.devices import device_label

    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}")
    plan = plan or ProfileSchedule()
    cuda = cuda_activities(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda.record else [])
    maker = _train_step_steps if workload == "train_step" else _loader_loop_steps
    with maker(device, batch_size, data) as (steps, details):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        started = time.perf_counter()
        with profile(activities=activities,
                     schedule=profiler_schedule(wait=plan.wait, warmup=plan.warmup,
                                                active=plan.active, repeat=1),
                     on_trace_ready=tensorboard_trace_handler(str(trace_dir)),
                     record_shapes=True, profile_memory=True, with_stack=False,
                     **_ONE_CYCLE) as prof:
            for _ in range(plan.total_steps):
                steps()
                prof.step()
        wall_s = time.perf_counter() - started
        if device.type == "cuda":
            details["cuda_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    traces = tuple(sorted(Path(trace_dir).glob(f"*{TRACE_SUFFIX}")))
    return Capture(device_label(device), workload, batch_size, plan, cuda, prof, traces,
                   wall_s, details)


@contextmanager
def _train_step_steps(device: torch.device, batch_size: int,
                      data: DataSource) -> Iterator[tuple[Callable[[], None], dict[str, Any]]]:
    """The LeNet step on one fixed synthetic batch already on the device."""
    del data  # the step alone needs no data set
    train = make_train_step(device)
    images, labels = synthetic_batch(batch_size, device,
                                     generator=torch.Generator().manual_seed(0))

    def one_step() -> None:
        with record_function(STEP_LABEL):
            train.step(images, labels).item()

    yield one_step, {"input": "synthetic batch, made once, already on the device"}


@contextmanager
def _loader_loop_steps(device: torch.device, batch_size: int,
                       data: DataSource) -> Iterator[tuple[Callable[[], None], dict[str, Any]]]:
    """The tutorial's loop: next batch from the DataLoader, copy to the device, step."""
    train = make_train_step(device)
    dataset = tutorial_split(data, True)
    loader = make_loader(dataset, batch_size, num_workers=LOADER_WORKERS,
                         pin_memory=device.type == "cuda", seed=0)
    live = {"batches": iter(loader)}

    def one_step() -> None:
        with record_function(BATCH_LABEL):
            images, labels = next(live["batches"])
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
        with record_function(STEP_LABEL):
            train.step(images, labels).item()

    try:
        yield one_step, {"input": data.describe(), "num_workers": LOADER_WORKERS,
                         "pin_memory": device.type == "cuda"}
    finally:
        live.clear()  # the iterator's last reference: its workers shut down now


def publish(staging: Path, final: Path) -> Path:
    """Move a finished trace folder into the TensorBoard log folder in one rename, so
    TensorBoard never lists a half-written run."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"cannot write {final}: {exc.strerror or exc}: choose another "
                          f"folder with --out") from None
    return final

"""The benchmark catalog: every measured case as data.

A :class:`Case` names a benchmark, a device, its parameters and the levels it belongs to,
and knows how to build its :class:`~blitzbench.timing.workload.Workload` (what to time
plus the units one call processes). ``pytest benchmarks``, ``blitzbench accept`` and the
reports all read this one list, so a benchmark is defined once.

Levels, like diagnostic levels, trade depth for time: ``quick`` (every case on this
2-core CPU box in well under a minute), ``standard`` (all batch sizes and worker counts),
``full`` (adds torch.compile and larger loader rounds; a few minutes on a GPU node).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from blitzbench.devices import device_label
from blitzbench.errors import DeviceError, UsageError
from blitzbench.results.names import FAMILIES, LEVELS
from blitzbench.timing.workload import Workload

if TYPE_CHECKING:
    from blitzbench.workloads.cifar import DataSource

__all__ = ["ALL_LEVELS", "DEEPER", "FAMILIES", "FULL", "LEVELS", "LEVEL_REPEATS", "QUICK",
           "STANDARD", "Case",
           "Workload", "all_cases", "cases", "check_devices", "check_level"]

ALL_LEVELS = frozenset(LEVELS)
QUICK, STANDARD, FULL = LEVELS  # the family modules name levels through these
DEEPER = (STANDARD, FULL)
#: Each deeper level measures every case for longer (quick's max_time_s times this).
LEVEL_TIME_SCALE = {QUICK: 1.0, STANDARD: 2.0, FULL: 4.0}
#: ``accept`` measures every case in this many repeats spread across the run
#: (workloads/repeats.py): eight repeat medians give Welch's t seven degrees of freedom
#: a run, enough that quiet runs on this 2-core VM stay unflagged at a 26-29 s quick
#: benchmark step (docs/benchmarks.md, "Comparing two runs", has the measured drift).
LEVEL_REPEATS = {QUICK: 8, STANDARD: 8, FULL: 8}
DEFAULT_MIN_ROUNDS = 5
DEFAULT_MAX_TIME_S = 0.2
DEFAULT_WARMUP = 2
SUPPORTED_DEVICE_TYPES = ("cpu", "cuda")


@dataclass(frozen=True)
class Case:
    """One benchmark on one device with fixed parameters; ``build`` makes its workload.

    ``min_rounds``, ``max_time_s`` and ``warmup`` are the case's own timing policy (a
    DataLoader round takes far longer than a 5x3 add); ``slow`` marks torch.compile.
    """

    benchmark: str
    device: str
    params: Mapping[str, Any]
    levels: frozenset[str]
    build: Callable[[], Workload] = field(repr=False, compare=False)
    min_rounds: int = DEFAULT_MIN_ROUNDS
    max_time_s: float = DEFAULT_MAX_TIME_S
    warmup: int = DEFAULT_WARMUP
    slow: bool = False

    @property
    def family(self) -> str:
        return self.benchmark.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return self.benchmark.split(".", 1)[-1]

    @property
    def id(self) -> str:
        """Stable test id, e.g. ``add_out-cpu-memory-2^24`` or
        ``train_step-cpu-batch_size=64-eager``: pytest-benchmark compares runs by it, so it
        must not change between runs. Text values stand alone, numbers carry their name."""
        parts = [v if isinstance(v, str) else f"{k}={v}" for k, v in self.params.items()]
        return "-".join([self.operation, self.device, *parts])


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise UsageError(f"unknown benchmark level {level!r}: use one of {', '.join(LEVELS)}")
    return level


def check_devices(devices: Sequence[torch.device | str]) -> list[torch.device]:
    """Devices the catalog can build cases for; anything else is a DeviceError."""
    checked = []
    for device in devices:
        try:
            parsed = torch.device(device)
        except (RuntimeError, TypeError):
            raise DeviceError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
        if parsed.type not in SUPPORTED_DEVICE_TYPES:
            raise DeviceError(f"device {device_label(parsed)!r} has no benchmarks: "
                              f"use cpu, cuda or cuda:N")
        checked.append(parsed)
    return checked


def all_cases(devices: Sequence[torch.device | str], data: DataSource) -> list[Case]:
    """Every case of every family at every level, devices in the order given."""
    from blitzbench.workloads import lenet_bench, loading, tensor_ops, training_loop

    checked = check_devices(devices)
    found: list[Case] = []
    for family in (tensor_ops, loading, lenet_bench, training_loop):
        for device in checked:
            found.extend(family.cases(device, data))
    return found


def cases(level: str, devices: Sequence[torch.device | str], data: DataSource,
          family: str | None = None) -> list[Case]:
    """The cases of one level (optionally one family), timed for that level."""
    check_level(level)
    if family is not None and family not in FAMILIES:
        raise UsageError(f"unknown benchmark family {family!r}: use one of {FAMILIES}")
    scale = LEVEL_TIME_SCALE[level]
    return [dataclasses.replace(case, max_time_s=case.max_time_s * scale)
            for case in all_cases(devices, data)
            if level in case.levels and (family is None or case.family == family)]


def make_case(benchmark: str, device: torch.device, params: Mapping[str, Any],
              levels: Sequence[str], build: Callable[[], Workload], **timing: Any) -> Case:
    """A case with its device label and validated levels (for the family modules)."""
    level_set = frozenset(levels)
    if not level_set or not level_set <= ALL_LEVELS:
        raise ValueError(f"{benchmark}: levels {sorted(level_set)} not within {LEVELS}")
    return Case(benchmark, device_label(device), dict(params), level_set, build, **timing)

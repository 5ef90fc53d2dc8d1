"""What a tutorial run covers, decided once for the command and the pytest collector: the
devices (CPU and every CUDA device found; CUDA reported skipped, with the reason, when
torch sees none), the data set (synthetic CIFAR-10 or ``--data-root``) and the releases.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision

from blitzbench.devices import cuda_available, device_label, parse_devices
from blitzbench.results.tutorial import TutorialResults, TutorialRun
from blitzbench.tutorial.execute import DataPlan
from blitzbench.tutorial.sources import Tutorial
from blitzbench.tutorial.verdicts import run_tutorial
from blitzbench.workloads.cifar import resolve_data_source

__all__ = ["no_cuda_reason", "plan_data", "plan_devices", "tutorial_results"]


def no_cuda_reason() -> str:
    return (f"torch sees no CUDA device here (torch {torch.__version__}, CUDA build "
            f"{torch.version.cuda})")


def plan_devices(spec: str, *, strict: bool) -> tuple[list[str], list[str]]:
    """(devices to run, devices to report skipped) for a ``--device`` value."""
    devices = [device_label(d) for d in parse_devices(spec, strict=strict)]
    if not cuda_available():
        skipped = [d for d in devices if d != "cpu"]
        if (spec or "all").strip().lower() == "all" and not skipped:
            skipped = ["cuda:0"]
        return [d for d in devices if d == "cpu"], skipped
    return devices, []


def plan_data(data_root: str | Path | None) -> DataPlan:
    source = resolve_data_source(data_root)
    if data_root is not None:
        source.validate()
    return DataPlan(source.kind, str(source.root))


def tutorial_results(tutorial: Tutorial, devices: list[str], skipped: list[str],
                     data: DataPlan, timeout_s: float) -> TutorialResults:
    runs = [run_tutorial(tutorial, device, data, timeout_s) for device in devices]
    runs += [TutorialRun(str(tutorial.path), tutorial.format, device,
                         skipped=no_cuda_reason()) for device in skipped]
    return TutorialResults(tuple(runs), torch=torch.__version__,
                           torchvision=torchvision.__version__,
                           data_source=f"{data.kind} CIFAR-10 at {data.root}",
                           timeout_s=timeout_s)

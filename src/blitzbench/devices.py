"""Which devices a run covers, parsed from ``--device`` and checked against the machine."""

from __future__ import annotations

import torch

from blitzbench.errors import DeviceError
from blitzbench.results.names import DEVICE_CHOICES_HELP

__all__ = ["cuda_available", "device_label", "found_devices", "parse_devices",
           "planned_devices"]


def cuda_available() -> bool:
    """True when torch can run kernels on a CUDA device here."""
    return torch.cuda.is_available() and torch.cuda.device_count() > 0


def found_devices() -> list[torch.device]:
    """The CPU, then every CUDA device torch can see."""
    devices = [torch.device("cpu")]
    if cuda_available():
        devices += [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    return devices


def planned_devices() -> list[torch.device]:
    """What "all" means for a claim matrix: CPU and CUDA always, so that a machine without a
    GPU shows its CUDA column as skipped rather than silently leaving it out."""
    found = found_devices()
    return found if len(found) > 1 else [torch.device("cpu"), torch.device("cuda", 0)]


def device_label(device: torch.device) -> str:
    """``cpu``, ``cuda:0``: the form used in test ids, tables and file names."""
    return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"


def parse_devices(spec: str, *, strict: bool = True) -> list[torch.device]:
    """Turn a ``--device`` value into devices.

    With ``strict`` (the CLI) asking for CUDA on a machine without it is an error; without
    it (pytest) the CUDA device is returned so its cases can skip with a reason.
    """
    text = (spec or "all").strip().lower()
    if text == "all":
        return found_devices() if strict else planned_devices()
    if text == "cpu":
        return [torch.device("cpu")]
    if text == "cuda" or text.startswith("cuda:"):
        index = _cuda_index(text)
        if strict:
            _require_cuda(index, spec)
        return [torch.device("cuda", index)]
    raise DeviceError(f"unknown device {spec!r}: use {DEVICE_CHOICES_HELP}")


def _cuda_index(text: str) -> int:
    if text == "cuda":
        return 0
    suffix = text.split(":", 1)[1]
    if not suffix.isdigit():
        raise DeviceError(f"unknown device {text!r}: use {DEVICE_CHOICES_HELP}")
    return int(suffix)


def _require_cuda(index: int, spec: str) -> None:
    if not cuda_available():
        raise DeviceError(
            f"device {spec!r} asked for, but torch sees no CUDA device here "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda}): use --device cpu"
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(
            f"device {spec!r} does not exist: this machine has {count} CUDA device(s), "
            f"cuda:0..cuda:{count - 1}"
        )

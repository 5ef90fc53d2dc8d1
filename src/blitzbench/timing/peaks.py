"""Nominal peaks of known GPUs, each with the datasheet it comes from.

A figure is only judged against a peak when the device is in this table, matched by the
exact name ``torch.cuda.get_device_name`` reports. Anything else (a CPU, a GPU not listed,
a renamed SKU) is an "unknown device": blitzbench never guesses a peak.

Datasheets give bf16 Tensor Core throughput "with sparsity"; the dense figure a plain
matrix product can reach is half of it (the datasheets' own footnote). Bandwidths are
decimal: 1 TB/s = 1e12 bytes/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["PEAKS", "DevicePeak", "describe_peak", "device_name", "peak_for"]

H100_DATASHEET = ("NVIDIA H100 Tensor Core GPU datasheet, "
                  "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet")
H200_DATASHEET = ("NVIDIA H200 Tensor Core GPU specifications, "
                  "https://www.nvidia.com/en-us/data-center/h200/")
A100_DATASHEET = ("NVIDIA A100 Tensor Core GPU datasheet, https://www.nvidia.com/content/dam/"
                  "en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-"
                  "1758950-r4-web.pdf")


@dataclass(frozen=True)
class DevicePeak:
    """What the vendor states for one SKU: memory bandwidth and dense bf16 throughput."""

    name: str  # exactly as torch.cuda.get_device_name() reports it
    memory: str
    memory_gb_per_s: float
    bf16_dense_tflop_per_s: float
    source: str


PEAKS: tuple[DevicePeak, ...] = (
    DevicePeak("NVIDIA H100 80GB HBM3", "HBM3 (H100 SXM5)", 3350.0, 1979 / 2, H100_DATASHEET),
    DevicePeak("NVIDIA H100 PCIe", "HBM2e (H100 PCIe)", 2000.0, 1513 / 2, H100_DATASHEET),
    DevicePeak("NVIDIA H100 NVL", "HBM3 (H100 NVL)", 3900.0, 1671 / 2, H100_DATASHEET),
    DevicePeak("NVIDIA H200", "HBM3e (H200 SXM)", 4800.0, 1979 / 2, H200_DATASHEET),
    DevicePeak("NVIDIA H200 NVL", "HBM3e (H200 NVL)", 4800.0, 1671 / 2, H200_DATASHEET),
    DevicePeak("NVIDIA A100-SXM4-80GB", "HBM2e (A100 80GB SXM)", 2039.0, 312.0, A100_DATASHEET),
    DevicePeak("NVIDIA A100 80GB PCIe", "HBM2e (A100 80GB PCIe)", 1935.0, 312.0, A100_DATASHEET),
    DevicePeak("NVIDIA A100-SXM4-40GB", "HBM2 (A100 40GB SXM)", 1555.0, 312.0, A100_DATASHEET),
    DevicePeak("NVIDIA A100-PCIE-40GB", "HBM2 (A100 40GB PCIe)", 1555.0, 312.0, A100_DATASHEET),
)

_BY_NAME = {peak.name: peak for peak in PEAKS}


def device_name(device: torch.device | str) -> str:
    """The marketing name of a CUDA device; ``cpu`` for the CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return device.type
    return torch.cuda.get_device_name(device.index or 0)


def peak_for(device: torch.device | str) -> DevicePeak | None:
    """The table's entry for this device, or None when it is not a listed GPU."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return _BY_NAME.get(device_name(device))


def describe_peak(device: torch.device | str) -> str:
    """One line for a report: the peak and its source, or why there is none."""
    peak = peak_for(device)
    if peak is None:
        return f"unknown device: {device_name(device)} (no peak in blitzbench's table)"
    return (f"{peak.name}: {peak.memory} {peak.memory_gb_per_s / 1000:.2f} TB/s, "
            f"bf16 dense {peak.bf16_dense_tflop_per_s:.0f} TFLOP/s ({peak.source})")

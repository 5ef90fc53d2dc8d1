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

__all__ = ["LINKS", "PEAKS", "DevicePeak", "LinkPeak", "describe_link", "describe_peak",
           "device_name", "link_for", "peak_for"]

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


# --- interconnect ---------------------------------------------------------------------

NVLINK4_NOTE = "NVLink 4 (18 links), 900 GB/s bidirectional = 450 GB/s each way"
NVLINK3_NOTE = "NVLink 3 (12 links), 600 GB/s bidirectional = 300 GB/s each way"
PCIE5_NOTE = "PCIe Gen5 x16, 128 GB/s bidirectional = 64 GB/s each way"
PCIE4_NOTE = "PCIe Gen4 x16, 64 GB/s bidirectional = 32 GB/s each way"
BRIDGE_CAVEAT = ("an NVLink bridge between card pairs is not detected: with one fitted, "
                 "busbw can exceed 1.0 of this peak")


@dataclass(frozen=True)
class LinkPeak:
    """The GPU-to-GPU link of one SKU, per direction, as its datasheet gives it.

    Bus bandwidth (nccl-tests' busbw) is "comparable to the hardware peak bandwidth,
    independently of the number of ranks" (nccl-tests doc/PERFORMANCE.md), and a ring
    moves data one way per link, so the peak to hold it against is one direction: half
    the bidirectional figure datasheets print. NVLink SHARP (NVLS) reductions inside an
    NVSwitch can lift all_reduce's busbw above it; a fraction above 1.0 is then expected.
    """

    name: str  # exactly as torch.cuda.get_device_name() reports it
    link: str
    gb_per_s: float  # one direction, decimal GB/s
    source: str
    caveat: str = ""


LINKS: tuple[LinkPeak, ...] = (
    LinkPeak("NVIDIA H100 80GB HBM3", NVLINK4_NOTE, 450.0, H100_DATASHEET),
    LinkPeak("NVIDIA H200", NVLINK4_NOTE, 450.0, H200_DATASHEET),
    LinkPeak("NVIDIA H100 PCIe", PCIE5_NOTE, 64.0, H100_DATASHEET, BRIDGE_CAVEAT),
    LinkPeak("NVIDIA H100 NVL", PCIE5_NOTE, 64.0, H100_DATASHEET, BRIDGE_CAVEAT),
    LinkPeak("NVIDIA H200 NVL", PCIE5_NOTE, 64.0, H200_DATASHEET, BRIDGE_CAVEAT),
    LinkPeak("NVIDIA A100-SXM4-80GB", NVLINK3_NOTE, 300.0, A100_DATASHEET),
    LinkPeak("NVIDIA A100-SXM4-40GB", NVLINK3_NOTE, 300.0, A100_DATASHEET),
    LinkPeak("NVIDIA A100 80GB PCIe", PCIE4_NOTE, 32.0, A100_DATASHEET, BRIDGE_CAVEAT),
    LinkPeak("NVIDIA A100-PCIE-40GB", PCIE4_NOTE, 32.0, A100_DATASHEET, BRIDGE_CAVEAT),
)

_LINK_BY_NAME = {link.name: link for link in LINKS}


def link_for(gpu_name: str, world_size: int, nodes: int = 1) -> LinkPeak | None:
    """The link a job's collectives cross, when blitzbench knows its peak.

    None for one rank (nothing crosses a link), for a job across nodes (the network
    between nodes, InfiniBand or Ethernet, is not in any GPU datasheet), for the CPU
    (gloo over sockets has no nominal peak) and for a GPU not in the table.
    """
    if world_size < 2 or nodes > 1:
        return None
    return _LINK_BY_NAME.get(gpu_name)


def describe_link(gpu_name: str, world_size: int, nodes: int = 1) -> str:
    """One line: the link and its peak, or why a busbw figure has none to meet."""
    if world_size < 2:
        return "world size 1: no link is crossed, busbw is 0 by nccl-tests' formulas"
    if nodes > 1:
        return f"{nodes} nodes: the network between nodes has no peak in blitzbench's table"
    link = _LINK_BY_NAME.get(gpu_name)
    if link is None:
        return f"unknown link: {gpu_name} has no interconnect peak in blitzbench's table"
    caveat = f"; {link.caveat}" if link.caveat else ""
    return f"{link.name}: {link.link} ({link.source}){caveat}"

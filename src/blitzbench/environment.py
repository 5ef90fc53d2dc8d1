"""The environment fingerprint that every result carries: without it a figure is not
comparable with anything."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from typing import Any

import numpy
import torch
import torchvision

__all__ = ["fingerprint", "gpu_facts"]

NVIDIA_SMI_TIMEOUT_S = 10


def fingerprint() -> dict[str, Any]:
    """Software and hardware facts a reader needs to judge or compare a run."""
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_cuda_build": torch.version.cuda,
        "cudnn": _cudnn_version(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "gpus": gpu_facts(),
    }


def gpu_facts() -> list[dict[str, Any]]:
    """Name, capability, memory and driver of each CUDA device (empty without CUDA)."""
    if not torch.cuda.is_available():
        return []
    driver = _driver_version()
    facts = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        facts.append({
            "index": index,
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "memory_bytes": props.total_memory,
            "multiprocessors": props.multi_processor_count,
            "driver": driver,
        })
    return facts


def _cudnn_version() -> int | None:
    try:
        return torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    except RuntimeError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _driver_version() -> str | None:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None

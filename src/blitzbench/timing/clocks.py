"""The clocks blitzbench reads (CUDA events, the independent check, are in validation.py).

CUDA kernels run asynchronously: a host clock read right after a launch measures the
launch, not the work. Every CUDA figure is therefore taken with
:func:`cuda_synchronized_clock`, which waits for queued work before it reads the time,
at both ends of a round of many calls (so the wait costs once per round, not per call).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["Clock", "clock_for", "cuda_synchronized_clock", "host_clock", "synchronize"]

Clock = Callable[[], float]


def host_clock() -> float:
    """Monotonic wall time in seconds (``time.perf_counter``), for CPU work."""
    return time.perf_counter()


def synchronize() -> None:
    """Wait until every CUDA device this process has used is idle (no-op without CUDA)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index in range(torch.cuda.device_count()):
            torch.cuda.synchronize(index)


def cuda_synchronized_clock() -> float:
    """``perf_counter`` read after all queued CUDA work has finished."""
    synchronize()
    return time.perf_counter()


def clock_for(device: torch.device | str) -> Clock:
    """The clock that gives true times for work on ``device``."""
    return cuda_synchronized_clock if torch.device(device).type == "cuda" else host_clock

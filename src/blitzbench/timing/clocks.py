"""The clocks blitzbench reads, and CUDA events as an independent second opinion.

CUDA kernels run asynchronously: a host clock read right after a launch measures the
launch, not the work. Every CUDA figure is therefore taken with
:func:`cuda_synchronized_clock`, which waits for queued work before it reads the time,
at both ends of a round of many calls (so the wait costs once per round, not per call).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["Clock", "clock_for", "cuda_event_seconds_per_call", "cuda_synchronized_clock",
           "host_clock", "synchronize"]

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


def cuda_event_seconds_per_call(run: Callable[[], object], iterations: int,
                                device: torch.device | str) -> float:
    """Time ``iterations`` calls between two CUDA events on the current stream.

    Events are timestamped by the GPU itself, so this figure does not share any code or
    clock with the host-side timer it is used to check.
    """
    with torch.cuda.device(torch.device(device)):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iterations):
            run()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0 / iterations

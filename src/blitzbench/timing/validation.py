"""Checks of blitzbench's own timer against independent references.

On the CPU the reference is ``torch.utils.benchmark`` (its own loop, clock and
block-size logic); on CUDA it is a pair of CUDA events, timestamped by the GPU. The
suite's median must agree with the reference within :data:`AGREEMENT_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.utils.benchmark as torch_benchmark

from blitzbench.timing.clocks import cuda_event_seconds_per_call

__all__ = ["AGREEMENT_TOLERANCE", "Agreement", "cuda_events_median_s", "torch_benchmark_median_s"]

#: Issue 3: the suite's figure for a known workload agrees with the reference within 10%.
AGREEMENT_TOLERANCE = 0.10
CUDA_EVENT_ROUNDS = 11


@dataclass(frozen=True)
class Agreement:
    """The suite's median against a reference median, and whether they agree."""

    suite_s: float
    reference_s: float
    tolerance: float = AGREEMENT_TOLERANCE

    @property
    def ratio(self) -> float:
        return self.suite_s / self.reference_s

    @property
    def agrees(self) -> bool:
        return abs(self.ratio - 1.0) <= self.tolerance

    def describe(self) -> str:
        return (f"suite {self.suite_s * 1e6:.2f} us vs reference {self.reference_s * 1e6:.2f} us "
                f"(ratio {self.ratio:.3f}, tolerance {self.tolerance:.0%})")


def torch_benchmark_median_s(stmt: str, global_vars: dict[str, Any],
                             min_run_time: float) -> float:
    """Median per-call time from ``torch.utils.benchmark.Timer.blocked_autorange``, with
    the current torch thread count (its default of one thread would differ from ours)."""
    timer = torch_benchmark.Timer(stmt, globals=global_vars,
                                  num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def cuda_events_median_s(run: Callable[[], object], calls: int,
                         device: torch.device | str) -> float:
    """Median over rounds of CUDA-event time per call."""
    times = sorted(cuda_event_seconds_per_call(run, calls, device)
                   for _ in range(CUDA_EVENT_ROUNDS))
    return times[len(times) // 2]

"""GPU health around a run, DCGM-style (machine/nvml.py reads, acceptance/gpu_health.py
judges): NVML readings before and after the run, and background samples of clock event
reasons, clocks, power and temperature while the benchmarks (the heaviest cases: the
2^28 add, the bf16 matmul) and, at the full level, a sustained stress run.

The sustained stress is the bf16 matmul run back to back for :data:`STRESS_S` seconds,
its throughput taken in windows of :data:`STRESS_WINDOW_S`: a GPU that holds its clocks
ends within the band of where it began (acceptance/health_rules.py); one that throttles
as it heats does not, and the samples say why.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

from blitzbench.machine.nvml import GpuSampler, Nvml
from blitzbench.results.machine import GpuHealthRecord
from blitzbench.results.stress import StressRecord

__all__ = ["STRESS_N", "STRESS_S", "STRESS_WINDOW_S", "GpuWatch", "stress_all",
           "sustained_stress", "watching_gpus"]

#: Minutes of load, as DCGM's targeted stress runs (dcgmi diag -r 3 holds each test for
#: about 2 minutes): long enough for a GPU to reach its thermal steady state.
STRESS_S = 120.0
STRESS_WINDOW_S = 5.0
#: The matmul the bf16 rule times (tensor_ops.matmul[dtype=bfloat16,n=8192]).
STRESS_N = 8192


@dataclass
class GpuWatch:
    """What the watch saw; ``record()`` once the run has ended."""

    nvml: Nvml | None
    before: tuple = ()
    after: tuple = ()
    sampler: GpuSampler | None = None
    unavailable: str = ""
    stress: list[StressRecord] = field(default_factory=list)

    def record(self) -> GpuHealthRecord:
        samples = tuple(self.sampler.samples()) if self.sampler is not None else ()
        return GpuHealthRecord(self.before, self.after, samples, self.unavailable)


@contextlib.contextmanager
def watching_gpus(devices: Sequence[torch.device]) -> Iterator[GpuWatch | None]:
    """Readings before and after, samples in between, for a run with a CUDA device (None
    for a CPU-only run: there is no GPU to judge)."""
    if not any(device.type == "cuda" for device in devices):
        yield None
        return
    nvml = Nvml().open()
    watch = GpuWatch(nvml, unavailable=nvml.reason)
    try:
        if nvml.available:
            watch.before = nvml.read_all()
            watch.sampler = GpuSampler(nvml).start()
        yield watch
    finally:
        if watch.sampler is not None:
            watch.sampler.stop()
        if nvml.available:
            watch.after = nvml.read_all()
        nvml.close()


def sustained_stress(device: torch.device, seconds: float = STRESS_S,
                     window_s: float = STRESS_WINDOW_S, n: int = STRESS_N) -> StressRecord:
    """The bf16 matmul back to back on ``device`` for ``seconds``: TFLOP/s per window
    (each window ends with a synchronize, so the figure is of finished work)."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    flop = 2.0 * n ** 3
    windows: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.cuda.synchronize(device)
        window_start, calls = time.perf_counter(), 0
        while time.perf_counter() - window_start < window_s:
            torch.matmul(a, b)
            calls += 1
            if calls % 16 == 0:
                torch.cuda.synchronize(device)  # read the clock on finished work
        torch.cuda.synchronize(device)
        windows.append(calls * flop / (time.perf_counter() - window_start) / 1e12)
    return StressRecord(str(device), n, window_s, tuple(windows))


def stress_all(devices: Sequence[torch.device]) -> tuple[StressRecord, ...]:
    """Every GPU's sustained stress at once (a thread each: the kernels run without the
    GIL), so a node of eight takes the two minutes of one."""
    from concurrent.futures import ThreadPoolExecutor

    if not devices:
        return ()
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        return tuple(pool.map(sustained_stress, devices))

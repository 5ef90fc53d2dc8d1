"""Figures computed from several measurements, computed once for every reader.

- :func:`cuda_speedups`: CUDA over CPU images/s of the same case (same benchmark and
  parameters), for every CUDA device; the acceptance metrics, the pytest summary and the
  report's plot all take it from here.
- :func:`loader_scalings`: a DataLoader's images/s at its best worker count over its
  images/s at one worker, per device and batch size. When one worker is the best, the
  figure compares one worker with itself and judges nothing: it says so instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from blitzbench.results.names import BATCH_PARAM, LOADER, RATE_FIELD, WORKERS_PARAM
from blitzbench.results.records import Measurement

__all__ = ["LoaderScaling", "Speedup", "best_worker_counts", "cuda_speedups",
           "loader_scalings"]


@dataclass(frozen=True)
class Speedup:
    """One case measured on the CPU and on a CUDA device."""

    cuda: Measurement
    cpu: Measurement

    @property
    def device(self) -> str:
        return self.cuda.device

    @property
    def ratio(self) -> float:
        """CUDA images/s over CPU images/s (above 1: the GPU is faster)."""
        return _rate(self.cuda) / _rate(self.cpu)

    @property
    def noisy(self) -> bool:
        return self.cuda.noisy or self.cpu.noisy

    @property
    def rel_spread(self) -> float:
        """IQR/median of the ratio, to first order: the two spreads add."""
        return self.cuda.rel_spread + self.cpu.rel_spread


def cuda_speedups(measurements: Iterable[Measurement]) -> list[Speedup]:
    """Every case with an images/s figure on the CPU and on some CUDA device."""
    rated = [m for m in measurements if m.figure(RATE_FIELD)]
    cpu = {m.prefix: m for m in rated if m.device == "cpu"}
    return [Speedup(m, cpu[m.prefix]) for m in rated
            if m.device.startswith("cuda") and m.prefix in cpu]


@dataclass(frozen=True)
class LoaderScaling:
    """A DataLoader's best worker count against one worker, on one device and batch."""

    device: str
    batch_size: int
    best_workers: int
    best: Measurement
    one: Measurement

    @property
    def speedup(self) -> float:
        return _rate(self.best) / _rate(self.one)

    @property
    def efficiency(self) -> float:
        """Speed-up per worker: 1.0 is perfect scaling."""
        return self.speedup / self.best_workers

    @property
    def judgeable(self) -> bool:
        """With one worker the best, the figure is one worker over itself: always 1."""
        return self.best_workers > 1

    @property
    def noisy(self) -> bool:
        return self.best.noisy or self.one.noisy

    @property
    def rel_spread(self) -> float:
        return self.best.rel_spread + self.one.rel_spread


def loader_scalings(measurements: Iterable[Measurement]) -> list[LoaderScaling]:
    """One per (device, batch size) whose sweep includes one worker."""
    groups: dict[tuple[str, int], dict[int, Measurement]] = {}
    for m in measurements:
        workers, batch = m.params.get(WORKERS_PARAM), m.params.get(BATCH_PARAM)
        if m.benchmark == LOADER and isinstance(workers, int) and isinstance(batch, int) \
                and m.figure(RATE_FIELD):
            groups.setdefault((m.device, batch), {})[workers] = m
    found = []
    for (device, batch), by_workers in groups.items():
        if 1 not in by_workers:
            continue
        best = max((w for w in by_workers if w >= 1), key=lambda w: _rate(by_workers[w]))
        found.append(LoaderScaling(device, batch, best, by_workers[best], by_workers[1]))
    return found


def best_worker_counts(measurements: Sequence[Measurement]) -> dict[str, dict[int, int]]:
    """Device -> batch size -> the worker count with the highest images/s."""
    best: dict[str, dict[int, tuple[float, int]]] = {}
    for m in measurements:
        rate, batch = m.figure(RATE_FIELD), m.params.get(BATCH_PARAM)
        if m.benchmark != LOADER or not rate or not isinstance(batch, int):
            continue
        mine = best.setdefault(m.device, {})
        if batch not in mine or rate > mine[batch][0]:
            mine[batch] = (rate, int(m.params[WORKERS_PARAM]))
    return {device: {b: w for b, (_, w) in sorted(by.items())} for device, by in best.items()}


def _rate(m: Measurement) -> float:
    return m.figure(RATE_FIELD) or 0.0

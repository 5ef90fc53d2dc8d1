"""Figures computed from several measurements, computed once for every reader.

- :func:`cuda_speedups`: CUDA over CPU images/s of the same case (same benchmark and
  parameters), for every CUDA device; the acceptance metrics, the pytest summary and the
  report's plot all take it from here.
- :func:`loader_scalings`: a DataLoader's images/s at its best worker count over its
  images/s at one worker, per device and batch size. When one worker is the best, the
  figure compares one worker with itself and judges nothing: it says so instead.
- :func:`loader_worker_shares`: the steady-state DataLoader's images/s (workers already
  running) with one worker over its in-process (0 workers) images/s, per device and batch
  size. One worker does the in-process work plus the hand-over, so the figure means the
  same on any core count, 1 included, and at any level's sweep: a healthy worker delivers
  most of the in-process rate, one starved of CPU, IPC or shared memory does not. The
  best worker count's steady rate is kept beside it.
- :func:`loader_pass_findings`: per pass (workers started each time, as the tutorial's
  loop does), whether 0 workers or some worker count was fastest, by how much, and what
  the first batch cost: the finding a report states in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from blitzbench.results.names import (
    BATCH_PARAM,
    FIRST_BATCH_FIELD,
    LOADER,
    LOADER_STEADY,
    RATE_FIELD,
    WORKERS_PARAM,
)
from blitzbench.results.records import Measurement

__all__ = ["LoaderPassFinding", "LoaderScaling", "LoaderWorkerShare", "Speedup",
           "best_worker_counts", "cuda_speedups", "loader_pass_findings", "loader_scalings",
           "loader_worker_shares"]


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
    found = []
    for (device, batch), by_workers in _loader_groups(measurements, LOADER).items():
        if 1 not in by_workers:
            continue
        best = max((w for w in by_workers if w >= 1), key=lambda w: _rate(by_workers[w]))
        found.append(LoaderScaling(device, batch, best, by_workers[best], by_workers[1]))
    return found


@dataclass(frozen=True)
class LoaderWorkerShare:
    """The steady-state DataLoader with one worker against 0 workers, and its best worker
    count beside them."""

    device: str
    batch_size: int
    one: Measurement
    in_process: Measurement
    best_workers: int
    best: Measurement

    @property
    def share(self) -> float:
        """One worker's images/s over the in-process images/s (1.0: as fast)."""
        return _rate(self.one) / _rate(self.in_process)

    @property
    def noisy(self) -> bool:
        return self.one.noisy or self.in_process.noisy

    @property
    def rel_spread(self) -> float:
        return self.one.rel_spread + self.in_process.rel_spread

    def sentence(self) -> str:
        best = "" if self.best_workers == 1 else (
            f"; the best, {_workers(self.best_workers)}, drew {_fmt(_rate(self.best))} "
            f"({_rate(self.best) / _rate(self.in_process):.2f}x in-process)")
        return (f"in steady state (workers already running, batch {self.batch_size}) one "
                f"worker drew {_fmt(_rate(self.one))} images/s, {self.share:.2f} of the "
                f"{_fmt(_rate(self.in_process))} images/s in-process{best}")


def loader_worker_shares(measurements: Iterable[Measurement]) -> list[LoaderWorkerShare]:
    """One per (device, batch size) whose steady sweep has 0 workers and 1."""
    found = []
    for device, batch, best, by_workers in _against_in_process(measurements, LOADER_STEADY):
        if 1 in by_workers:
            found.append(LoaderWorkerShare(device, batch, by_workers[1], by_workers[0], best,
                                           by_workers[best]))
    return found


@dataclass(frozen=True)
class LoaderPassFinding:
    """Per pass (a fresh loader, workers started each time): 0 workers against the best
    worker count, and what each paid before its first batch."""

    device: str
    batch_size: int
    best_workers: int
    best: Measurement
    in_process: Measurement

    @property
    def in_process_fastest(self) -> bool:
        return _rate(self.in_process) > _rate(self.best)

    @property
    def ratio(self) -> float:
        """The faster of the two over the slower (at least 1)."""
        low, high = sorted((_rate(self.in_process), _rate(self.best)))
        return high / low

    def sentence(self) -> str:
        images = self.best.params.get("images")
        per = f"a {images:,}-image pass" if isinstance(images, int) else "a pass"
        in_process, best = _fmt(_rate(self.in_process)), _fmt(_rate(self.best))
        workers = _workers(self.best_workers)
        if self.in_process_fastest:
            head = (f"0 workers was {self.ratio:.1f}x faster than any worker count at batch "
                    f"{self.batch_size} ({in_process} images/s vs {best} with {workers}, "
                    f"the best of them)")
        else:
            head = (f"{workers} was {self.ratio:.1f}x faster than 0 workers at batch "
                    f"{self.batch_size} ({best} images/s vs {in_process} in-process)")
        return f"{head}{self._start_up(per)}"

    def _start_up(self, per: str) -> str:
        first, base = (m.figure(FIRST_BATCH_FIELD) for m in (self.best, self.in_process))
        if first is None or base is None:
            return ""
        return (f": starting {_workers(self.best_workers)} costs "
                f"{1000 * max(0.0, first - base):.0f} ms before the first batch of {per} "
                f"({1000 * first:.0f} ms vs {1000 * base:.0f} ms in-process)")


def loader_pass_findings(measurements: Iterable[Measurement]) -> list[LoaderPassFinding]:
    """One per (device, batch size) whose per-pass sweep has 0 workers and at least one."""
    return [LoaderPassFinding(device, batch, best, by_workers[best], by_workers[0])
            for device, batch, best, by_workers in _against_in_process(measurements, LOADER)]


def _against_in_process(measurements: Iterable[Measurement], benchmark: str
                        ) -> Iterator[tuple[str, int, int, dict[int, Measurement]]]:
    """(device, batch size, best worker count, records by worker count) for every group
    of ``benchmark`` that measured 0 workers and at least one."""
    for (device, batch), by_workers in _loader_groups(measurements, benchmark).items():
        workers = [w for w in by_workers if w >= 1]
        if 0 in by_workers and workers:
            yield device, batch, max(workers, key=lambda w: _rate(by_workers[w])), by_workers


def _loader_groups(measurements: Iterable[Measurement], benchmark: str
                   ) -> dict[tuple[str, int], dict[int, Measurement]]:
    """(device, batch size) -> worker count -> the record with an images/s figure."""
    groups: dict[tuple[str, int], dict[int, Measurement]] = {}
    for m in measurements:
        workers, batch = m.params.get(WORKERS_PARAM), m.params.get(BATCH_PARAM)
        if m.benchmark == benchmark and isinstance(workers, int) and isinstance(batch, int) \
                and m.figure(RATE_FIELD):
            groups.setdefault((m.device, batch), {})[workers] = m
    return groups


def _workers(count: int) -> str:
    return f"{count} worker{'s' if count != 1 else ''}"


def _fmt(rate: float) -> str:
    return f"{rate:,.0f}"


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

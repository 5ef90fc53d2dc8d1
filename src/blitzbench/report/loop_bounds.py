"""What bounds the tutorial's training loop: its DataLoader, its step, or neither.

A run measures the loop (``training_loop.epoch_slice``) and, separately, its two parts at
the same batch size, worker count and device: the DataLoader alone (``loading.dataloader``)
and the eager LeNet step alone (``lenet.train_step``). From the parts follow two bounds on
the loop's images/s:

- overlapped, ``min(loader, step)``: workers prepare the next batch while the step runs,
  so the slower part sets the pace;
- serial, ``1 / (1/loader + 1/step)``: the parts take turns.

A loop near the overlapped bound is bound by its slower part (a faster GPU will not help a
loader-bound loop); one near the serial bound is not overlapping; one well below the serial
bound loses time to something neither part shows alone, such as the main process's
intra-op threads and the worker processes competing for the same cores.

A loop well *above* its overlapped bound cannot be: no loop outruns its slower part. The
parts were then measured under other conditions than the loop (a neighbour busy while
one of them ran, a noisy figure), and the row says so rather than naming a bound: on the
2-core VM a loop measured at 1.96x its own overlapped bound was called "step-bound (the
parts overlap)" before this check (issue "a newcomer's first hour").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import fmt_number
from blitzbench.results.names import (
    BATCH_PARAM,
    EAGER,
    LENET_STEP,
    LOADER,
    LOOP,
    RATE_FIELD,
    THREADS_PARAM,
    VARIANT_PARAM,
    WORKERS_PARAM,
)
from blitzbench.results.records import Measurement

__all__ = ["NEAR_BOUND_FRACTION", "LoopBound", "loop_bound_blocks", "loop_bounds"]

#: A loop within 10% of a bound is "at" it: the noise threshold blitzbench flags figures at.
NEAR_BOUND_FRACTION = 0.9
HEADER = ("device", "batch", "workers", "loop", "loader alone", "step alone",
          "overlapped bound", "serial bound", "loop / overlapped", "what bounds it",
          "loop, 1 thread")


@dataclass(frozen=True)
class LoopBound:
    """One measured loop beside its parts, all in images/s."""

    device: str
    batch_size: int
    num_workers: int
    loop_rate: float
    loader_rate: float
    step_rate: float
    single_thread_rate: float | None = None
    noisy: bool = False  # some figure behind it has IQR/median above the noise threshold

    @property
    def overlapped_bound(self) -> float:
        return min(self.loader_rate, self.step_rate)

    @property
    def serial_bound(self) -> float:
        return 1.0 / (1.0 / self.loader_rate + 1.0 / self.step_rate)

    @property
    def slower_part(self) -> str:
        return "loader" if self.loader_rate < self.step_rate else "step"

    @property
    def above_bound(self) -> bool:
        """Faster than its slower part allows: the parts' figures do not describe the loop."""
        return self.loop_rate > self.overlapped_bound / NEAR_BOUND_FRACTION

    @property
    def diagnosis(self) -> str:
        if self.above_bound:
            return (f"not diagnosed: the loop ran at {self.loop_rate / self.overlapped_bound:.2f}x "
                    f"its overlapped bound, faster than its {self.slower_part} alone: the "
                    f"parts were measured under other conditions (busy machine, noise)")
        if self.loop_rate >= NEAR_BOUND_FRACTION * self.overlapped_bound:
            return f"{self.slower_part}-bound (the parts overlap)"
        if self.loop_rate >= self.serial_bound / NEAR_BOUND_FRACTION:
            return f"partly overlapped (the {self.slower_part} is the slower part)"
        if self.loop_rate >= NEAR_BOUND_FRACTION * self.serial_bound:
            return "serial (loader and step take turns)"
        return "contention: slower than loader and step one after the other"

    @property
    def contended(self) -> bool:
        return self.loop_rate < NEAR_BOUND_FRACTION * self.serial_bound


def loop_bounds(rows: Sequence[Measurement]) -> list[LoopBound]:
    """Every measured loop whose loader and step were measured in the same run."""
    found = []
    for loop in (r for r in rows if r.benchmark == LOOP and r.ok
                 and THREADS_PARAM not in r.params):
        shared = {BATCH_PARAM: loop.params.get(BATCH_PARAM),
                  WORKERS_PARAM: loop.params.get(WORKERS_PARAM)}
        loader = _find(rows, LOADER, loop.site, shared)
        step = _find(rows, LENET_STEP, loop.site,
                     {BATCH_PARAM: shared[BATCH_PARAM], VARIANT_PARAM: EAGER})
        single = _find(rows, LOOP, loop.site, {**shared, THREADS_PARAM: 1})
        rates = [r.figure(RATE_FIELD) if r else None for r in (loop, loader, step)]
        if all(rates):
            noisy = any(r.noisy for r in (loop, loader, step, single) if r)
            found.append(LoopBound(loop.site, int(shared[BATCH_PARAM]),
                                   int(shared[WORKERS_PARAM]), *rates,
                                   single.figure(RATE_FIELD) if single else None, noisy))
    return found


def _find(rows: Sequence[Measurement], benchmark: str, site: str,
          params: Mapping[str, Any]) -> Measurement | None:
    """The record on the same device (and rank, in a torchrun job's folder)."""
    return next((row for row in rows
                 if row.benchmark == benchmark and row.site == site and row.ok
                 and all(row.params.get(k) == v for k, v in params.items())), None)


def loop_bound_blocks(rows: Sequence[Measurement]) -> list[Block]:
    bounds = loop_bounds(rows)
    if not bounds:
        return []
    contended = [b for b in bounds if b.contended]
    summary = ("The loop is measured whole and in parts (its DataLoader alone, its step "
               "alone) at the same batch size, workers and device.")
    above = [b for b in bounds if b.above_bound]
    if above:
        summary += (f" {len(above)} of {len(bounds)} loops ran faster than their slower part "
                    f"alone, which no loop can: their parts were measured under other "
                    f"conditions, so no bound is named for them.")
    if contended:
        summary += (f" {len(contended)} of {len(bounds)} loops run slower than their parts "
                    f"one after the other: look for cores shared by intra-op threads and "
                    f"DataLoader workers (torch.set_num_threads, fewer workers; the last "
                    f"column is the loop with one intra-op thread, where measured).")
    table_rows = tuple(_cells(b) for b in bounds)
    return [Heading(2, "What bounds the training loop", "loop-bounds"),
            Paragraph(summary, "warn" if contended or above else ""),
            Table(HEADER, table_rows, frozenset({*range(1, 9), 10}), caption="images/s")]


def _cells(bound: LoopBound) -> tuple[Cell, ...]:
    return (Cell(bound.device), Cell(str(bound.batch_size)), Cell(str(bound.num_workers)),
            Cell(fmt_number(bound.loop_rate)), Cell(fmt_number(bound.loader_rate)),
            Cell(fmt_number(bound.step_rate)), Cell(fmt_number(bound.overlapped_bound)),
            Cell(fmt_number(bound.serial_bound)),
            Cell(f"{bound.loop_rate / bound.overlapped_bound:.2f}"),
            Cell(bound.diagnosis + (" (noisy figures: read with care)" if bound.noisy else ""),
                 "bad" if bound.contended else "warn" if bound.noisy or bound.above_bound
                 else ""),
            Cell(fmt_number(bound.single_thread_rate)))

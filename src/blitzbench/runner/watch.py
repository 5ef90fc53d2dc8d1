"""The machine around a run: a pre-flight window before it measures, and the window of
each case it measures (machine/ senses, results/machine.py judges).

The watch samples only between measurements (``MachineMonitor.start(background=False)``):
a sampling thread in the measuring process would hold the GIL for its sweep of the
process table in the middle of a timed round. The kernel's counters still give the
exact CPU the others used over any window; only processes that start and end inside one
case go unnamed.

Under torchrun the tree counted as "ours" is rooted at the rank's torchrun agent (its
parent), so ranks sharing a host are not each other's busy neighbours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from blitzbench.machine.monitor import MachineMonitor
from blitzbench.machine.preflight import PREFLIGHT_WINDOW_S, SETTLE_LIMIT_S, preflight
from blitzbench.results.machine import Preflight

if TYPE_CHECKING:
    from blitzbench.results.records import Measurement

__all__ = ["PREFLIGHT_WINDOW_S", "check_machine", "host_threads", "noise_notes", "watching"]

#: torchrun's count of the ranks on this host (torch.distributed.elastic sets it).
LOCAL_WORLD_SIZE_ENV = "LOCAL_WORLD_SIZE"


def host_threads(threads: int) -> int:
    """The compute threads this run keeps busy on this host: ``threads`` for each rank of
    a torchrun job on it, as the pre-flight counts them. A rank's own threads alone would
    leave the other ranks' cores "free" for a neighbour: on the 2-core VM a busy loop
    beside a two-rank job passed the pre-flight (each rank's one thread left one core
    free) while the DDP step it slowed read 0.43 of linear and FAILED (2026-12-07). The
    other ranks are ours (the tree counted as ours is rooted at the agent), so their cores
    are not free either. The cases' own windows keep the rank's threads: they last
    milliseconds, and with no core free the kernel's unnamed work in them (0.4 of a core
    in a 5x3 op's repeat) made a quiet two-rank job INCONCLUSIVE on 16 of 98 cases."""
    try:
        ranks = int(os.environ.get(LOCAL_WORLD_SIZE_ENV, "1"))
    except ValueError:
        ranks = 1
    return threads * max(1, ranks)


@contextlib.contextmanager
def watching(*, in_job: bool = False) -> Iterator[MachineMonitor]:
    """A monitor for the run's life, sampling only when asked; stopped on the way out."""
    monitor = MachineMonitor(root_pid=os.getppid() if in_job else None)
    monitor.start(background=False)
    try:
        yield monitor
    finally:
        monitor.stop()


def check_machine(monitor: MachineMonitor, *, threads: int, force: bool,
                  gpu_devices: Sequence[int] = (),
                  window_s: float = PREFLIGHT_WINDOW_S, settle_s: float = SETTLE_LIMIT_S,
                  waiting: Callable[[str], None] | None = None) -> Preflight:
    """The pre-flight window (longer while only a lagging load average says busy;
    ``waiting`` is told why); ``forced`` when the machine was busy and ``--force`` asks
    to measure anyway."""
    found = preflight(window_s, torch_threads=host_threads(threads),
                      gpu_devices=list(gpu_devices) or None, monitor=monitor,
                      settle_s=settle_s, waiting=waiting)
    return dataclasses.replace(found, forced=force and found.busy)


def noise_notes(measurements: Sequence[Measurement], preflight_found: Preflight | None
                ) -> list[str]:
    """What a reader must know before trusting the figures: how many were noisy, and
    whether the machine was busy before or during the run (one line each)."""
    measured = [m for m in measurements if m.ok]
    notes = []
    if preflight_found is not None and preflight_found.busy:
        what = "measured anyway (--force)" if preflight_found.forced else \
            "performance figures were not measured"
        notes.append(f"the machine was busy before the run ({preflight_found.reason}): "
                     f"{what}")
    busy = [m for m in measured if m.busy_reason()]
    if busy:
        notes.append(f"the machine was busy while {len(busy)} of {len(measured)} cases were "
                     f"measured (first: {busy[0].prefix} on {busy[0].device}: "
                     f"{busy[0].busy_reason()})")
    noisy = [m for m in measured if m.noisy]
    if measured:
        notes.append(f"{len(noisy)} of {len(measured)} figures noisy (IQR above 10% of the "
                     f"median)" + ("" if busy or not noisy else
                                   "; the machine was not busy: the case varies by itself"))
    return notes

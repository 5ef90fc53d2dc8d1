"""A background watch over the machine for the length of a run, from which each benchmark
case gets the :class:`~blitzbench.results.machine.MachineState` of its own window.

Every :data:`SAMPLE_INTERVAL_S` a daemon thread takes one sample: the kernel's CPU
counters (steal included), the load average, one sweep of every process's CPU time split
into this process tree and the others (machine/load.py), and the compute processes on
each GPU when NVML is there. A sample keeps the others' CPU *since the previous sample*,
only for the busiest few (:data:`KEPT_PER_SAMPLE`), so memory stays bounded. The state of a
window [start, end] is read from the two samples that bound it; :meth:`MachineMonitor.mark`
and :meth:`MachineMonitor.state` take a sample on the spot, so a case that marks its start
and asks for its state at its end is bounded exactly, however short it is.

Times are ``time.monotonic()`` seconds, the clock ``time.perf_counter()`` also reads on
Linux (both CLOCK_MONOTONIC), so a case can pass the times its timing loop took.

The thread stops at :meth:`MachineMonitor.stop` (or the end of a ``with`` block), within
one sampling interval, and never outlives it: Ctrl-C reaches only the main thread, whose
``finally``/``__exit__`` stops it. Its own CPU is counted (:attr:`MachineMonitor.cpu_s`),
so its overhead is a measured figure, not a guess.
"""

from __future__ import annotations

import bisect
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

from blitzbench.machine.load import CpuCounters, ProcessSweep, cpu_counters, load1
from blitzbench.machine.nvml import Nvml
from blitzbench.results.machine import BusyProcess, GpuProcess, MachineState

__all__ = ["KEPT_PER_SAMPLE", "MAX_NAMED", "MAX_SAMPLES", "NAMED_MIN_CORES",
           "SAMPLE_INTERVAL_S", "MachineMonitor"]

#: One sample every half second: a neighbour that runs for a second is seen. The
#: monitor's own CPU at this interval measured 1.5%, 1.6% and 1.7% of one core over
#: runs of 207 s, 313 s and 302 s on this VM with 120-160 processes (2026-12-07,
#: MachineMonitor.overhead_cores).
SAMPLE_INTERVAL_S = 0.5
#: The shortest window the others' CPU is judged over. The kernel counts CPU time in
#: ticks of 10 ms (USER_HZ 100), the machine's in /proc/stat and ours in /proc/PID/stat,
#: so "the machine's busy time less ours" is off by up to a tick per core at each end:
#: over a window of 40 ms on 2 cores that is 2 x 2 x 10 ms / 40 ms = 1 core, which put a
#: 5x3 tensor op's repeats (tens of ms each) at 0.3-0.7 cores of unnamed "others" on a
#: quiet machine (2026-12-06). Over 0.5 s it is 0.08 cores, a third of
#: OTHERS_TOLERATED_CORES: a shorter window is judged from an earlier sample on (the
#: run's own work before it, which counts as ours).
MIN_WINDOW_S = 0.5
#: Samples kept: two hours at the interval above; older ones are dropped (a case asks
#: for its state when it ends, so only a case longer than that would lose its start).
MAX_SAMPLES = 14_400
#: A process is named among the busy ones from this share of a core in the window (a
#: shell or a daemon waking up stays below it on an idle machine).
NAMED_MIN_CORES = 0.05
#: Named at most: on this VM at a load average of 5-7 (other engineers' test runs), a
#: Python busy loop beside us ranked 3rd to 5th among the others' processes, and once
#: below 5th (2026-12-07, 5 s windows).
MAX_NAMED = 8
#: The others kept per sample, busiest first: bounds the memory of a long run on a busy
#: machine (MAX_SAMPLES samples of 8 (pid, seconds) pairs measured 14.5 MB with
#: tracemalloc; an idle machine keeps one or two a sample). A process busy enough to be
#: named in a window is among the busiest of most of its samples.
KEPT_PER_SAMPLE = MAX_NAMED


@dataclass(frozen=True)
class _Sample:
    mono: float
    wall: float
    counters: CpuCounters
    load1: float | None
    own_cpu_s: float
    others: tuple[tuple[int, float], ...]  # (pid, CPU seconds since the previous sample)
    gpu: tuple[GpuProcess, ...]


class MachineMonitor:
    """Samples the machine in the background; :meth:`state` of any window of the run.

    ``root_pid`` roots the process tree counted as ours (this process by default; a
    torchrun rank passes its agent's pid so the ranks on one host are not each other's
    neighbours). ``nvml`` is an opened :class:`~blitzbench.machine.nvml.Nvml` to list the
    GPU processes with; None opens one of the monitor's own for its lifetime.
    """

    def __init__(self, interval_s: float = SAMPLE_INTERVAL_S, *,
                 root_pid: int | None = None, nvml: Nvml | None = None,
                 max_samples: int = MAX_SAMPLES) -> None:
        self.interval_s, self.max_samples = interval_s, max_samples
        self._sweep = ProcessSweep(root_pid)
        self._nvml, self._owns_nvml = nvml, nvml is None
        self._samples: list[_Sample] = []
        self._names: dict[int, str] = {}  # pid -> name of the others kept
        self._monos: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cpu_s = 0.0  # CPU the sampling itself used, all threads
        self.started: float | None = None
        self.error = ""  # the last sampling error, if the machine refused one

    # --- life ------------------------------------------------------------------------------

    def __enter__(self) -> MachineMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, background: bool = True) -> MachineMonitor:
        """Open NVML (if the monitor owns it), take the first sample, start the thread.

        ``background`` False: no thread; samples only at :meth:`mark` and :meth:`state`,
        i.e. between a case's rounds, never during them. A sampling thread in the process
        that measures holds the GIL for a sweep (5 ms for 85 processes here), long beside
        a 2 ms round; the aggregate CPU of the others stays exact (the kernel's counters),
        only processes that start and end inside a window go unnamed."""
        if self._nvml is None:
            self._nvml = Nvml().open()
        self.started = time.monotonic()
        self.mark()
        if background:
            self._thread = threading.Thread(target=self._run,
                                            name="blitzbench-machine-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (within one interval) and close NVML if the monitor opened it."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 10.0)
        if self._owns_nvml and self._nvml is not None:
            self._nvml.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def overhead_cores(self) -> float:
        """The monitor's own CPU over its life so far, in cores (0.01 = 1% of one core)."""
        elapsed = time.monotonic() - self.started if self.started is not None else 0.0
        return self.cpu_s / elapsed if elapsed > 0 else 0.0

    # --- sampling --------------------------------------------------------------------------

    def mark(self) -> float:
        """Take a sample now; its time, to pass to :meth:`state` as a window's start."""
        return self._take().mono

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._take()
            except Exception as exc:  # a refused read must not end the watch
                self.error = f"{type(exc).__name__}: {exc}"[:300]

    def _take(self) -> _Sample:
        used = time.thread_time()
        with self._lock:
            sweep = self._sweep.sweep()
            busiest = sorted(sweep.others.items(), key=lambda item: -item[1][1])
            kept = busiest[:KEPT_PER_SAMPLE]
            self._names.update((pid, sys.intern(name)) for pid, (name, _) in kept)
            sample = _Sample(time.monotonic(), time.time(), cpu_counters(), load1(),
                             sweep.own_cpu_s, tuple((pid, cpu) for pid, (_, cpu) in kept),
                             self._gpu_others(sweep.tree))
            self._samples.append(sample)
            self._monos.append(sample.mono)
            if len(self._samples) > self.max_samples + self.max_samples // 10:
                del self._samples[:-self.max_samples], self._monos[:-self.max_samples]
            self.cpu_s += time.thread_time() - used
        return sample

    def _gpu_others(self, tree: frozenset[int]) -> tuple[GpuProcess, ...]:
        if self._nvml is None or not self._nvml.available:
            return ()
        return tuple(GpuProcess(device, pid, _name(pid), memory)
                     for device, pid, memory in self._nvml.processes() if pid not in tree)

    # --- windows ---------------------------------------------------------------------------

    def state(self, start: float, end: float | None = None, *,
              torch_threads: int | None = None) -> MachineState:
        """The machine during [start, end] (monotonic seconds; ``end`` None: now).

        A sample is taken now when ``end`` is later than the last one, so the window's
        end is never guessed. The state covers the samples that bound the window: from
        the last at or before ``start`` to the first at or after ``end``.
        """
        if end is None or not self._monos or end > self._monos[-1] or len(self._monos) < 2:
            self._take()
        with self._lock:
            first, last = self._bounds(start, time.monotonic() if end is None else end)
            window = self._samples[first:last + 1]
            names = {pid: self._names.get(pid, "") for s in window for pid, _ in s.others}
        return _state(window, names, torch_threads, self._gpu_source())

    def _bounds(self, start: float, end: float) -> tuple[int, int]:
        first = max(0, bisect.bisect_right(self._monos, start) - 1)
        last = min(len(self._monos) - 1, bisect.bisect_left(self._monos, end))
        if last <= first:  # a window inside one interval: widen it to one interval
            first, last = (first, first + 1) if first + 1 < len(self._monos) else \
                (first - 1, first)
        # a window too short for the kernel's tick-counted CPU times starts earlier
        while first > 0 and self._monos[last] - self._monos[first] < MIN_WINDOW_S:
            first -= 1
        return first, last

    def _gpu_source(self) -> tuple[str, str]:
        if self._nvml is not None and self._nvml.available:
            return "nvml", ""
        return "none", self._nvml.reason if self._nvml is not None else "not watched"


def _state(window: list[_Sample], names: Mapping[int, str], torch_threads: int | None,
           gpu: tuple[str, str]) -> MachineState:
    """The state over consecutive samples (at least two)."""
    head, tail = window[0], window[-1]
    steal, busy_s, total_s = head.counters.fractions(tail.counters)
    own_s = max(0.0, tail.own_cpu_s - head.own_cpu_s)
    wall = max(tail.wall - head.wall, 1e-9)
    return MachineState(
        start_s=head.wall, end_s=tail.wall, cores=psutil.cpu_count() or 1,
        samples=len(window), load1_start=head.load1, load1_end=tail.load1,
        steal_fraction=steal,
        others_cpu_fraction=_fraction(busy_s - own_s, total_s),
        own_cpu_fraction=_fraction(own_s, total_s),
        busy_processes=_busiest(window[1:], names, wall), torch_threads=torch_threads,
        gpu_source=gpu[0], gpu_note=gpu[1], gpu_processes=_gpu_union(window))


def _fraction(part: float, whole: float) -> float | None:
    return None if whole <= 0 else min(1.0, max(0.0, part / whole))


def _busiest(samples: list[_Sample], names: Mapping[int, str],
             wall_s: float) -> tuple[BusyProcess, ...]:
    """The others that used at least NAMED_MIN_CORES over the window, busiest first."""
    used: dict[int, float] = {}
    for sample in samples:
        for pid, cpu_s in sample.others:
            used[pid] = used.get(pid, 0.0) + cpu_s
    named = [BusyProcess(pid, names.get(pid, ""), round(cpu_s / wall_s, 4))
             for pid, cpu_s in used.items() if cpu_s / wall_s >= NAMED_MIN_CORES]
    return tuple(sorted(named, key=lambda p: -p.cores)[:MAX_NAMED])


def _gpu_union(samples: list[_Sample]) -> tuple[GpuProcess, ...]:
    seen: dict[tuple[int, int], GpuProcess] = {}
    for sample in samples:
        for process in sample.gpu:
            seen[(process.device, process.pid)] = process
    return tuple(seen[key] for key in sorted(seen))


def _name(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except (psutil.Error, OSError):
        return ""  # not visible from here: another container's pid, or gone already

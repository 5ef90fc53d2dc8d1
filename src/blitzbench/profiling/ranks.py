"""Traces across ranks: one Kineto trace per rank, read by Holistic Trace Analysis (HTA).

HTA (``holistictraceanalysis``, facebookresearch/HolisticTraceAnalysis) loads every rank's
trace into a DataFrame and answers per rank: the temporal breakdown of the GPU's time
(compute, non-compute, idle), the overlap of communication kernels with computation kernels,
and the ranks likely to be stragglers. It is built around GPU kernels: a trace of a gloo
job on CPUs has none, so those analyses raise or return NaN there. This module asks HTA for
each figure on its own, keeps what HTA gives, and says in a one-line note what it could not
give and why; it never fills a gap with an invented number.

On a CPU-only world two figures still come from HTA's frames: each rank's mean host step
(its ``ProfilerStep`` ranges, HTA's iteration info) and the host time inside the process
group's collectives (``gloo:all_reduce``...). The rank that reaches a blocking collective
last waits least inside it; that is HTA's own straggler idea (late start of the dominant
collective), read on the host because there are no NCCL kernels to read it on.

The capture side is :func:`profile_ddp_rank`, a target for
:func:`~blitzbench.distributed.local.run_local` (``blitzbench.profiling.ranks:profile_ddp_rank``
with the trace folder as argument; profiling itself does not import distributed). Each rank
profiles a few DistributedDataParallel LeNet steps and writes ``rank<r>.<id>.pt.trace.json``;
torch.profiler puts ``distributedInfo`` (backend, rank, world size) in a trace when a process
group is open, and HTA reads the rank there. HTA takes a second to import, logs routine
progress as warnings and imports ``psutil`` without declaring it: it is imported inside the
functions that use it, with its logger silenced.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from blitzbench.results.names import TUTORIAL_BATCH_SIZE

__all__ = [
    "COLLECTIVE_PREFIXES",
    "RANK_WORKER_PREFIX",
    "GpuBreakdown",
    "RankRow",
    "RanksSummary",
    "Straggler",
    "analyze_ranks",
    "find_rank_traces",
    "profile_ddp_rank",
]

#: the profiler's file name ends so; HTA reads any ``.json``/``.gz``, summary.json included,
#: which is why the files are listed here and handed to HTA by rank.
TRACE_SUFFIXES = (".pt.trace.json", ".pt.trace.json.gz")
#: ``rank<r>`` as the profiler's worker name: the rank shows in the file name too.
RANK_WORKER_PREFIX = "rank"
#: torch.profiler writes ``"distributedInfo": {"backend": ..., "rank": r, ...}`` when a process
#: group is initialized (torch/profiler/profiler.py, ``_get_distributed_info``).
DISTRIBUTED_RANK = re.compile(r'"distributedInfo"\s*:\s*\{[^{}]*?"rank"\s*:\s*(\d+)')
#: record_function names of the process group's collectives on the host: ProcessGroupGloo and
#: ProcessGroupNCCL title them ``<backend>:<collective>`` (``gloo:all_reduce``).
COLLECTIVE_PREFIXES = ("gloo:", "nccl:")
#: HTA drops the last ProfilerStep by default, since its GPU work may outlive the trace; a
#: blitzbench step ends by reading the loss (a sync), so its last step is whole.
INCLUDE_LAST_STEP = True
#: HTA 0.5.0 rounds each event inward to whole microseconds (start up, end down: a fix for
#: overlapping events of old torch releases, pytorch/pytorch#122425). A LeNet kernel lasts
#: about 1-3 us, so rounding lost 38% of the H200 trace's kernel time; HTA's own switch
#: keeps the trace's nanosecond times.
HTA_NS_ROUNDING_ENV = "HTA_DISABLE_NS_ROUNDING"
#: The host-collective straggler is named only when its time inside the collectives is at
#: least this share below the next rank's: two gloo ranks on two shared cores differed by
#: 15% between runs of the same world, with a different rank lower each time.
HOST_STRAGGLER_MIN_SHORTFALL = 0.25
HTA_LOGGER = "hta"
US_PER_MS = 1000.0
US_DECIMALS = 3  # the trace's resolution: nanoseconds
NO_GPU_KERNELS = ("no GPU kernels in the traces (a CPU-only capture): HTA's temporal "
                  "breakdown and communication overlap measure GPU kernels only")

T = TypeVar("T")


@dataclass(frozen=True)
class GpuBreakdown:
    """HTA's temporal breakdown of one rank's GPU time, in microseconds and percent.

    ``span_us`` is HTA's "kernel time": from the first kernel's start to the last kernel's
    end; compute + non-compute + idle = span. Communication and memory split non-compute
    by HTA's own kernel classes (``get_kernel_type``), overlaps merged.
    """

    span_us: float
    compute_us: float
    non_compute_us: float
    idle_us: float
    communication_us: float
    memory_us: float
    compute_pct: float
    non_compute_pct: float
    idle_pct: float

    def to_json(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RankRow:
    """One rank: its steps and host time, and HTA's GPU figures where the trace has kernels."""

    rank: int
    profiler_steps: int
    host_step_ms: float | None
    host_collective_ms_per_step: float | None
    gpu: GpuBreakdown | None = None
    comm_comp_overlap_pct: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "profiler_steps": self.profiler_steps,
                "host_step_ms": self.host_step_ms,
                "host_collective_ms_per_step": self.host_collective_ms_per_step,
                "gpu": self.gpu.to_json() if self.gpu else None,
                "comm_comp_overlap_pct": self.comm_comp_overlap_pct}


@dataclass(frozen=True)
class Straggler:
    """The rank named as the straggler, how it was chosen, and the figure it was chosen by."""

    rank: int
    method: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "method": self.method, "reason": self.reason}


@dataclass(frozen=True)
class RanksSummary:
    """What HTA could say about a folder of per-rank traces, and notes on what it could not."""

    trace_dir: str
    hta_version: str | None
    trace_files: dict[int, str]
    ranks: tuple[RankRow, ...]
    straggler: Straggler | None
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"trace_dir": self.trace_dir, "hta_version": self.hta_version,
                "trace_files": {str(r): name for r, name in self.trace_files.items()},
                "ranks": [row.to_json() for row in self.ranks],
                "straggler": self.straggler.to_json() if self.straggler else None,
                "notes": list(self.notes)}


# ---------------------------------------------------------------- finding the traces


def find_rank_traces(trace_dir: Path) -> tuple[dict[int, Path], list[str]]:
    """Each rank's trace in ``trace_dir``, the rank read from the trace's ``distributedInfo``.

    A lone trace without it (captured with no process group) is rank 0, as HTA assumes; among
    several, one without it, or a second one for a rank, is left out with a note.
    """
    paths = sorted(p for p in Path(trace_dir).iterdir() if p.name.endswith(TRACE_SUFFIXES))
    found: dict[int, Path] = {}
    notes: list[str] = []
    for path in paths:
        rank = _distributed_rank(path)
        if rank is None and len(paths) == 1:
            notes.append(f"{path.name} has no distributedInfo (no process group): read as rank 0")
            rank = 0
        if rank is None:
            notes.append(f"{path.name} has no distributedInfo rank: left out")
        elif rank in found:
            notes.append(f"{path.name} is a second trace of rank {rank}: left out")
        else:
            found[rank] = path
    return dict(sorted(found.items())), notes


def _distributed_rank(path: Path) -> int | None:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        match = DISTRIBUTED_RANK.search(handle.read())
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- HTA's analyses


def analyze_ranks(trace_dir: Path) -> RanksSummary:
    """HTA's per-rank figures for the traces in ``trace_dir``; never raises for a trace HTA
    cannot read or analyse: the summary's notes say what is missing and why."""
    files, notes = find_rank_traces(trace_dir)
    names = {rank: path.name for rank, path in files.items()}
    empty = RanksSummary(str(trace_dir), None, names, (), None, ())
    if not files:
        return _with(empty, [*notes, f"no *.pt.trace.json in {trace_dir}"])
    try:
        with _quiet_hta():
            from hta import __version__ as hta_version
    except ImportError as exc:  # HTA missing, or psutil, which it imports undeclared
        return _with(empty, [*notes, f"HolisticTraceAnalysis cannot be imported ({exc}): "
                                     f"pip install 'holistictraceanalysis>=0.5' psutil"])
    empty = RanksSummary(str(trace_dir), hta_version, names, (), None, ())
    trace = _attempt("loading the traces", lambda: _load(trace_dir, files), notes)
    if trace is None:
        return _with(empty, notes)
    rows = _rows(trace, notes)
    straggler = _straggler(trace, rows, notes)
    return RanksSummary(str(trace_dir), hta_version, names, rows, straggler, tuple(notes))


def _with(summary: RanksSummary, notes: list[str]) -> RanksSummary:
    return RanksSummary(summary.trace_dir, summary.hta_version, summary.trace_files,
                        summary.ranks, summary.straggler, tuple(notes))


@contextmanager
def _quiet_hta() -> Iterator[None]:
    """HTA logs routine progress as warnings ("Parsed ... time = 0.01 seconds"), which
    Python's last-resort handler prints; numpy warns on HTA's 0/0 overlap and pandas on its
    deprecated calls: all silenced while HTA runs, the caller's settings restored after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger = logging.getLogger(HTA_LOGGER)
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            logger.setLevel(level)


def _attempt(what: str, call: Callable[[], T], notes: list[str]) -> T | None:
    """Run one HTA call; a failure becomes a note. HTA raises many kinds of errors on
    traces it does not support (IndexError, ValueError, AssertionError), so all are caught
    here, and only here, around HTA's own code."""
    try:
        with _quiet_hta():
            return call()
    except Exception as exc:  # third-party analysis of a trace it does not support
        first_line = str(exc).strip().splitlines()[:1]
        notes.append(f"HTA {what} failed: {type(exc).__name__}: {''.join(first_line)}")
        return None


def _load(trace_dir: Path, files: dict[int, Path]) -> Any:
    """HTA's Trace, parsed in this process (its pool of workers costs more than it saves
    on a few small traces)."""
    from hta.common.trace import Trace

    trace = Trace(trace_files={r: str(p.resolve()) for r, p in files.items()},
                  trace_dir=str(Path(trace_dir).resolve()))
    previous = os.environ.get(HTA_NS_ROUNDING_ENV)
    os.environ[HTA_NS_ROUNDING_ENV] = "1"
    try:
        trace.load_traces(INCLUDE_LAST_STEP, use_multiprocessing=False,
                          use_memory_profiling=False)
    finally:
        if previous is None:
            os.environ.pop(HTA_NS_ROUNDING_ENV, None)
        else:
            os.environ[HTA_NS_ROUNDING_ENV] = previous
    return trace


def _rows(trace: Any, notes: list[str]) -> tuple[RankRow, ...]:
    kernels = _attempt("reading GPU kernels", lambda: {
        rank: _gpu_kernels(trace, rank) for rank in trace.get_all_traces()}, notes)
    if kernels is None:
        return ()
    breakdown: dict[int, GpuBreakdown] = {}
    overlap: dict[int, float | None] = {}
    if all(len(frame) for frame in kernels.values()):
        breakdown = _attempt("temporal breakdown",
                             lambda: _temporal_breakdown(trace, kernels), notes) or {}
        overlap = _attempt("communication/computation overlap",
                           lambda: _overlap(trace, kernels, notes), notes) or {}
    elif any(len(frame) for frame in kernels.values()):
        notes.append("only some ranks' traces have GPU kernels: HTA's temporal breakdown "
                     "needs them on every rank")
    else:
        notes.append(NO_GPU_KERNELS)
    steps = _attempt("iteration info", lambda: _host_steps(trace), notes) or {}
    collective_ms = _attempt("host collectives", lambda: _host_collective_ms(trace), notes) or {}
    return tuple(RankRow(rank, len(steps.get(rank, ())), _mean(steps.get(rank, ())),
                         _per_step(collective_ms.get(rank), len(steps.get(rank, ()))),
                         breakdown.get(rank), overlap.get(rank))
                 for rank in sorted(kernels))


def _gpu_kernels(trace: Any, rank: int) -> Any:
    """The rank's GPU events (HTA gives host events stream -1), names decoded."""
    frame = trace.get_trace(rank)
    gpu = frame[frame["stream"].ne(-1)].copy()
    symbols = trace.symbol_table.get_sym_table()
    gpu["kernel_name"] = gpu["name"].map(lambda index: symbols[index])
    return gpu


def _temporal_breakdown(trace: Any, kernels: dict[int, Any]) -> dict[int, GpuBreakdown]:
    from hta.analyzers.breakdown_analysis import BreakdownAnalysis
    from hta.utils.utils import KernelType

    table = BreakdownAnalysis.get_temporal_breakdown(trace, visualize=False)
    rows = {}
    for record in table.to_dict("records"):
        rank = int(record["rank"])
        rows[rank] = GpuBreakdown(
            span_us=_us(record["kernel_time(us)"]),
            compute_us=_us(record["compute_time(us)"]),
            non_compute_us=_us(record["non_compute_time(us)"]),
            idle_us=_us(record["idle_time(us)"]),
            communication_us=_kernel_type_us(kernels[rank], KernelType.COMMUNICATION.name),
            memory_us=_kernel_type_us(kernels[rank], KernelType.MEMORY.name),
            compute_pct=float(record["compute_time_pctg"]),
            non_compute_pct=float(record["non_compute_time_pctg"]),
            idle_pct=float(record["idle_time_pctg"]))
    return rows


def _kernel_type_us(kernels: Any, kind: str) -> float:
    """Time covered by the kernels HTA classes as ``kind``, overlaps counted once."""
    from hta.utils.utils import get_kernel_type, merge_kernel_intervals

    chosen = kernels[kernels["kernel_name"].map(get_kernel_type).eq(kind)]
    if chosen.empty:
        return 0.0
    merged = merge_kernel_intervals(chosen[["ts", "dur"]].copy())
    return _us(merged["end"].sum() - merged["ts"].sum())


def _overlap(trace: Any, kernels: dict[int, Any], notes: list[str]) -> dict[int, float | None]:
    """HTA's share of communication-kernel time overlapped by computation; undefined (HTA
    divides 0 by 0) on a rank without communication kernels."""
    from hta.analyzers.communication_analysis import CommunicationAnalysis

    table = CommunicationAnalysis.get_comm_comp_overlap(trace, visualize=False)
    overlap = {int(r["rank"]): _finite(r["comp_comm_overlap_pctg"])
               for r in table.to_dict("records")}
    if any(value is None for value in overlap.values()):
        notes.append("no communication kernels on the GPU on some ranks: HTA's overlap is "
                     "undefined there (a single-rank job, or collectives on the CPU)")
    return overlap


def _host_steps(trace: Any) -> dict[int, list[float]]:
    """Each rank's ProfilerStep durations in ms, from HTA's iteration info."""
    from hta.analyzers.straggler import extract_iteration_info

    table = extract_iteration_info(trace)
    steps: dict[int, list[float]] = {}
    for record in table[table["iter"].ne(-1)].to_dict("records"):
        steps.setdefault(int(record["rank"]), []).append(float(record["dur"]) / US_PER_MS)
    return steps


def _host_collective_ms(trace: Any) -> dict[int, float]:
    """Each rank's host time inside the process group's collectives, overlaps merged; a
    rank without any is absent."""
    from hta.utils.utils import merge_kernel_intervals

    symbols = trace.symbol_table.get_sym_table()
    found = {}
    for rank, frame in trace.get_all_traces().items():
        host = frame[frame["stream"].eq(-1)]
        chosen = host[host["name"].map(lambda i: symbols[i].startswith(COLLECTIVE_PREFIXES))]
        if not chosen.empty:
            merged = merge_kernel_intervals(chosen[["ts", "dur"]].copy())
            found[rank] = float(merged["end"].sum() - merged["ts"].sum()) / US_PER_MS
    return found


def _per_step(total_ms: float | None, steps: int) -> float | None:
    return total_ms / steps if total_ms is not None and steps else None


# ---------------------------------------------------------------- the straggler


def _straggler(trace: Any, rows: tuple[RankRow, ...], notes: list[str]) -> Straggler | None:
    """HTA's straggler where it has one (late start of the dominant NCCL kernel), else the
    clearest figure the rows hold; None, with a note, for one rank or no figure."""
    if len(rows) < 2:
        notes.append("one rank: no straggler to name")
        return None
    if all(row.gpu and row.gpu.communication_us > 0 for row in rows):
        named = _attempt("straggler analysis", lambda: _hta_straggler(trace), notes)
        if named is not None:
            return named
    return _straggler_from_rows(rows, notes)


def _hta_straggler(trace: Any) -> Straggler | None:
    from hta.analyzers.straggler_analysis import StragglerAnalysis

    ranks = StragglerAnalysis.get_potential_stragglers(trace, num_candidates=1)
    if not ranks:
        return None
    return Straggler(int(ranks[0]), "hta_late_start_comm_kernels",
                     "HTA: its dominant communication kernel starts latest")


def _straggler_from_rows(rows: tuple[RankRow, ...], notes: list[str]) -> Straggler | None:
    if all(row.gpu for row in rows):
        row = max(rows, key=lambda r: r.gpu.compute_us if r.gpu else 0.0)
        assert row.gpu is not None
        return Straggler(row.rank, "most_gpu_compute",
                         f"most GPU compute time ({row.gpu.compute_us:.0f} us, "
                         f"{row.gpu.idle_pct:.1f}% idle)")
    timed = sorted((row.host_collective_ms_per_step, row.rank) for row in rows
                   if row.host_collective_ms_per_step is not None)
    if len(timed) < len(rows):
        notes.append("no GPU breakdown and no host collectives on every rank: no straggler named")
        return None
    spread = ", ".join(f"rank {rank} {ms:.3f}" for ms, rank in sorted(timed, key=lambda t: t[1]))
    (least_ms, rank), (next_ms, _) = timed[0], timed[1]
    if least_ms > next_ms * (1 - HOST_STRAGGLER_MIN_SHORTFALL):
        notes.append(f"host time inside collectives too even to name a straggler (ms per step: "
                     f"{spread})")
        return None
    return Straggler(rank, "least_host_collective_time",
                     f"least host time inside collectives, so last to reach them "
                     f"(ms per step: {spread})")


def _mean(values: list[float] | tuple[()]) -> float | None:
    return sum(values) / len(values) if values else None


def _us(value: Any) -> float:
    return round(float(value), US_DECIMALS)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------- capturing one trace per rank


def profile_ddp_rank(world: Any, trace_dir: str,
                     batch_size: str | int = TUTORIAL_BATCH_SIZE) -> dict[str, Any]:
    """A :func:`~blitzbench.distributed.local.run_local` target: profile a few steps of
    DistributedDataParallel LeNet on this rank and write its trace into ``trace_dir``."""
    from torch.profiler import ProfilerActivity, profile, tensorboard_trace_handler
    from torch.profiler import schedule as profiler_schedule

    from blitzbench.profiling.capture import _ONE_CYCLE, ProfileSchedule

    one_step = _ddp_step(world, int(batch_size))
    plan = ProfileSchedule()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if world.device.startswith("cuda") else [])
    handler = tensorboard_trace_handler(trace_dir, worker_name=f"{RANK_WORKER_PREFIX}{world.rank}")
    started = time.perf_counter()
    with profile(activities=activities,
                 schedule=profiler_schedule(wait=plan.wait, warmup=plan.warmup,
                                            active=plan.active, repeat=1),
                 on_trace_ready=handler, **_ONE_CYCLE) as prof:
        for _ in range(plan.total_steps):
            one_step()
            prof.step()
    return {"rank": world.rank, "device": world.device, "backend": world.backend,
            "wall_s": time.perf_counter() - started,
            "trace_files": sorted(p.name for p in Path(trace_dir).glob(
                f"{RANK_WORKER_PREFIX}{world.rank}.*"))}


def _ddp_step(world: Any, batch_size: int) -> Callable[[], None]:
    """The blitz's LeNet step under DDP (distributed/ddp.py). Each rank trains on its own
    synthetic batch (seeded by rank), as data-parallel ranks do; DDP all-reduces the
    gradients during backward, which puts the collectives in the trace. Reading the loss
    ends each step."""
    import torch
    from torch.profiler import record_function

    from blitzbench.distributed.ddp import ddp_train_step
    from blitzbench.profiling.capture import STEP_LABEL
    from blitzbench.workloads.lenet import synthetic_batch

    train = ddp_train_step(world)
    images, labels = synthetic_batch(batch_size, torch.device(world.device),
                                     generator=torch.Generator().manual_seed(world.rank))

    def one_step() -> None:
        with record_function(STEP_LABEL):
            train.step(images, labels).item()

    return one_step

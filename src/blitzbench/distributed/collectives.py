"""nccl-tests for torch.distributed: five collectives over a list of sizes, each iteration
timed on the slowest rank, with nccl-tests' algbw, busbw and #wrong.

What a size means is nccl-tests' own definition (NVIDIA/nccl-tests ``src/<op>.cu``,
``<Op>GetCollByteCount`` and ``<Op>GetBw``, read at commit a0b82b2, 2026): a size S in bytes
is ``S / sizeof(float)`` elements; all_reduce and broadcast pass them all to the call, while
all_gather, reduce_scatter and alltoall split them among the n ranks, rounded down to a
multiple of 16 bytes (``(count / nranks) & ~(16 / eltSize - 1)``). nccl-tests prints that
per-call count in its "count" column and the larger of a rank's send and receive buffers
in its "size" column (``max(sendBytes, expectedBytes)``); for all five ops the numerator of
GetBw is that same size, so algbw = size / time. At 8 B on two ranks the split ops have a
count of 0, as nccl-tests prints them; they are still timed (an empty call's latency).

The loop per case (nccl-tests' BenchTime): build the buffers, 5 warm-up calls, a barrier,
then 20 back-to-back calls with a clock read after each: CUDA events on the current stream
on a GPU (the process group makes that stream wait for the collective), ``perf_counter``
elsewhere (a gloo call blocks until it is done). After the loop the end times are
all-reduced with MAX, so an iteration lasts from the moment the slowest rank finished the
previous one to the moment the slowest rank finished it (:func:`slowest_rank_times`).
There is no barrier inside the loop, as in nccl-tests: on this project's 2-core VM a
barrier before each call made an 8 B all_reduce loop 18-25% slower than a bare loop (two
runs of 300 paired blocks; within the noise at 1 MiB), likely because the call after a
barrier starts with the ranks' threads asleep. Correctness is then checked as nccl-tests
does: fresh inputs, one call, every output element compared with its expected
value, the wrong ones counted on each rank and summed (its ``#wrong``).

In-place, as nccl-tests' in-place offsets do it: all_gather's input is its own slot of
the output, reduce_scatter's output is its own slot of the input. torch.distributed's
all_reduce and broadcast have only an in-place form (they write into their one tensor),
so they have no out-of-place record. all_to_all has only an out-of-place record:
``all_to_all_single(t, t)`` is accepted but not supported: on gloo (torch 2.14.1, two
ranks) 8 to 30 of 30 calls at each size from 16 B to 1 MiB returned wrong data (a race;
tests/test_collectives.py keeps that evidence and turns red the day it is right).

The functions take a :class:`~blitzbench.distributed.world.World` inside an open process
group: :func:`measure_collectives` for any job (torchrun, ``accept``), :func:`measure_world`
and :func:`compare_with_bare_loop` as :func:`~blitzbench.distributed.local.run_local`
targets.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from blitzbench.distributed.world import World
from blitzbench.errors import UsageError
from blitzbench.results import stats
from blitzbench.results.names import (
    ALGBW_FIELD,
    BACKEND_FIELD,
    BUSBW_FIELD,
    BYTES_FIELD,
    COLLECTIVE_OPS,
    COLLECTIVES,
    COUNT_FIELD,
    DTYPE_PARAM,
    INPLACE_PARAM,
    LEVELS,
    PEAK_FIELD,
    PEAK_FRACTION_FIELD,
    REDOP_PARAM,
    ROOT_FIELD,
    SIZE_PARAM,
    TYPE_FIELD,
    WORLD_SIZE_PARAM,
    WRONG_FIELD,
)
from blitzbench.results.records import Measurement, metric_prefix
from blitzbench.timing.peaks import describe_link, device_name, link_for

__all__ = [
    "BYTES_PER_GB",
    "COLLECTIVE_SIZES",
    "OPS",
    "TIMED_ITERATIONS",
    "WARMUP_ITERATIONS",
    "Buffers",
    "Collective",
    "LoopComparison",
    "algbw_gb_per_s",
    "busbw_gb_per_s",
    "case_params",
    "compare_with_bare_loop",
    "count_wrong",
    "expected_output",
    "link_figures",
    "make_buffers",
    "measure_case",
    "measure_collectives",
    "measure_world",
    "metric_prefixes",
    "nccl_count",
    "nccl_size_bytes",
    "rank_values",
    "sizes_for",
    "torch_function",
]

#: nccl-tests' ``-n`` default (``int iters = 20``, src/common.cu).
TIMED_ITERATIONS = 20
#: nccl-tests' ``-w`` default until commit f2015cb (Aug 2025), which cut it to 1 and warms
#: every size instead; 5 per case does both.
WARMUP_ITERATIONS = 5
#: nccl-tests' GB is 1.0E9 bytes (``/ 1.0E9 / sec`` in every GetBw).
BYTES_PER_GB = 1e9
DTYPE = torch.float32
DTYPE_NAME = "float32"
NCCL_TYPE_NAME = "float"  # nccl-tests' "type" column for ncclFloat
ELEMENT_BYTES = 4
#: nccl-tests rounds a split op's per-rank count down to 16 bytes (GetCollByteCount).
ALIGN_BYTES = 16
BROADCAST_ROOT = 0
NO_ROOT = -1  # nccl-tests' "root" column for ops without one
SUM, NO_REDOP = "sum", "none"  # nccl-tests' "redop" column

#: Input element i of rank r is ``(i * INDEX_MULTIPLIER + (r + 1) * RANK_MULTIPLIER) mod
#: VALUE_MODULUS``: whole numbers below 2^12, so a sum over up to 2^12 ranks stays below
#: 2^24 and is exact in float32, and every output element can be compared exactly.
VALUE_MODULUS = 4096
INDEX_MULTIPLIER = 1103  # odd, so any 4096 consecutive elements differ
RANK_MULTIPLIER = 2731  # odd, so each rank's sequence is shifted from the others'

KIB, MIB = 1024, 1024 * 1024
NORMAL_95 = 1.96  # the standard normal's two-sided 95% quantile
#: torch 2.14's names of two collectives -> the names torch 2.4-2.13 have.
TORCH_OLD_NAMES = {"all_gather_single": "all_gather_into_tensor",
                   "reduce_scatter_single": "reduce_scatter_tensor"}


def _doubling(first_exponent: int, last_exponent: int, step: int = 1) -> tuple[int, ...]:
    return tuple(2 ** e for e in range(first_exponent, last_exponent + 1, step))


#: Sizes in bytes per level and device type: quick a handful, standard every power of 4
#: (plus 8 B), full every power of 2 from 8 B (nccl-tests' ``-b 8 -e ... -f 2`` sweep) up
#: to 256 MiB per rank on CPUs and 1 GiB on a GPU.
COLLECTIVE_SIZES: Mapping[str, Mapping[str, tuple[int, ...]]] = {
    "quick": {"cpu": (8, KIB, 64 * KIB, MIB), "cuda": (8, KIB, 64 * KIB, MIB)},
    "standard": {"cpu": (8, *_doubling(4, 24, 2)), "cuda": (8, *_doubling(4, 28, 2))},
    "full": {"cpu": _doubling(3, 28), "cuda": _doubling(3, 30)},
}


# --- the five collectives ----------------------------------------------------------------

@dataclass(frozen=True)
class Buffers:
    """What one call reads and writes; ``output`` is what the check compares."""

    call: Callable[[], object]
    output: torch.Tensor


def rank_values(rank: int, start: int, length: int, device: torch.device) -> torch.Tensor:
    """Elements ``start .. start+length`` of rank ``rank``'s input (see VALUE_MODULUS)."""
    index = torch.arange(start, start + length, dtype=torch.int64, device=device)
    return ((index * INDEX_MULTIPLIER + (rank + 1) * RANK_MULTIPLIER)
            % VALUE_MODULUS).to(DTYPE)


def _unset(length: int, device: torch.device) -> torch.Tensor:
    """An output buffer of NaN: an element the collective never writes counts as wrong."""
    return torch.full((length,), float("nan"), dtype=DTYPE, device=device)


def _slot(tensor: torch.Tensor, rank: int, count: int) -> torch.Tensor:
    return tensor[rank * count:(rank + 1) * count]


def _all_reduce_buffers(count: int, rank: int, n: int, device: torch.device,
                        inplace: bool) -> Buffers:
    buffer = rank_values(rank, 0, count, device)
    return Buffers(lambda: dist.all_reduce(buffer), buffer)


def _broadcast_buffers(count: int, rank: int, n: int, device: torch.device,
                       inplace: bool) -> Buffers:
    buffer = rank_values(rank, 0, count, device)  # non-roots' own values get overwritten
    return Buffers(lambda: dist.broadcast(buffer, src=BROADCAST_ROOT), buffer)


def torch_function(name: str) -> Callable[..., object]:
    """The torch.distributed function of that name, or its older name (torch 2.14 renamed
    ``all_gather_into_tensor`` and ``reduce_scatter_tensor`` to ``*_single`` and
    deprecates the old names; blitzbench supports torch from 2.4)."""
    return getattr(dist, name, None) or getattr(dist, TORCH_OLD_NAMES[name])


def _all_gather_buffers(count: int, rank: int, n: int, device: torch.device,
                        inplace: bool) -> Buffers:
    output = _unset(n * count, device)
    mine = _slot(output, rank, count) if inplace else _unset(count, device)
    mine.copy_(rank_values(rank, 0, count, device))
    gather = torch_function("all_gather_single")
    return Buffers(lambda: gather(output, mine), output)


def _reduce_scatter_buffers(count: int, rank: int, n: int, device: torch.device,
                            inplace: bool) -> Buffers:
    source = rank_values(rank, 0, n * count, device)
    output = _slot(source, rank, count) if inplace else _unset(count, device)
    scatter = torch_function("reduce_scatter_single")
    return Buffers(lambda: scatter(output, source), output)


def _all_to_all_buffers(count: int, rank: int, n: int, device: torch.device,
                        inplace: bool) -> Buffers:
    source = rank_values(rank, 0, n * count, device)
    output = source if inplace else _unset(n * count, device)
    return Buffers(lambda: dist.all_to_all_single(output, source), output)


def _summed(n: int, start: int, count: int, device: torch.device) -> torch.Tensor:
    total = torch.zeros(count, dtype=DTYPE, device=device)
    for sender in range(n):
        total += rank_values(sender, start, count, device)
    return total


def _gathered(n: int, start: int, count: int, device: torch.device) -> torch.Tensor:
    return torch.cat([rank_values(sender, start, count, device) for sender in range(n)])


_EXPECTED: Mapping[str, Callable[[int, int, int, torch.device], torch.Tensor]] = {
    "all_reduce": lambda count, rank, n, device: _summed(n, 0, count, device),
    "all_gather": lambda count, rank, n, device: _gathered(n, 0, count, device),
    "reduce_scatter": lambda count, rank, n, device: _summed(n, rank * count, count, device),
    "broadcast": lambda count, rank, n, device: rank_values(BROADCAST_ROOT, 0, count, device),
    "all_to_all": lambda count, rank, n, device: _gathered(n, rank * count, count, device),
}


def _all_reduce_factor(n: int) -> float:
    return 2 * (n - 1) / n


def _ring_factor(n: int) -> float:
    return (n - 1) / n


def _unit_factor(n: int) -> float:
    return 1.0


@dataclass(frozen=True)
class Collective:
    """One collective as nccl-tests counts it and torch.distributed calls it.

    ``split``: the size is shared among the ranks (a per-rank chunk is the count);
    ``out_of_place``/``in_place``: the forms torch supports (separate input and output
    tensors; an output that is, or holds, the input);
    ``bus_factor(n)``: busbw / algbw, from nccl-tests doc/PERFORMANCE.md ("Summary").
    """

    name: str
    split: bool
    redop: str
    root: int
    out_of_place: bool
    in_place: bool
    bus_factor: Callable[[int], float]
    buffers: Callable[[int, int, int, torch.device, bool], Buffers]

    @property
    def benchmark(self) -> str:
        return f"{COLLECTIVES}.{self.name}"

    @property
    def variants(self) -> tuple[bool, ...]:
        """The in-place flags measured: out-of-place first, as nccl-tests prints them."""
        return tuple(inplace for inplace, supported in ((False, self.out_of_place),
                                                       (True, self.in_place)) if supported)


OPS: Mapping[str, Collective] = {op.name: op for op in (
    Collective("all_reduce", split=False, redop=SUM, root=NO_ROOT, out_of_place=False,
               in_place=True, bus_factor=_all_reduce_factor, buffers=_all_reduce_buffers),
    Collective("all_gather", split=True, redop=NO_REDOP, root=NO_ROOT, out_of_place=True,
               in_place=True, bus_factor=_ring_factor, buffers=_all_gather_buffers),
    Collective("reduce_scatter", split=True, redop=SUM, root=NO_ROOT, out_of_place=True,
               in_place=True, bus_factor=_ring_factor, buffers=_reduce_scatter_buffers),
    Collective("broadcast", split=False, redop=NO_REDOP, root=BROADCAST_ROOT,
               out_of_place=False, in_place=True, bus_factor=_unit_factor,
               buffers=_broadcast_buffers),
    Collective("all_to_all", split=True, redop=NO_REDOP, root=NO_ROOT, out_of_place=True,
               in_place=False, bus_factor=_ring_factor, buffers=_all_to_all_buffers),
)}


def make_buffers(op: Collective, count: int, rank: int, n: int, device: torch.device,
                 inplace: bool) -> Buffers:
    """Fresh inputs (``rank_values``) and outputs for one call of ``op``."""
    return op.buffers(count, rank, n, device, inplace)


def expected_output(op: Collective, count: int, rank: int, n: int,
                    device: torch.device) -> torch.Tensor:
    """What ``make_buffers(...).output`` must hold on ``rank`` after one call."""
    return _EXPECTED[op.name](count, rank, n, device)


# --- nccl-tests' arithmetic --------------------------------------------------------------

def nccl_count(op: Collective, size_bytes: int, n: int) -> int:
    """nccl-tests' "count" column: the elements passed to the call (per rank if split)."""
    count = size_bytes // ELEMENT_BYTES
    if not op.split:
        return count
    return (count // n) & ~(ALIGN_BYTES // ELEMENT_BYTES - 1)


def nccl_size_bytes(op: Collective, count: int, n: int) -> int:
    """nccl-tests' "size" column, the larger of a rank's send and receive buffers."""
    return count * ELEMENT_BYTES * (n if op.split else 1)


def algbw_gb_per_s(size_bytes: int, seconds: float) -> float:
    """nccl-tests' algorithm bandwidth: the size column over the time, in 1e9 B/s."""
    return size_bytes / BYTES_PER_GB / seconds


def busbw_gb_per_s(op: Collective, algbw: float, n: int) -> float:
    """nccl-tests' bus bandwidth: algbw times the op's factor (doc/PERFORMANCE.md)."""
    return algbw * op.bus_factor(n)


def count_wrong(output: torch.Tensor, expected: torch.Tensor) -> int:
    """Elements that differ from the expected value (NaN, never written, counts)."""
    return int((output != expected).sum())


# --- timing ------------------------------------------------------------------------------

def _end_times_with_events(call: Callable[[], object], iterations: int) -> list[float]:
    """CUDA events: one after the barrier, one after each call; read after the loop."""
    start = torch.cuda.Event(enable_timing=True)
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
    dist.barrier()
    start.record()
    for end in ends:
        call()
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) / 1e3 for end in ends]


def _end_times_with_host_clock(call: Callable[[], object], iterations: int) -> list[float]:
    """``perf_counter`` after the barrier and after each (blocking) call."""
    dist.barrier()
    start = time.perf_counter()
    ends = []
    for _ in range(iterations):
        call()
        ends.append(time.perf_counter())
    return [end - start for end in ends]


def end_times(call: Callable[[], object], iterations: int,
              device: torch.device) -> list[float]:
    """When each of ``iterations`` back-to-back calls ended on this rank, in seconds
    from a common barrier (CUDA events on a GPU, the host clock elsewhere)."""
    if device.type == "cuda":
        return _end_times_with_events(call, iterations)
    return _end_times_with_host_clock(call, iterations)


def _max_over_ranks(values: Sequence[float], device: torch.device) -> list[float]:
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.tolist()


def slowest_rank_times(end_times_s: Sequence[float], device: torch.device) -> list[float]:
    """Each iteration's time on the slowest rank: from the moment the last rank finished
    the previous iteration (or left the barrier) to the moment the last rank finished
    this one.

    The end times are all-reduced with MAX after the loop, so the exchange cannot
    perturb it. These times add up to the slowest rank's total, as a bare loop's figure
    does. The MAX of each rank's own per-iteration durations would not: ranks' iteration
    boundaries interleave (a rank that woke late has a long iteration, then a short one),
    so a sum of per-iteration maxima can exceed every rank's total. (On the 2-core VM
    the two differed by less than its noise, about 4% over 150-300 paired blocks.)
    """
    latest = _max_over_ranks(end_times_s, device)
    return [end - previous for previous, end in zip([0.0, *latest], latest, strict=False)]


def _wrong_on_all_ranks(op: Collective, count: int, world: World, inplace: bool,
                        device: torch.device) -> int:
    """nccl-tests' #wrong: fresh inputs, one call, wrong elements summed over ranks."""
    buffers = make_buffers(op, count, world.rank, world.world_size, device, inplace)
    buffers.call()
    expected = expected_output(op, count, world.rank, world.world_size, device)
    wrong = torch.tensor([count_wrong(buffers.output, expected)], dtype=torch.int64,
                         device=device)
    dist.all_reduce(wrong)
    return int(wrong.item())


# --- cases and records -------------------------------------------------------------------

def measure_case(op: Collective, size_bytes: int, inplace: bool, world: World, *,
                 warmup: int = WARMUP_ITERATIONS,
                 iterations: int = TIMED_ITERATIONS) -> Measurement:
    """One (op, size, in-place) case, on every rank (each returns the same record)."""
    device = torch.device(world.device)
    count = nccl_count(op, size_bytes, world.world_size)
    buffers = make_buffers(op, count, world.rank, world.world_size, device, inplace)
    for _ in range(warmup):
        buffers.call()
    times = slowest_rank_times(end_times(buffers.call, iterations, device), device)
    del buffers
    wrong = _wrong_on_all_ranks(op, count, world, inplace, device)
    return collective_record(op, size_bytes, inplace, world, times, count, wrong)


def case_params(op: Collective, size_bytes: int, inplace: bool, world_size: int
                ) -> dict[str, Any]:
    """The parameters that name a collective case (its metric names derive from them)."""
    return {SIZE_PARAM: size_bytes, INPLACE_PARAM: inplace, WORLD_SIZE_PARAM: world_size,
            DTYPE_PARAM: DTYPE_NAME, REDOP_PARAM: op.redop}


def metric_prefixes(level: str, device: str, world_size: int) -> list[str]:
    """Every case a world of ``world_size`` measures at ``level`` on ``device``, named as
    its records will be (the acceptance spec checks its metric names against these)."""
    return [metric_prefix(op.benchmark, case_params(op, size, inplace, world_size))
            for op in OPS.values() for size in sizes_for(level, device)
            for inplace in op.variants]


def collective_record(op: Collective, size_bytes: int, inplace: bool, world: World,
                      times_s: Sequence[float], count: int, wrong: int) -> Measurement:
    """The record of one case: params name the case, extra holds nccl-tests' columns.

    An iteration that read 0 s (an empty call between two CUDA events can) has no time to
    divide by: the case is recorded with that error, its #wrong kept.
    """
    n = world.world_size
    size = nccl_size_bytes(op, count, n)
    params = case_params(op, size_bytes, inplace, n)
    extra = {COUNT_FIELD: count, BYTES_FIELD: size, TYPE_FIELD: NCCL_TYPE_NAME,
             REDOP_PARAM: op.redop, ROOT_FIELD: op.root, WRONG_FIELD: wrong,
             BACKEND_FIELD: world.backend}
    if min(times_s) <= 0:
        return Measurement(op.benchmark, world.device, params, (), extra,
                           error=f"an iteration read {min(times_s):g} s, below the clock's "
                                 f"resolution (count {count})")
    algbw = algbw_gb_per_s(size, stats.median(times_s))
    busbw = busbw_gb_per_s(op, algbw, n)
    extra.update({ALGBW_FIELD: algbw, BUSBW_FIELD: busbw, **link_figures(world, busbw)})
    return Measurement(op.benchmark, world.device, params, tuple(times_s), extra)


def link_figures(world: World, busbw: float) -> dict[str, Any]:
    """busbw as a fraction of the link's nominal peak (timing/peaks.py), where the link
    is known, and one line naming the link or why there is no peak to hold it against:
    a ``peak_fraction`` rule reads the first and shows the second when it skips."""
    gpu = device_name(world.device)
    nodes = math.ceil(world.world_size / max(1, world.local_world_size))
    figures: dict[str, Any] = {PEAK_FIELD: describe_link(gpu, world.world_size, nodes)}
    link = link_for(gpu, world.world_size, nodes)
    if link is not None:
        figures[PEAK_FRACTION_FIELD] = busbw / link.gb_per_s
    return figures


def measure_collectives(world: World, sizes: Iterable[int],
                        ops: Iterable[str] = COLLECTIVE_OPS, *,
                        warmup: int = WARMUP_ITERATIONS,
                        iterations: int = TIMED_ITERATIONS) -> list[Measurement]:
    """Every op at every size, out-of-place then in-place, inside an open process group.

    Every rank must call it with the same arguments (the cases are collectives); every
    rank gets the same records, and the leader is the one that writes them.
    """
    sizes = tuple(sizes)
    return [measure_case(OPS[name], size, inplace, world, warmup=warmup,
                         iterations=iterations)
            for name in ops for size in sizes for inplace in OPS[name].variants]


def sizes_for(level: str, device: str) -> tuple[int, ...]:
    """The sizes of a level for a device label (``cpu``, ``cuda:1``)."""
    if level not in COLLECTIVE_SIZES:
        raise UsageError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    kind = "cuda" if torch.device(device).type == "cuda" else "cpu"
    return COLLECTIVE_SIZES[level][kind]


def _parse_sizes(level_or_sizes: str, device: str) -> tuple[int, ...]:
    if level_or_sizes in LEVELS:
        return sizes_for(level_or_sizes, device)
    sizes = json.loads(level_or_sizes)
    if not isinstance(sizes, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise UsageError(f"sizes must be a level or a JSON list of positive byte counts, "
                         f"got {level_or_sizes!r:.80}")
    return tuple(sizes)


def measure_world(world: World, level_or_sizes: str = "quick",
                  ops: str = ",".join(COLLECTIVE_OPS)) -> list[dict[str, Any]] | None:
    """A ``run_local`` target: the records' JSON on rank 0, None on the others.

    ``level_or_sizes`` is a level name or a JSON list of sizes in bytes; ``ops`` a
    comma-separated subset of the ops.
    """
    names = tuple(name for name in ops.split(",") if name)
    unknown = sorted(set(names) - set(OPS))
    if unknown:
        raise UsageError(f"unknown collective {unknown[0]!r} (known: {', '.join(OPS)})")
    records = measure_collectives(world, _parse_sizes(level_or_sizes, world.device), names)
    return [record.to_json() for record in records] if world.leader else None


# --- the bare-loop cross-check -----------------------------------------------------------

@dataclass(frozen=True)
class LoopComparison:
    """The suite's all_reduce loop beside a bare ``dist.all_reduce`` loop, measured in
    alternation in one world.

    Each alternation gives one figure per loop, both the slowest rank's time per call over
    the same number of calls: the suite's is the mean of a record's ``times_s`` (those
    times add up to the slowest rank's total, so this is its loop's total over its calls),
    the bare loop's is its clock span over its calls. ``ratio`` is the median of the
    alternations' suite/bare ratios: pairing neighbours cancels the drift of a shared
    machine, the median ignores an alternation another process hit. The suite's record
    reports the median of ``times_s``, kept as ``suite_median_s``; on a skewed distribution
    of call times it sits below any mean (half of it on the 2-core VM), so it is shown,
    not compared.
    """

    size_bytes: int
    iterations: int
    suite_s: tuple[float, ...]
    bare_s: tuple[float, ...]
    suite_median_s: tuple[float, ...] = ()

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(suite / bare for suite, bare in zip(self.suite_s, self.bare_s,
                                                         strict=True))

    @property
    def ratio(self) -> float:
        """Suite over bare: 1.0 when the suite's loop adds nothing and hides nothing."""
        return stats.median(self.ratios)

    def ratio_interval(self, z: float = NORMAL_95) -> tuple[float, float]:
        """A distribution-free ~95% interval for that median (the sign test's): the
        ratios of rank ``n/2 - z*sqrt(n)/2`` and ``1 + n/2 + z*sqrt(n)/2``, counted from 1."""
        ordered = sorted(self.ratios)
        n, half = len(ordered), z * math.sqrt(len(ordered)) / 2
        low = max(math.floor(n / 2 - half), 1)
        high = min(math.ceil(1 + n / 2 + half), n)
        return ordered[low - 1], ordered[high - 1]

    def to_json(self) -> dict[str, Any]:
        return {"size_bytes": self.size_bytes, "iterations": self.iterations,
                "suite_s": list(self.suite_s), "bare_s": list(self.bare_s),
                "suite_median_s": list(self.suite_median_s), "ratio": self.ratio,
                "ratio_interval": list(self.ratio_interval())}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoopComparison:
        return cls(int(data["size_bytes"]), int(data["iterations"]),
                   tuple(map(float, data["suite_s"])), tuple(map(float, data["bare_s"])),
                   tuple(map(float, data.get("suite_median_s", ()))))


def bare_all_reduce_loop(tensor: torch.Tensor, iterations: int) -> float:
    """``for _ in range(n): dist.all_reduce(t)`` between two clock reads after a barrier,
    as a user would time it: this rank's mean time per call."""
    dist.barrier()
    start = time.perf_counter()
    for _ in range(iterations):
        dist.all_reduce(tensor)
    if tensor.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iterations


def _bare_figure(world: World, size_bytes: int, iterations: int) -> float:
    device = torch.device(world.device)
    tensor = rank_values(world.rank, 0, size_bytes // ELEMENT_BYTES, device)
    for _ in range(WARMUP_ITERATIONS):
        dist.all_reduce(tensor)
    return _max_over_ranks([bare_all_reduce_loop(tensor, iterations)], device)[0]


def compare_with_bare_loop(world: World, size_bytes: str = str(MIB),
                           alternations: str = "15",
                           iterations: str = str(TIMED_ITERATIONS)) -> dict[str, Any] | None:
    """A ``run_local`` target: alternate the suite's in-place all_reduce case
    (:func:`measure_case`, warm-up and check included) with a warmed-up bare loop of as
    many calls, suite first in even alternations and bare first in odd ones so a drift
    favours neither; the comparison's JSON on rank 0, None on the others."""
    size, rounds, calls = int(size_bytes), int(alternations), int(iterations)
    records: list[Measurement] = []
    bare: list[float] = []
    for round_index in range(rounds):
        if round_index % 2:
            bare.append(_bare_figure(world, size, calls))
        records.append(measure_case(OPS["all_reduce"], size, True, world, iterations=calls))
        if not round_index % 2:
            bare.append(_bare_figure(world, size, calls))
    comparison = LoopComparison(size, calls, tuple(statistics.fmean(r.times_s) for r in records),
                                tuple(bare), tuple(r.median_s for r in records))
    return comparison.to_json() if world.leader else None

"""Measure one catalog case: seed, build, warm up, calibrate, time rounds, derive rates.

The algorithm, in the spirit of ``torch.utils.benchmark``'s ``blocked_autorange``: after
``warmup`` untimed calls, the number of calls per round grows until one round lasts at
least :data:`TARGET_ROUND_S` (so the clock's resolution and, on CUDA, the synchronisation
at the round's ends cost under a few percent), then rounds are timed until both
``min_rounds`` and ``max_time_s`` are reached. Each round yields one per-call time; the
median of those is the figure, its IQR the spread.

A CUDA case is timed with a clock that synchronises before it reads, so the time covers
the work, not its launch. A CUDA out-of-memory error or a DataLoader worker that died or
timed out becomes a :class:`Measurement` with ``error`` set, and the run goes on.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from blitzbench.results.records import Measurement
from blitzbench.seeding import DEFAULT_SEED, seed_everything
from blitzbench.timing.clocks import Clock, clock_for
from blitzbench.timing.rates import derived_rates
from blitzbench.workloads.catalog import Case, Workload

__all__ = ["LONG_CALL_S", "MAX_CALLS_PER_ROUND", "MAX_ROUNDS", "SEED", "TARGET_ROUND_S",
           "Calibration",
           "calibrate", "failure_message", "measure", "release_cuda_memory",
           "teardown", "time_rounds"]

TARGET_ROUND_S = 2e-3  # 2 ms rounds: perf_counter (~100 ns) and a CUDA sync (~10 us) vanish
MAX_CALLS_PER_ROUND = 1 << 20
MAX_CALIBRATION_GROWTH = 10  # grow calls per round at most tenfold per step
MAX_ROUNDS = 10_000
#: A warm-up call this long settles calls per round at one: a warm call would have to be
#: 50 times faster than the one before it to fall under TARGET_ROUND_S.
LONG_CALL_S = 50 * TARGET_ROUND_S
SEED = DEFAULT_SEED


@dataclass(frozen=True)
class Calibration:
    """Calls per round, and how long the last calibration round took."""

    calls_per_round: int
    round_s: float


def timed_round(run: Callable[[], Any], calls: int, clock: Clock) -> float:
    """Seconds for ``calls`` calls of ``run``, between two reads of ``clock``."""
    start = clock()
    for _ in range(calls):
        run()
    return clock() - start


def calibrate(run: Callable[[], Any], clock: Clock,
              target_round_s: float = TARGET_ROUND_S) -> Calibration:
    """Grow the calls per round until a round lasts ``target_round_s``."""
    calls = 1
    elapsed = timed_round(run, calls, clock)
    while elapsed < target_round_s and calls < MAX_CALLS_PER_ROUND:
        wanted = math.ceil(calls * target_round_s / max(elapsed, 1e-9))
        calls = min(max(calls + 1, wanted), calls * MAX_CALIBRATION_GROWTH, MAX_CALLS_PER_ROUND)
        elapsed = timed_round(run, calls, clock)
    return Calibration(calls, elapsed)


def rounds_for(calibration: Calibration, min_rounds: int, max_time_s: float) -> int:
    """Rounds that fill ``max_time_s``, at least ``min_rounds``."""
    by_time = math.ceil(max_time_s / calibration.round_s) if calibration.round_s > 0 else 0
    return max(min_rounds, min(by_time, MAX_ROUNDS))


def time_rounds(run: Callable[[], Any], clock: Clock, *, min_rounds: int, max_time_s: float,
                warmup: int) -> tuple[tuple[float, ...], int]:
    """Warm up, calibrate, then per-call times of each round, and the calls per round.

    The last warm-up call is timed: when it lasts :data:`LONG_CALL_S` or more, one call
    per round is already certain and the calibration call is skipped (a DataLoader pass
    over thousands of images takes seconds; a second untimed pass would only cost the run time).
    """
    for _ in range(warmup - 1):
        run()
    last_warmup_s = timed_round(run, 1, clock) if warmup > 0 else 0.0
    calibration = (Calibration(1, last_warmup_s) if last_warmup_s >= LONG_CALL_S
                   else calibrate(run, clock))
    rounds = rounds_for(calibration, min_rounds, max_time_s)
    calls = calibration.calls_per_round
    times = tuple(timed_round(run, calls, clock) / calls for _ in range(rounds))
    return times, calls


def measure(case: Case, *, min_rounds: int | None = None, max_time_s: float | None = None,
            warmup: int | None = None, clock: Clock | None = None) -> Measurement:
    """Measure ``case``; settings left out come from the case's own timing policy.

    ``clock`` replaces the device's clock (tests use it to prove that a wrong timer is
    caught by the validation against torch.utils.benchmark).
    """
    seed_everything()
    workload: Workload | None = None
    try:
        workload = case.build()
        times, calls = time_rounds(
            workload.run, clock or clock_for(case.device),
            min_rounds=case.min_rounds if min_rounds is None else min_rounds,
            max_time_s=case.max_time_s if max_time_s is None else max_time_s,
            warmup=case.warmup if warmup is None else warmup)
        extra = _extra(case, workload, times, calls)
        return Measurement(case.benchmark, case.device, dict(case.params), times, extra)
    except RuntimeError as exc:
        message = failure_message(case, exc)
        if message is None:
            raise
        return Measurement(case.benchmark, case.device, dict(case.params), error=message)
    finally:
        teardown(workload)
        workload = None  # drop the last reference before the cache is emptied
        release_cuda_memory(case.device)


def _extra(case: Case, workload: Workload, times: tuple[float, ...],
           calls: int) -> dict[str, Any]:
    median = Measurement("", "", times_s=times).median_s
    extra: dict[str, Any] = {"calls_per_round": calls, "torch_threads": torch.get_num_threads(),
                             "seed": SEED}
    extra.update(derived_rates(workload.units, case.params, case.device, median))
    if workload.probe is not None:
        extra.update(workload.probe())
    return extra


def failure_message(case: Case, exc: BaseException) -> str | None:
    """The recorded error for a failure that is a result rather than a bug, else None."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        where = (f"batch {case.params['batch_size']}" if "batch_size" in case.params
                 else ", ".join(f"{k}={v}" for k, v in case.params.items()))
        return f"CUDA out of memory at {where} on {case.device}: {_first_line(exc)}"
    text = str(exc)
    if "DataLoader worker" in text or "DataLoader timed out" in text:
        return (f"DataLoader failed with num_workers={case.params.get('num_workers')} "
                f"on {case.device}: {_first_line(exc)}")
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def teardown(workload: Workload | None) -> None:
    if workload is not None and workload.teardown is not None:
        workload.teardown()


def release_cuda_memory(device: str) -> None:
    """Hand cached CUDA memory back so the next case (or an OOM's successor) starts clean."""
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()

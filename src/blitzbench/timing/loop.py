"""The timing loop: warm up, calibrate, then time rounds of many calls.

The algorithm, in the spirit of ``torch.utils.benchmark``'s ``blocked_autorange``: after
``warmup`` calls (the last one timed), the number of calls per round grows until one round
lasts at least :data:`TARGET_ROUND_S` (so the clock's resolution and, on CUDA, the
synchronisation at the round's ends cost under a few percent), then rounds are timed until
both ``min_rounds`` and ``max_time_s`` are reached. Each round yields one per-call time;
the median of those is the figure, its IQR the spread.

One round is one call of a *round function*, ``round_fn(calls)``. For a workload with a
statement it is a compiled loop that executes the statement ``calls`` times (as timeit
does), so no Python call per execution is in the figure; otherwise it calls ``run``
``calls`` times. :func:`plan_rounds` does the warm-up and calibration and returns a
:class:`RoundPlan`; the suite's runner times the plan's rounds itself
(:func:`time_plan`), the pytest-benchmark plugin hands the same round function to
``benchmark.pedantic``. Both paths therefore share every step but the last clock reads.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from blitzbench.timing.clocks import Clock
from blitzbench.timing.statement import compile_round
from blitzbench.timing.workload import Workload

__all__ = ["LONG_CALL_S", "MAX_CALLS_PER_ROUND", "MAX_ROUNDS", "TARGET_ROUND_S", "Calibration",
           "RoundFn", "RoundPlan", "calibrate", "plan_rounds", "repeat_calls",
           "round_function", "rounds_for", "time_plan", "time_rounds", "timed_round"]

TARGET_ROUND_S = 2e-3  # 2 ms rounds: perf_counter (~100 ns) and a CUDA sync (~10 us) vanish
MAX_CALLS_PER_ROUND = 1 << 20
MAX_CALIBRATION_GROWTH = 10  # grow calls per round at most tenfold per step
MAX_ROUNDS = 10_000  # results/records.py accepts no more per record
#: A warm-up call this long settles calls per round at one: a warm call would have to be
#: 50 times faster than the one before it to fall under TARGET_ROUND_S.
LONG_CALL_S = 50 * TARGET_ROUND_S

#: ``round_fn(calls)`` does ``calls`` units of work.
RoundFn = Callable[[int], object]


@dataclass(frozen=True)
class Calibration:
    """Calls per round, and how long the last calibration round took."""

    calls_per_round: int
    round_s: float


@dataclass(frozen=True)
class RoundPlan:
    """What warm-up and calibration decided: call ``round_fn(calls_per_round)`` ``rounds``
    times, reading the clock at both ends of each call."""

    round_fn: RoundFn
    calls_per_round: int
    rounds: int


def repeat_calls(run: Callable[[], object]) -> RoundFn:
    """The round function of a plain callable: ``run()`` ``calls`` times."""
    def round_fn(calls: int) -> None:
        for _ in itertools.repeat(None, calls):
            run()
    return round_fn


def round_function(workload: Workload) -> RoundFn:
    """The compiled statement loop when the workload has a statement, else ``run`` repeated."""
    if workload.stmt is not None:
        return compile_round(workload.stmt, workload.stmt_globals)
    return repeat_calls(workload.run)


def timed_round(round_fn: RoundFn, calls: int, clock: Clock) -> float:
    """Seconds for one round of ``calls`` calls, between two reads of ``clock``."""
    start = clock()
    round_fn(calls)
    return clock() - start


def calibrate(round_fn: RoundFn, clock: Clock,
              target_round_s: float = TARGET_ROUND_S) -> Calibration:
    """Grow the calls per round until a round lasts ``target_round_s``."""
    calls = 1
    elapsed = timed_round(round_fn, calls, clock)
    while elapsed < target_round_s and calls < MAX_CALLS_PER_ROUND:
        wanted = math.ceil(calls * target_round_s / max(elapsed, 1e-9))
        calls = min(max(calls + 1, wanted), calls * MAX_CALIBRATION_GROWTH, MAX_CALLS_PER_ROUND)
        elapsed = timed_round(round_fn, calls, clock)
    return Calibration(calls, elapsed)


def rounds_for(calibration: Calibration, min_rounds: int, max_time_s: float) -> int:
    """Rounds that fill ``max_time_s``, at least ``min_rounds``."""
    by_time = math.ceil(max_time_s / calibration.round_s) if calibration.round_s > 0 else 0
    return max(min_rounds, min(by_time, MAX_ROUNDS))


def plan_rounds(round_fn: RoundFn, clock: Clock, *, min_rounds: int, max_time_s: float,
                warmup: int, calls_per_round: int | None = None) -> RoundPlan:
    """Warm up and calibrate ``round_fn``; the plan both timing paths then follow.

    The last warm-up call is timed: when it lasts :data:`LONG_CALL_S` or more, one call
    per round is already certain and the calibration call is skipped (a DataLoader pass
    over thousands of images takes seconds; a second untimed pass would only cost run time).
    A later repeat of a case passes the ``calls_per_round`` its first repeat settled on:
    no calibration, and rounds sized from the timed warm-up call.
    """
    if warmup > 1:
        round_fn(warmup - 1)
    last_warmup_s = timed_round(round_fn, 1, clock) if warmup > 0 else 0.0
    if calls_per_round is not None:
        calibration = Calibration(calls_per_round, last_warmup_s * calls_per_round)
    elif last_warmup_s >= LONG_CALL_S:
        calibration = Calibration(1, last_warmup_s)
    else:
        calibration = calibrate(round_fn, clock)
    return RoundPlan(round_fn, calibration.calls_per_round,
                     rounds_for(calibration, min_rounds, max_time_s))


def time_plan(plan: RoundPlan, clock: Clock) -> tuple[float, ...]:
    """The per-call time of each of the plan's rounds."""
    calls = plan.calls_per_round
    return tuple(timed_round(plan.round_fn, calls, clock) / calls for _ in range(plan.rounds))


def time_rounds(round_fn: RoundFn, clock: Clock, *, min_rounds: int, max_time_s: float,
                warmup: int) -> tuple[tuple[float, ...], int]:
    """Plan, then time: per-call times of each round, and the calls per round."""
    plan = plan_rounds(round_fn, clock, min_rounds=min_rounds, max_time_s=max_time_s,
                       warmup=warmup)
    return time_plan(plan, clock), plan.calls_per_round

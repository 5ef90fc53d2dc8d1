"""Measure one catalog case: seed, build, time through timing/loop.py, derive rates.

This is the suite's runner (``blitzbench accept`` and the tests call :func:`measure`); the
pytest-benchmark plugin (blitzbench/benchmark_plugin.py) builds and plans a case with the
same :func:`plan_case` and records its figures with the same :func:`case_extra`, so the two
paths differ only in who reads the clock around each round.

A CUDA case is timed with a clock that synchronises before it reads, so the time covers
the work, not its launch. A CUDA out-of-memory error or a DataLoader worker that died or
timed out becomes a :class:`Measurement` with ``error`` set, and the run goes on.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

import torch

from blitzbench.results import stats
from blitzbench.results.names import BATCH_PARAM, WORKERS_PARAM
from blitzbench.results.records import Measurement
from blitzbench.seeding import DEFAULT_SEED, seed_everything
from blitzbench.timing.clocks import Clock, clock_for
from blitzbench.timing.loop import RoundPlan, plan_rounds, round_function, time_plan
from blitzbench.timing.rates import derived_rates
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import Case

__all__ = ["SEED", "case_extra", "failure_message", "measure", "plan_case",
           "release_cuda_memory", "teardown"]

SEED = DEFAULT_SEED


def measure(case: Case, *, min_rounds: int | None = None, max_time_s: float | None = None,
            warmup: int | None = None, clock: Clock | None = None,
            calls_per_round: int | None = None,
            earlier: Sequence[float] = ()) -> Measurement:
    """Measure ``case``; settings left out come from the case's own timing policy.

    ``clock`` replaces the device's clock (tests use it to prove that a wrong timer is
    caught by the validation against torch.utils.benchmark). A later repeat of a case
    passes the first repeat's ``calls_per_round`` (no second calibration) and the
    ``earlier`` repeats' times, so the rates it derives are those of the pooled median.
    """
    seed_everything()
    workload: Workload | None = None
    clock = clock or clock_for(case.device)
    try:
        workload = case.build()
        plan = plan_case(case, workload, clock, min_rounds=min_rounds,
                         max_time_s=max_time_s, warmup=warmup, calls_per_round=calls_per_round)
        times = time_plan(plan, clock)
        extra = case_extra(case, workload, stats.median((*earlier, *times)),
                           plan.calls_per_round)
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


def plan_case(case: Case, workload: Workload, clock: Clock, *, min_rounds: int | None = None,
              max_time_s: float | None = None, warmup: int | None = None,
              calls_per_round: int | None = None) -> RoundPlan:
    """Warm up and calibrate a built case under its timing policy (or the overrides)."""
    return plan_rounds(round_function(workload), clock,
                       min_rounds=case.min_rounds if min_rounds is None else min_rounds,
                       max_time_s=case.max_time_s if max_time_s is None else max_time_s,
                       warmup=case.warmup if warmup is None else warmup,
                       calls_per_round=calls_per_round)


def case_extra(case: Case, workload: Workload, median_s: float,
               calls_per_round: int) -> dict[str, Any]:
    """What a record carries beside its times: calls per round, threads, seed, the rates
    derived from the median, and the workload's probe."""
    extra: dict[str, Any] = {"calls_per_round": calls_per_round,
                             "torch_threads": torch.get_num_threads(), "seed": SEED}
    extra.update(derived_rates(workload.units, case.params, case.device, median_s))
    if workload.probe is not None:
        extra.update(workload.probe())
    return extra


def failure_message(case: Case, exc: BaseException) -> str | None:
    """The recorded error for a failure that is a result rather than a bug, else None."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        where = (f"batch {case.params[BATCH_PARAM]}" if BATCH_PARAM in case.params
                 else ", ".join(f"{k}={v}" for k, v in case.params.items()))
        return f"CUDA out of memory at {where} on {case.device}: {_first_line(exc)}"
    text = str(exc)
    if "DataLoader worker" in text or "DataLoader timed out" in text:
        return (f"DataLoader failed with num_workers={case.params.get(WORKERS_PARAM)} "
                f"on {case.device}: {_first_line(exc)}")
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def teardown(workload: Workload | None) -> None:
    """Release what the workload's ``build`` took (its own ``teardown``), if anything."""
    if workload is not None and workload.teardown is not None:
        workload.teardown()


def release_cuda_memory(device: str) -> None:
    """Hand cached CUDA memory back so the next case (or an OOM's successor) starts clean."""
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()

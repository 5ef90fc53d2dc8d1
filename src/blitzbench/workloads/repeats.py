"""Measure a case in several repeats spread across a run, and join them into one record.

A shared machine drifts: on this project's 2-core VM the same 512x512 matmul's median
moves between 1.45 and 3.3 ms from one two-second window to the next (docs/benchmarks.md,
"Comparing two runs"). Rounds taken back to back all see one window, so their spread says nothing
of the drift, and two runs minutes apart look different beyond their rounds' spread.
pyperf answers this by measuring in many worker processes; blitzbench's acceptance run
measures each case in ``repeats`` passes over the whole catalog (each repeat rebuilds the
case: fresh tensors, a fresh DataLoader), so the repeats of one case are seconds apart
and the drift shows between them. ``results/compare.py`` then tests the repeats.

The case's time budget and minimum rounds are split between its repeats, so a level's
run time grows only by the extra warm-up call and build of each repeat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from blitzbench.results.records import Measurement
from blitzbench.timing.loop import LONG_CALL_S
from blitzbench.workloads.catalog import Case
from blitzbench.workloads.measure import measure

__all__ = ["LONG_CASE_REPEATS", "MIN_REPEAT_ROUNDS", "measure_repeat", "merge_repeats",
           "takes_part"]

#: Rounds a repeat holds at least: a repeat's median is then the middle of three rounds,
#: never one round (a single round caught by a neighbour's burst would be the repeat).
MIN_REPEAT_ROUNDS = 3
#: Repeats of a case whose call lasts LONG_CALL_S or more (a DataLoader pass): each holds
#: MIN_REPEAT_ROUNDS rounds, so three of them take the nine rounds eight repeats of one
#: round took, spread over the run (the first, middle and last passes).
LONG_CASE_REPEATS = 3

#: Warm-up calls of every repeat after the first: the first already warmed caches,
#: allocator and kernels; one call lets the rebuilt case touch its fresh memory. A case
#: whose call lasts LONG_CALL_S or more (a DataLoader pass) is its own warm-up: none.
LATER_WARMUP = 1


def measure_repeat(case: Case, earlier: Sequence[Measurement], repeats: int) -> Measurement:
    """One repeat of ``case``: 1/``repeats`` of its rounds and time budget. Repeats after
    the first keep the first's calls per round and derive their rates from the pooled
    median of every repeat so far."""
    min_rounds = max(MIN_REPEAT_ROUNDS, math.ceil(case.min_rounds / repeats))
    max_time_s = case.max_time_s / repeats
    if not earlier:
        return measure(case, min_rounds=min_rounds, max_time_s=max_time_s)
    long_call = earlier[0].median_s >= LONG_CALL_S
    return measure(case, min_rounds=min_rounds, max_time_s=max_time_s,
                   warmup=0 if long_call else min(case.warmup, LATER_WARMUP),
                   calls_per_round=int(earlier[0].extra["calls_per_round"]),
                   earlier=[t for part in earlier for t in part.times_s])


def merge_repeats(case: Case, parts: Sequence[Measurement], wall_s: float) -> Measurement:
    """The case's record: every repeat's rounds in order, ``blocks`` saying which is
    which, the last repeat's figures (derived from the pooled median). A repeat that
    failed makes the case a failure: its error, no figure."""
    failed = next((part for part in parts if not part.ok), None)
    params = dict(case.params)
    if failed is not None:
        return Measurement(case.benchmark, case.device, params, error=failed.error or
                           "a repeat recorded no rounds", wall_s=wall_s)
    times = tuple(t for part in parts for t in part.times_s)
    blocks = tuple(len(part.times_s) for part in parts) if len(parts) > 1 else ()
    return Measurement(case.benchmark, case.device, params, times, dict(parts[-1].extra),
                       wall_s=wall_s, blocks=blocks)


def takes_part(earlier: Sequence[Measurement], repeat: int, repeats: int) -> bool:
    """Whether a case is measured in pass ``repeat`` of ``repeats``: every pass, unless
    its first repeat showed a long call, then only the first, middle and last passes."""
    if not earlier or repeats <= LONG_CASE_REPEATS or earlier[0].median_s < LONG_CALL_S:
        return True
    chosen = {0, repeats // 2, repeats - 1}
    return repeat in chosen

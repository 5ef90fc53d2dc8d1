"""Tensor ops from the tutorial at 5x3 and at a memory-system size, the numpy bridge,
host-to-device copies and a matrix product (cases: workloads/tensor_ops.py), and the
harness-overhead benchmark."""

from __future__ import annotations

import pytest
import torch

from blitzbench.benchmark_plugin import (
    PerCallTimer,
    benchmark_case,
    machine_window,
    per_call_timer,
    skip_if_busy,
)
from blitzbench.results.names import SCALE_PARAM, SIZE_PARAM
from blitzbench.timing.clocks import host_clock
from blitzbench.timing.validation import harness_bound, interleaved_medians_s
from blitzbench.workloads.catalog import QUICK, Case
from blitzbench.workloads.measure import measure
from blitzbench.workloads.tensor_ops import TUTORIAL_SHAPE, build_add_operator

BENCHMARK_FAMILY = "tensor_ops"
OVERHEAD_BUDGET_S = 0.2  # time each timer spends on the 5x3 add, per repeat
OVERHEAD_REPEATS = 3
OVERHEAD_MIN_ROUNDS = 5
#: Issue 3's target: the suite's median within 1.10x of torch.utils.benchmark's. Reported,
#: not asserted: on a shared box noise alone can miss it (the assertion is harness_bound).
HARNESS_OVERHEAD_TARGET = 1.10


def test_tensor_ops(case, bench_case):
    bench_case(case)


def _add_case() -> Case:
    return Case("tensor_ops.add_operator", "cpu", {SCALE_PARAM: "tutorial", SIZE_PARAM: "5x3"},
                frozenset({QUICK}), lambda: build_add_operator(TUTORIAL_SHAPE, torch.device("cpu")),
                min_rounds=OVERHEAD_MIN_ROUNDS, max_time_s=OVERHEAD_BUDGET_S)


@pytest.mark.benchmark(timer=PerCallTimer(host_clock))
def test_harness_overhead(benchmark, request):
    """The 5x3 add timed three ways in one run: pytest-benchmark through the plugin's own
    path (this benchmark's figure), the suite's runner, and ``torch.utils.benchmark`` on
    the bare ``x + y``, runner and reference interleaved so drifting load on a shared box
    hits both alike. The ratios and the 1.10x target go to extra_info; the runner must
    stay within harness_bound (0.67x-1.5x), which only a broken timer leaves; a bound
    broken while other processes held the cores is skipped as not judged (ratio 0.42
    here, 2026-12-06, with the load average at 7.9 on the 2 cores)."""
    case = _add_case()
    benchmark_case(benchmark, case, per_call_timer(request.node))
    benchmark.group = "harness_overhead"
    if not benchmark.enabled:
        return
    x, y = torch.rand(TUTORIAL_SHAPE), torch.rand(TUTORIAL_SHAPE)
    with machine_window(request.config) as window:
        runner, reference = interleaved_medians_s(lambda: measure(case).median_s, "x + y",
                                                  {"x": x, "y": y}, OVERHEAD_BUDGET_S,
                                                  OVERHEAD_REPEATS)
    suite = benchmark.stats.stats.median
    benchmark.extra_info.update({
        "torch_utils_benchmark_median_s": reference, "pytest_benchmark_median_s": suite,
        "runner_median_s": runner, "pytest_benchmark_over_reference": suite / reference,
        "runner_over_reference": runner / reference, "target_ratio": HARNESS_OVERHEAD_TARGET,
        "within_target": max(suite, runner) / reference <= HARNESS_OVERHEAD_TARGET})
    bound = harness_bound(runner, reference)
    if not bound.within:
        skip_if_busy(window, bound.describe())  # a bound broken on a busy machine: not judged
    assert bound.within, bound.describe()

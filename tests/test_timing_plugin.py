"""The pytest-benchmark integration end to end, driven in a subprocess as pytest-benchmark
tests itself: autosave under reports/benchmarks, compare in a second run, machine info,
extra_info, per-call statistics, the shared long-call shortcut, --benchmark-disable, and
the summary lines."""

from __future__ import annotations

import json

import pytest

from blitzbench.benchmark_plugin import summary_lines
from blitzbench.devices import cuda_available
from blitzbench.results.records import Measurement
from blitzbench.timing.loop import TARGET_ROUND_S

pytest_plugins = ["pytester"]

BENCHMARK_FILE = """
BENCHMARK_FAMILY = "tensor_ops"


def test_tensor_ops(case, bench_case):
    bench_case(case)
"""
ONE_CASE = ("-k", "add_out-cpu-tutorial", "-p", "no:cacheprovider", "-p", "no:randomly")
LONG_CALL_FILE = """
import time

import pytest

from blitzbench.benchmark_plugin import case_param
from blitzbench.timing.loop import LONG_CALL_S
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import Case

CALLS = []


def run():
    CALLS.append(1)
    time.sleep(LONG_CALL_S)


CASE = Case("tensor_ops.sleep", "cpu", {}, frozenset({"quick"}), lambda: Workload(run),
            min_rounds=3, max_time_s=0.0, warmup=1)


@pytest.mark.parametrize("case", [case_param(CASE)])
def test_long_call(case, bench_case):
    extra = bench_case(case)
    assert extra["calls_per_round"] == 1
    assert len(CALLS) == 4  # one warm-up, no calibration call, three timed rounds
"""


@pytest.fixture
def bench_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_bench=BENCHMARK_FILE)
    return pytester


def _saved(pytester: pytest.Pytester) -> list:
    return sorted((pytester.path / "reports" / "benchmarks").glob("*/*.json"))


@pytest.mark.slow  # two pytest sittings: 18 s here (2026-12-06); the gate's tests cover the pair
def test_autosave_then_compare_out_of_the_box(bench_dir: pytest.Pytester):
    """One timed run saved two ways (autosave, --benchmark-json: a pytester run is 6-7 s
    here under load 3-4, 2026-12-06, so one serves both), then a second run compares
    against the first."""
    output = bench_dir.path / "run.json"
    first = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-autosave",
                                           f"--benchmark-json={output}")
    first.assert_outcomes(passed=1)
    saved = _saved(bench_dir)
    assert len(saved) == 1 and saved[0].name.startswith("0001_")
    data = json.loads(saved[0].read_text())
    facts = data["machine_info"]["blitzbench"]
    assert {"torch", "torchvision", "numpy", "cudnn", "gpus", "cpu", "torch_threads",
            "level"} <= set(facts)
    extra = data["benchmarks"][0]["extra_info"]
    assert extra["gb_per_s"] > 0 and extra["device"] == "cpu"
    assert extra["peak"].startswith("unknown device")
    _assert_statistics_are_per_call(json.loads(output.read_text()))

    second = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-compare",
                                            "--benchmark-compare-fail=median:1000%")
    second.assert_outcomes(passed=1)
    # the table sorts rows by speed, so either row may come first
    second.stdout.fnmatch_lines(["*add_out-cpu-tutorial-5x3*(0001*"])
    second.stdout.fnmatch_lines(["*add_out-cpu-tutorial-5x3*(NOW)*"])


def _assert_statistics_are_per_call(saved: dict) -> None:
    """pytest-benchmark times whole rounds of the compiled loop; the per-call timer makes
    its statistics per call: a 5x3 add is microseconds, a round about TARGET_ROUND_S."""
    (bench,) = saved["benchmarks"]
    stats, calls = bench["stats"], bench["extra_info"]["calls_per_round"]
    assert calls > 100 and stats["iterations"] == calls
    assert 1e-8 < stats["min"] <= stats["median"] <= stats["max"] < 1e-4
    assert len(stats["data"]) == stats["rounds"] >= 5
    assert stats["median"] * calls > TARGET_ROUND_S / 4  # a round's worth, not a call's
    assert bench["options"]["timer"] == "host_clock per call"


def test_the_long_call_shortcut_is_shared_with_the_runner(pytester: pytest.Pytester):
    """The runner's test is tests/test_timing.py::test_a_long_warm_up_call_stands_in_..."""
    pytester.makepyfile(test_long=LONG_CALL_FILE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_disable_runs_each_case_once_untimed(bench_dir: pytest.Pytester):
    result = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-disable",
                                            "--benchmark-autosave")
    result.assert_outcomes(passed=1)


# a pytest run of its own: 7-10 s here; CI runs it
@pytest.mark.slow
def test_explicit_storage_is_respected(bench_dir: pytest.Pytester):
    target = bench_dir.path / "elsewhere"
    result = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-autosave",
                                            f"--benchmark-storage=file://{target}")
    result.assert_outcomes(passed=1)
    assert list(target.glob("*/*.json")) and not _saved(bench_dir)


@pytest.mark.skipif(cuda_available(), reason="checks the skip reason on a machine without CUDA")
def test_cuda_cases_skip_with_a_reason_without_a_gpu(bench_dir: pytest.Pytester):
    result = bench_dir.runpytest_subprocess("-k", "add_out and tutorial", "-rs",
                                            "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no CUDA device*"])


def test_unknown_level_is_a_usage_error(bench_dir: pytest.Pytester):
    result = bench_dir.runpytest_subprocess("--blitz-level", "huge")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def _record(benchmark: str, device: str, images_per_s: float, **params) -> Measurement:
    return Measurement(benchmark, device, params, (1e-3,) * 3, {"images_per_s": images_per_s})


def test_summary_names_best_workers_and_cuda_speedup():
    lines = summary_lines([
        _record("loading.dataloader", "cpu", 4600.0, batch_size=4, num_workers=0),
        _record("loading.dataloader", "cpu", 1000.0, batch_size=4, num_workers=2),
        _record("lenet.train_step", "cpu", 5000.0, batch_size=64, variant="eager"),
        _record("lenet.train_step", "cuda:0", 50000.0, batch_size=64, variant="eager"),
    ])
    assert "DataLoader on cpu: best num_workers per batch size: batch 4 -> 0" in lines
    assert ("lenet.train_step[batch_size=64,variant=eager]: cuda:0 over cpu 10.0x "
            "(50,000 vs 5,000 img/s)") in lines

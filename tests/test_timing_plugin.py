"""The pytest-benchmark integration end to end, driven in a subprocess as pytest-benchmark
tests itself: autosave under reports/benchmarks, compare in a second run, machine info,
extra_info, --benchmark-disable, and the summary lines."""

from __future__ import annotations

import json

import pytest

from blitzbench.devices import cuda_available
from blitzbench.timing.pytest_plugin import summary_lines
from blitzbench.workloads.catalog import Case

pytest_plugins = ["pytester"]

BENCHMARK_FILE = """
BENCHMARK_FAMILY = "tensor_ops"


def test_tensor_ops(case, bench_case):
    bench_case(case)
"""
ONE_CASE = ("-k", "add_out-cpu-tutorial", "-p", "no:cacheprovider", "-p", "no:randomly")


@pytest.fixture
def bench_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_bench=BENCHMARK_FILE)
    return pytester


def _saved(pytester: pytest.Pytester) -> list:
    return sorted((pytester.path / "reports" / "benchmarks").glob("*/*.json"))


def test_autosave_then_compare_out_of_the_box(bench_dir: pytest.Pytester):
    first = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-autosave")
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

    second = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-compare",
                                            "--benchmark-compare-fail=median:1000%")
    second.assert_outcomes(passed=1)
    # the table sorts rows by speed, so either row may come first
    second.stdout.fnmatch_lines(["*add_out-cpu-tutorial-5x3*(0001*"])
    second.stdout.fnmatch_lines(["*add_out-cpu-tutorial-5x3*(NOW)*"])


def test_disable_runs_each_case_once_untimed(bench_dir: pytest.Pytester):
    result = bench_dir.runpytest_subprocess(*ONE_CASE, "--benchmark-disable",
                                            "--benchmark-autosave")
    result.assert_outcomes(passed=1)


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


def _result(benchmark: str, device: str, images_per_s: float, **params) -> tuple:
    return (Case(benchmark, device, params, frozenset({"quick"}), lambda: None),
            {"images_per_s": images_per_s})


def test_summary_names_best_workers_and_cuda_speedup():
    lines = summary_lines([
        _result("loading.dataloader", "cpu", 4600.0, batch_size=4, num_workers=0),
        _result("loading.dataloader", "cpu", 1000.0, batch_size=4, num_workers=2),
        _result("lenet.train_step", "cpu", 5000.0, batch_size=64, variant="eager"),
        _result("lenet.train_step", "cuda:0", 50000.0, batch_size=64, variant="eager"),
    ])
    assert "DataLoader on cpu: best num_workers per batch size: batch 4 -> 0" in lines
    assert any(line.startswith("lenet.train_step eager batch 64: cuda:0 over cpu 10.0x")
               for line in lines)

"""Metric extraction and rule judging, on Measurement records built in the test."""

from __future__ import annotations

import math

import pytest

from blitzbench.acceptance.junit import junit_xml
from blitzbench.acceptance.metrics import extract_metrics, metric_prefix
from blitzbench.acceptance.rules import (
    ACCEPTED,
    INCONCLUSIVE,
    REJECTED,
    RunDevices,
    Status,
    judge,
    verdict,
)
from blitzbench.acceptance.spec import parse_spec
from blitzbench.results.records import Measurement, RunResults
from blitzbench.runner.steps import measure_with_retry

STEP = "lenet.train_step"
STEP_64 = "lenet.train_step[batch_size=64,variant=eager].images_per_s"


def step(device: str, batch: int, images_per_s: float, spread: float = 0.0,
         error: str | None = None) -> dict:
    """A LeNet step record whose per-round times have IQR/median of about ``spread``."""
    median = batch / images_per_s
    times = (median * (1 - spread), median * (1 - spread / 2), median,
             median * (1 + spread / 2), median * (1 + spread))
    params = {"batch_size": batch, "variant": "eager"}
    if error:
        return Measurement(STEP, device, params, error=error).to_json()
    return Measurement(STEP, device, params, times, {"images_per_s": images_per_s}).to_json()


def metrics_of(sections: dict) -> list:
    """Metric values of results.json sections, read through the one reader."""
    return extract_metrics(RunResults.from_json(sections))


def spec_of(*rules: str, known=None):
    known = known or [STEP_64, "lenet.cuda_speedup[batch_size=64]",
                      "lenet.cuda_crossover_batch_size", "claims.all_as_expected",
                      "tensor_ops.add_out[scale=memory,size=2^28].gb_per_s",
                      "loader.scaling_efficiency[batch_size=64]"]
    return parse_spec("\n".join(rules), "t.toml", known)


def rule(metric: str, op: str, bound: str, device: str = "all", kind: str = "absolute",
         rule_id: str = "r") -> str:
    return (f'[[rule]]\nid = "{rule_id}"\nmetric = "{metric}"\ndevice = "{device}"\n'
            f'op = "{op}"\nbound = {bound}\nkind = "{kind}"\n')


CPU = RunDevices(("cpu",), {})
GPU = RunDevices(("cpu", "cuda:0"), {"cuda:0": "NVIDIA H200"})


def test_metric_names_sort_params_and_skip_bookkeeping():
    record = step("cpu", 64, 1000.0)
    record["extra"].update({"calls_per_round": 3, "peak_gb_per_s": 4800.0})
    names = {v.metric for v in metrics_of({"benchmarks": [record]})}
    assert names == {STEP_64, "lenet.train_step[batch_size=64,variant=eager].median_s"}
    assert metric_prefix("x", {"b": True, "a": 1}) == "x[a=1,b=true]"


def test_pass_and_fail_against_an_absolute_bound():
    values = metrics_of({"benchmarks": [step("cpu", 64, 1000.0)]})
    rows = judge(spec_of(rule(STEP_64, ">=", "900", rule_id="ok"),
                         rule(STEP_64, ">=", "2000", rule_id="too-high")), values, CPU)
    assert [r.status for r in rows] == [Status.PASS, Status.FAIL]
    assert "measured 1,000 images/s, bound >= 2000 images/s" in rows[1].detail
    assert verdict(rows) == REJECTED
    assert verdict(rows[:1]) == ACCEPTED


def test_gpu_rules_skip_with_a_reason_on_a_cpu_machine():
    rows = judge(spec_of(rule(STEP_64, ">=", "1", device="cuda")), [], CPU)
    assert [(r.status, r.detail) for r in rows] == [(Status.SKIPPED,
                                                     "no CUDA device in this run")]
    assert verdict(rows) == ACCEPTED


def test_a_figure_not_measured_at_this_level_is_skipped_and_a_failed_case_is_missing():
    rows = judge(spec_of(rule(STEP_64, ">=", "1")), [], CPU, level="quick")
    assert rows[0].status is Status.SKIPPED and "at level quick" in rows[0].detail
    failed = metrics_of({"benchmarks": [step("cpu", 64, 1.0, error="worker died")]})
    rows = judge(spec_of(rule(STEP_64, ">=", "1")), failed, CPU)
    assert rows[0].status is Status.MISSING and "worker died" in rows[0].detail
    planned_only = judge(spec_of(rule(STEP_64, ">=", "1")), [], CPU,
                         planned=[(STEP_64, "cpu")])
    assert planned_only[0].status is Status.MISSING
    assert verdict(rows) == verdict(planned_only) == REJECTED


@pytest.mark.parametrize(("bound", "expected"), [
    ("990", Status.NOISY),  # 1% under the median, IQR ~40%: cannot tell
    ("1010", Status.NOISY),
    ("100", Status.PASS),  # clears the bound by far more than its IQR
    ("5000", Status.FAIL),  # misses it by far more than its IQR
])
def test_a_noisy_figure_is_noisy_unless_it_is_clear_of_its_bound(bound, expected):
    values = metrics_of({"benchmarks": [step("cpu", 64, 1000.0, spread=0.4)]})
    assert values[0].noisy
    (row,) = judge(spec_of(rule(STEP_64, ">=", bound)), values, CPU)
    assert row.status is expected
    assert "noisy" in row.detail
    assert verdict([row]) == {Status.FAIL: REJECTED, Status.NOISY: INCONCLUSIVE}.get(
        expected, ACCEPTED)


def test_a_noisy_measurement_is_measured_once_more_and_the_steadier_kept():
    calls = []
    steady = Measurement(STEP, "cpu", {}, (1.0, 1.0, 1.0, 1.0, 1.0))
    shaky = Measurement(STEP, "cpu", {}, (0.5, 1.0, 1.0, 1.5, 2.0))

    def measure(case):
        calls.append(case)
        return shaky if len(calls) == 1 else steady

    kept = measure_with_retry("case", measure)
    assert len(calls) == 2 and not kept.noisy and kept.extra["remeasured"] is True
    calls.clear()
    assert measure_with_retry("case", lambda c: calls.append(c) or shaky, retry=False).noisy
    assert len(calls) == 1


def test_peak_fraction_uses_the_recorded_fraction_or_skips_an_unknown_device():
    params = {"scale": "memory", "size": "2^28"}
    known = Measurement("tensor_ops.add_out", "cuda:0", params, (1e-3,) * 5,
                        {"gb_per_s": 4290.0, "fraction_of_peak": 4290 / 4800}).to_json()
    unknown = Measurement("tensor_ops.add_out", "cuda:0", params, (1e-3,) * 5,
                          {"gb_per_s": 900.0, "peak": "unknown device"}).to_json()
    metric = "tensor_ops.add_out[scale=memory,size=*].gb_per_s"
    spec = spec_of(rule(metric, ">=", "0.85", device="cuda", kind="peak_fraction"))
    (row,) = judge(spec, metrics_of({"benchmarks": [known]}), GPU)
    assert row.status is Status.PASS and row.measured == pytest.approx(0.894, abs=1e-3)
    (row,) = judge(spec, metrics_of({"benchmarks": [unknown]}), GPU)
    assert row.status is Status.SKIPPED and "unknown device" in row.detail


def test_gpu_name_filter_selects_only_matching_gpus():
    spec = parse_spec(rule(STEP_64, ">=", "1", device="cuda") + 'gpu = "H100"\n', "t",
                      [STEP_64])
    (row,) = judge(spec, [], GPU)
    assert row.status is Status.SKIPPED and "H100" in row.detail


def test_cuda_speedup_and_crossover_are_derived_from_both_devices():
    records = [step("cpu", 4, 4000.0), step("cuda:0", 4, 2000.0),
               step("cpu", 64, 8000.0), step("cuda:0", 64, 40000.0)]
    values = {(v.metric, v.device): v for v in metrics_of({"benchmarks": records})}
    assert values[("lenet.cuda_speedup[batch_size=64]", "cuda:0")].value == pytest.approx(5)
    assert values[("lenet.cuda_speedup[batch_size=4]", "cuda:0")].value == pytest.approx(0.5)
    crossover = values[("lenet.cuda_crossover_batch_size", "cuda:0")]
    assert crossover.value == 64
    slower = [step("cpu", 64, 8000.0), step("cuda:0", 64, 4000.0)]
    never = [v for v in metrics_of({"benchmarks": slower})
             if v.metric == "lenet.cuda_crossover_batch_size"]
    assert math.isinf(never[0].value) and "never" in never[0].shown()
    (row,) = judge(spec_of(rule("lenet.cuda_crossover_batch_size", "<=", "1024",
                                device="cuda")), never, GPU)
    assert row.status is Status.FAIL


def test_loader_scaling_efficiency_from_one_worker_to_the_best_count():
    def loader(workers: int, rate: float) -> dict:
        params = {"batch_size": 64, "num_workers": workers, "pin_memory": False,
                  "images": 2048}
        return Measurement("loading.dataloader", "cpu", params, (1.0,) * 3,
                           {"images_per_s": rate}).to_json()

    records = [loader(0, 1200.0), loader(1, 1000.0), loader(2, 1600.0), loader(4, 1800.0)]
    (value,) = [v for v in metrics_of({"benchmarks": records})
                if v.metric.startswith("loader.")]
    assert value.metric == "loader.scaling_efficiency[batch_size=64]"
    assert value.value == pytest.approx(1800 / 1000 / 4)
    without_one = [v for v in metrics_of({"benchmarks": [records[0], records[2]]})
                   if v.metric.startswith("loader.")]
    assert without_one == []
    # one worker the fastest: the figure would be 1 worker over itself, so it is no figure
    one_best = [loader(0, 1200.0), loader(1, 1000.0), loader(2, 900.0)]
    (value,) = [v for v in metrics_of({"benchmarks": one_best})
                if v.metric.startswith("loader.")]
    assert value.value is None and "compare 1 worker with itself" in value.skipped
    (row,) = judge(spec_of(rule("loader.scaling_efficiency[batch_size=64]", ">=", "0.25")),
                   [value], CPU)
    assert row.status is Status.SKIPPED
    assert row.detail.startswith("among 1 or more workers, 1 was the fastest (worker counts "
                                 "measured: 0, 1, 2)")


def test_baseline_rule_tests_the_rounds_and_reports_percent_slower():
    old = metrics_of({"benchmarks": [step("cpu", 64, 1000.0, spread=0.02)]})
    new = metrics_of({"benchmarks": [step("cpu", 64, 800.0, spread=0.02)]})
    spec = spec_of(rule(STEP_64, "<=", "10", kind="baseline"))
    (row,) = judge(spec, new, CPU, baseline=old)
    # 800 instead of 1000 images/s: each step takes 1.25 times as long
    assert row.status is Status.FAIL and row.measured == pytest.approx(25.0)
    assert "25.0% slower" in row.shown and row.detail.startswith("SLOWER: 1.250x (95% CI")
    (row,) = judge(spec, old, CPU, baseline=new)
    assert row.status is Status.PASS and "faster" in row.shown
    (row,) = judge(spec, new, CPU)
    assert row.status is Status.SKIPPED and row.detail == "no --baseline given"


def test_claims_metrics_per_device():
    cells = [{"claim": "tensors.add_forms", "device": "cpu", "expected": "HOLDS",
              "verdict": "HOLDS", "passed": True, "summary": ""},
             {"claim": "tensors.add_inplace", "device": "cpu", "expected": "HOLDS",
              "verdict": "FAILS", "passed": False, "summary": "copied"},
             {"claim": "cuda.add_on_gpu", "device": "cuda:0", "expected": "HOLDS",
              "verdict": "SKIPPED", "passed": True, "summary": "no CUDA device"}]
    values = {(v.metric, v.device): v for v in metrics_of({"claims": cells})}
    assert values[("claims.all_as_expected", "cpu")].value == 0.0
    assert "tensors.add_inplace" in values[("claims.all_as_expected", "cpu")].shown()
    assert values[("claims.cuda.add_on_gpu", "cuda:0")].skipped == "no CUDA device"
    (row,) = judge(spec_of(rule("claims.all_as_expected", "==", "true")),
                   list(values.values()), CPU)
    assert row.status is Status.FAIL and row.bound_text == "as expected"


def test_junit_failure_names_rule_bound_and_measured_value():
    values = metrics_of({"benchmarks": [step("cpu", 64, 1000.0)]})
    rows = judge(spec_of(rule(STEP_64, ">=", "2000", rule_id="lenet-floor"),
                         rule(STEP_64, ">=", "1", device="cuda", rule_id="gpu-only")),
                 values, CPU)
    text = junit_xml(rows)
    assert 'failures="1"' in text and 'skipped="1"' in text
    assert ("rule 'lenet-floor': " + STEP_64 + " on cpu: measured 1,000 images/s, "
            "bound &gt;= 2000 images/s (FAIL)") in text


def test_a_noisy_baseline_makes_a_close_comparison_noisy():
    old = metrics_of({"benchmarks": [step("cpu", 64, 1000.0, spread=0.4)]})
    new = metrics_of({"benchmarks": [step("cpu", 64, 900.0)]})
    (row,) = judge(spec_of(rule(STEP_64, "<=", "15", kind="baseline")), new, CPU,
                   baseline=old)
    assert row.status is Status.NOISY
    assert row.detail.startswith("NOISY: 1.111x (95% CI") and "too spread to tell" in row.detail
    (row,) = judge(spec_of(rule(STEP_64, "<=", "5", kind="baseline")), new, CPU,
                   baseline=metrics_of({"benchmarks": [step("cpu", 64, 1000.0)]}))
    assert row.status is Status.FAIL and row.detail.startswith("SLOWER: 1.111x")


def test_a_slowdown_within_the_bound_passes_as_same():
    old = metrics_of({"benchmarks": [step("cpu", 64, 1000.0, spread=0.02)]})
    new = metrics_of({"benchmarks": [step("cpu", 64, 990.0, spread=0.02)]})
    (row,) = judge(spec_of(rule(STEP_64, "<=", "15", kind="baseline")), new, CPU,
                   baseline=old)
    assert row.status is Status.PASS and row.detail.startswith("SAME: 1.010x")

"""Harness tests for the benchmark catalog, the timing loop, the runner, the derived rates
and the peaks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from blitzbench.errors import DeviceError, UsageError
from blitzbench.timing import peaks
from blitzbench.timing.loop import (
    LONG_CALL_S,
    RoundPlan,
    calibrate,
    repeat_calls,
    round_function,
    time_plan,
    time_rounds,
)
from blitzbench.timing.rates import derived_rates
from blitzbench.timing.workload import Workload, statement_workload
from blitzbench.workloads import catalog, lenet_bench, loading, tensor_ops
from blitzbench.workloads.catalog import Case
from blitzbench.workloads.cifar import DataSource
from blitzbench.workloads.measure import measure

CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)
NO_DATA = DataSource("synthetic", Path("/nonexistent/never-written"))


def _case(build, **params) -> Case:
    return Case("tensor_ops.test", "cpu", params, frozenset({"quick"}), build)


# --- catalog ---------------------------------------------------------------------------

def test_every_level_has_cases_of_every_family_and_ids_are_unique():
    for level in catalog.LEVELS:
        found = catalog.cases(level, [CPU, CUDA], NO_DATA)
        assert {c.family for c in found} == set(catalog.FAMILIES), level
        ids = [(c.family, c.id) for c in found]
        assert len(ids) == len(set(ids)), level


def test_levels_nest_by_depth_and_compile_is_full_only_and_slow():
    quick = catalog.cases("quick", [CPU, CUDA], NO_DATA)
    full = catalog.cases("full", [CPU, CUDA], NO_DATA)
    assert len(quick) < len(catalog.cases("standard", [CPU, CUDA], NO_DATA)) < len(full)
    compiled = [c for c in full if c.params.get("variant") == "compile"]
    assert compiled and all(c.slow for c in compiled)
    assert not [c for c in quick if c.slow]


def test_building_cases_touches_no_data_and_no_gpu():
    # NO_DATA does not exist: listing cases must not read it, and cuda cases must not
    # need a GPU until built, so pytest can list and skip them here.
    assert catalog.cases("full", [CUDA], NO_DATA)


def test_cuda_only_work_is_not_planned_on_cpu():
    cpu_cases = catalog.all_cases([CPU], NO_DATA)
    assert not [c for c in cpu_cases if c.params.get("variant") in ("bf16", "cuda_graph")]
    assert not [c for c in cpu_cases if c.operation == "h2d_copy"]
    cuda_cases = catalog.all_cases([CUDA], NO_DATA)
    assert not [c for c in cuda_cases if c.operation in ("to_numpy", "from_numpy")]


def test_memory_sizes_are_the_documented_ones():
    def sizes(level, device):
        return {c.params["size"] for c in catalog.cases(level, [device], NO_DATA, "tensor_ops")
                if c.params.get("scale") == "memory"}
    assert sizes("quick", CPU) == {"2^22", "4xLLC"}  # 4xLLC: STREAM (workloads/stream.py)
    assert sizes("standard", CPU) == {"2^24", "4xLLC"}
    assert sizes("quick", CUDA) == {"2^28"}


def test_unknown_level_family_and_device_are_user_errors():
    with pytest.raises(UsageError, match="level"):
        catalog.cases("huge", [CPU], NO_DATA)
    with pytest.raises(UsageError, match="family"):
        catalog.cases("quick", [CPU], NO_DATA, family="nope")
    with pytest.raises(DeviceError, match="meta"):
        catalog.cases("quick", [torch.device("meta")], NO_DATA)
    with pytest.raises(DeviceError, match="unknown device"):
        catalog.cases("quick", ["gpu7"], NO_DATA)


@pytest.mark.parametrize("batch_size", [0, -4])
def test_bad_batch_size_is_a_usage_error(batch_size):
    with pytest.raises(UsageError, match="batch size"):
        loading.loader_case(CPU, NO_DATA, batch_size, 0, 64, ("quick",))
    with pytest.raises(UsageError, match="batch size"):
        lenet_bench.train_step_case(CPU, batch_size, "eager")


@pytest.mark.parametrize("workers", [-1, 10_000])
def test_worker_count_out_of_range_is_a_usage_error(workers):
    with pytest.raises(UsageError, match="num_workers"):
        loading.loader_case(CPU, NO_DATA, 4, workers, 64, ("quick",))


def test_worker_sweep_doubles_up_to_the_core_count():
    assert loading.worker_sweep(1) == [0, 1]
    assert loading.worker_sweep(2) == [0, 1, 2]
    assert loading.worker_sweep(6) == [0, 1, 2, 4, 6]
    assert loading.worker_sweep(16) == [0, 1, 2, 4, 8, 16]


# --- rates and peaks -------------------------------------------------------------------

def test_rates_from_units():
    rates = derived_rates({"images": 64, "bytes": 2e9}, {}, "cpu", 0.5)
    assert rates["images_per_s"] == pytest.approx(128)
    assert rates["gb_per_s"] == pytest.approx(4.0)
    assert "fraction_of_peak" not in rates
    assert rates["peak"].startswith("unknown device: cpu")
    assert derived_rates({"flop": 2e12}, {"dtype": "float32"}, "cpu", 1.0)["tflop_per_s"] == 2


def test_rates_reject_unknown_units_and_unusable_times():
    with pytest.raises(ValueError, match="unknown workload units"):
        derived_rates({"widgets": 1}, {}, "cpu", 1.0)
    assert derived_rates({"images": 1}, {}, "cpu", 0.0) == {}
    assert derived_rates({"images": 1}, {}, "cpu", float("nan")) == {}


def test_fraction_of_peak_on_a_listed_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H200")
    rates = derived_rates({"bytes": 4.29e12}, {}, "cuda:0", 1.0)
    assert rates["fraction_of_peak"] == pytest.approx(4.29 / 4.8)
    assert "4.80 TB/s" in rates["peak"] and "nvidia.com" in rates["peak"]
    flops = derived_rates({"flop": 790e12}, {"dtype": "bfloat16"}, "cuda:0", 1.0)
    assert flops["fraction_of_peak"] == pytest.approx(790 / 989.5)
    fp32 = derived_rates({"flop": 60e12}, {"dtype": "float32"}, "cuda:0", 1.0)
    assert "fraction_of_peak" not in fp32


def test_unlisted_gpu_is_unknown_never_guessed(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA GeForce RTX 9090")
    assert peaks.peak_for("cuda:0") is None
    rates = derived_rates({"bytes": 1e12}, {}, "cuda:0", 1.0)
    assert "fraction_of_peak" not in rates
    assert rates["peak"].startswith("unknown device: NVIDIA GeForce RTX 9090")


def test_link_peaks_are_one_direction_of_the_datasheet_figure():
    h200 = peaks.link_for("NVIDIA H200", world_size=8)
    assert h200 is not None and h200.gb_per_s == 450.0 and "900 GB/s" in h200.link
    assert peaks.link_for("NVIDIA A100 80GB PCIe", 2).gb_per_s == 32.0
    assert all(link.source.split(", ")[-1].startswith("https://") for link in peaks.LINKS)


@pytest.mark.parametrize(("name", "world", "nodes", "why"), [
    ("NVIDIA H200", 1, 1, "world size 1"),
    ("NVIDIA H200", 16, 2, "2 nodes"),
    ("cpu", 2, 1, "unknown link: cpu"),
    ("NVIDIA GeForce RTX 9090", 2, 1, "unknown link"),
])
def test_no_link_peak_where_none_applies(name, world, nodes, why):
    assert peaks.link_for(name, world, nodes) is None
    assert peaks.describe_link(name, world, nodes).startswith(why)


def test_peak_table_entries_have_sources_and_datasheet_values():
    assert {p.name for p in peaks.PEAKS} >= {"NVIDIA H100 80GB HBM3", "NVIDIA H200"}
    by_name = {p.name: p for p in peaks.PEAKS}
    assert by_name["NVIDIA H100 80GB HBM3"].memory_gb_per_s == 3350
    assert by_name["NVIDIA H200"].memory_gb_per_s == 4800
    assert all(p.source.split(", ")[-1].startswith("https://") for p in peaks.PEAKS)
    assert peaks.peak_for("cpu") is None


# --- runner ----------------------------------------------------------------------------

def test_calibration_grows_calls_until_a_round_is_long_enough():
    calibration = calibrate(repeat_calls(lambda: None), time.perf_counter, target_round_s=1e-3)
    assert calibration.calls_per_round > 100
    assert calibration.round_s >= 1e-3


def test_a_long_warm_up_call_stands_in_for_the_calibration_call():
    calls: list[int] = []

    def run() -> None:
        calls.append(1)
        time.sleep(LONG_CALL_S)

    times, per_round = time_rounds(repeat_calls(run), time.perf_counter, min_rounds=3,
                                   max_time_s=0.0, warmup=1)
    assert per_round == 1 and len(times) == 3
    assert len(calls) == 4  # one warm-up, no calibration call, three timed rounds


def test_a_short_warm_up_call_still_calibrates():
    calls: list[int] = []
    times, per_round = time_rounds(repeat_calls(lambda: calls.append(1)), time.perf_counter,
                                   min_rounds=3, max_time_s=0.0, warmup=1)
    assert per_round > 100 and len(times) == 3
    assert len(calls) > 1 + 3 * per_round  # the calibration rounds ran


class CountingClock:
    """A clock that ticks one second per reading: a round's time is then exactly 1 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_compiled_statement_runs_exactly_calls_times_per_round():
    executed: list[int] = []
    round_fn = round_function(statement_workload("tick(1)", {"tick": executed.append}))
    round_fn(7)
    assert len(executed) == 7
    executed.clear()
    times = time_plan(RoundPlan(round_fn, calls_per_round=5, rounds=3), CountingClock())
    assert len(executed) == 15
    assert times == (1.0 / 5,) * 3  # per call, not per round


def test_the_compiled_loop_holds_no_python_call_per_execution():
    """The statement is pasted into the loop's body: a statement that reads the call stack
    sees the round function itself, not a wrapper called from it."""
    frames: list[str] = []
    workload = statement_workload("frames.append(sys._getframe().f_code.co_name)",
                                  {"frames": frames, "sys": __import__("sys")})
    round_function(workload)(2)
    workload.run()
    assert frames == ["_blitzbench_round", "_blitzbench_round", "_blitzbench_run"]


def test_a_statement_loop_gives_per_call_times_of_a_microsecond_op():
    x, y = torch.rand(5, 3), torch.rand(5, 3)
    times, calls = time_rounds(round_function(statement_workload("x + y", {"x": x, "y": y})),
                               time.perf_counter, min_rounds=3, max_time_s=0.0, warmup=2)
    assert calls > 100 and len(times) == 3
    assert all(1e-8 < t < 1e-3 for t in times)  # a 5x3 add: about a microsecond


def test_tensor_op_statements_do_what_run_does():
    """Each tutorial-size tensor op is a statement; run() is compiled from it, and an
    in-place one (t_) acts on the same tensor whichever path executes it."""
    for case in catalog.cases("quick", [CPU], NO_DATA, "tensor_ops"):
        if case.params.get("scale") != "tutorial":
            continue
        workload = case.build()
        assert workload.stmt, case.id
        workload.run()
        round_function(workload)(2)
    transpose = tensor_ops.build_transpose_inplace((5, 3), CPU)
    x = transpose.stmt_globals["x"]
    transpose.run()
    assert x.shape == (3, 5)
    round_function(transpose)(3)
    assert x.shape == (5, 3)


def test_measure_times_a_known_sleep():
    # A 2 ms sleep cannot take less than 2 ms; the scheduler may add a little.
    result = measure(_case(lambda: Workload(lambda: time.sleep(0.002), {"images": 1})),
                     min_rounds=3, max_time_s=0.0, warmup=0)
    assert result.error is None and result.rounds == 3
    assert 0.002 <= result.median_s < 0.02
    assert result.extra["images_per_s"] == pytest.approx(1 / result.median_s)
    assert result.extra["seed"] == 0 and result.extra["torch_threads"] >= 1


def test_measure_real_case_records_rates():
    case = next(c for c in catalog.cases("quick", [CPU], NO_DATA, "tensor_ops")
                if c.operation == "add_out" and c.params["scale"] == "memory")
    result = measure(case, min_rounds=3, max_time_s=0.0, warmup=1)
    assert result.error is None
    assert result.extra["gb_per_s"] > 0.1
    assert result.extra["peak"].startswith("unknown device")


def test_zero_copy_bridge_is_size_independent_and_tensor_copies():
    """from_numpy at 2^22 costs what it costs at 5x3 (O(1)); torch.tensor(a) does not."""
    def median(op, scale):
        case = next(c for c in catalog.cases("quick", [CPU], NO_DATA, "tensor_ops")
                    if c.operation == op and c.params["scale"] == scale)
        return measure(case, min_rounds=5, max_time_s=0.05, warmup=1).median_s
    assert median("from_numpy", "memory") < 5 * median("from_numpy", "tutorial")
    assert median("tensor_copy", "memory") > 20 * median("tensor_copy", "tutorial")


def test_cuda_out_of_memory_is_a_recorded_result_and_the_cache_is_emptied(monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))

    def build() -> Workload:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    case = Case("lenet.train_step", "cuda:0", {"batch_size": 1 << 20, "variant": "eager"},
                frozenset({"full"}), build)
    result = measure(case)
    assert result.error.startswith("CUDA out of memory at batch 1048576 on cuda:0")
    assert "Tried to allocate" in result.error and result.rounds == 0
    assert emptied


def test_dead_loader_worker_is_a_recorded_result():
    def run() -> None:
        raise RuntimeError("DataLoader worker (pid(s) 4242) exited unexpectedly")

    case = Case("loading.dataloader", "cpu", {"batch_size": 4, "num_workers": 2},
                frozenset({"quick"}), lambda: Workload(run))
    result = measure(case, min_rounds=1, max_time_s=0.0, warmup=0)
    assert result.error.startswith("DataLoader failed with num_workers=2 on cpu")
    assert "4242" in result.error


def test_other_errors_are_bugs_and_raise():
    def run() -> None:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        measure(_case(lambda: Workload(run)), min_rounds=1, max_time_s=0.0, warmup=0)


def test_teardown_runs_even_when_the_case_fails():
    released = []

    def run() -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    workload = Workload(run, teardown=lambda: released.append(True))
    case = Case("lenet.forward", "cpu", {"batch_size": 4}, frozenset({"quick"}),
                lambda: workload)
    assert measure(case, warmup=1).error is not None
    assert released == [True]


def test_loader_case_runs_on_synthetic_cifar(data_source):
    case = loading.loader_case(CPU, data_source, 64, 0, 128, ("quick",))
    result = measure(case, min_rounds=2, max_time_s=0.0, warmup=0)
    assert result.error is None
    assert result.extra["images_per_s"] > 0
    assert 0 < result.extra["time_to_first_batch_s"] < result.median_s


def test_lenet_train_step_case_runs_on_cpu():
    case = lenet_bench.train_step_case(CPU, 4, "channels_last")
    result = measure(case, min_rounds=2, max_time_s=0.0, warmup=1)
    assert result.error is None and result.extra["images_per_s"] > 0


def test_cpu_matmul_reports_tflops_against_the_computed_peak_or_why_there_is_none():
    from blitzbench.timing.cpu_peak import CpuPeak, read_cpu_peak

    case = next(c for c in tensor_ops.cases(CPU, NO_DATA) if c.operation == "matmul")
    result = measure(case, min_rounds=2, max_time_s=0.0, warmup=1)
    assert result.extra["tflop_per_s"] > 0
    peak = read_cpu_peak()  # tests/test_cpu_peak.py judges the computation itself
    if isinstance(peak, CpuPeak):
        assert result.extra["fraction_of_peak"] == pytest.approx(
            result.extra["tflop_per_s"] / peak.tflop_per_s)
    else:
        assert "fraction_of_peak" not in result.extra and peak.reason in result.extra["peak"]

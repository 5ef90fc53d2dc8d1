"""`blitzbench profile`: the captures, their summaries, and the figures' arithmetic.

The arithmetic (interval union, step attribution, memory peaks) is tested on small
hand-made records; one real CPU capture of both workloads checks the whole command.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity

from blitzbench.cli import main
from blitzbench.devices import cuda_available
from blitzbench.errors import OutputError
from blitzbench.profiling.capture import (
    LABELS,
    CudaActivities,
    ProfileSchedule,
    capture,
    cuda_activities,
    trace_folder_name,
)
from blitzbench.profiling.session import SUMMARY_FILE
from blitzbench.profiling.summary import (
    LAUNCH_BOUND_BUSY_FRACTION,
    DeviceActivity,
    Interval,
    device_activities,
    launch_bound_note,
    load_trace,
    peak_memory,
    per_step_figures,
    step_windows,
    summarize,
    top_operators,
    trace_events,
    union_us,
)
from blitzbench.results.names import PROFILER_FOLDER
from blitzbench.results.reader import read_run
from blitzbench.workloads.cifar import resolve_data_source

# --- arithmetic on hand-made records -----------------------------------------------------


def test_union_counts_overlaps_once_and_skips_gaps() -> None:
    intervals = [Interval(0, 10), Interval(5, 12), Interval(20, 25), Interval(21, 22)]
    assert union_us(intervals) == pytest.approx(17.0)
    assert union_us([]) == 0.0
    assert union_us([Interval(3, 3)]) == 0.0


def _kernel(start: float, end: float, launch: float, kind: str = "kernel") -> DeviceActivity:
    return DeviceActivity(kind, "k", Interval(start, end), launch)


def test_device_work_belongs_to_the_step_that_launched_it() -> None:
    steps = [Interval(0, 100), Interval(100, 200)]
    work = [_kernel(10, 30, launch=5), _kernel(20, 40, launch=6),  # overlap: 30 us busy
            _kernel(105, 110, launch=99),  # runs after step 0 ended, launched inside it
            _kernel(150, 160, launch=140, kind="gpu_memcpy"),
            _kernel(300, 400, launch=250)]  # launched after the last step: not counted
    first, second = per_step_figures(steps, work)
    assert (first.kernels, first.gpu_busy_ms) == (3, pytest.approx(0.035))
    assert (second.kernels, second.device_activities) == (0, 1)
    assert second.gpu_busy_ms == pytest.approx(0.010)
    assert first.cpu_ms == pytest.approx(0.1)


def test_gpu_work_is_linked_to_its_launcher_by_correlation_id() -> None:
    def x(name: str, cat: str, ts: float, dur: float, corr: int = 0) -> dict[str, Any]:
        return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur,
                "args": {"correlation": corr} if corr else {}}

    trace = {"traceEvents": [
        x("ProfilerStep#1", "user_annotation", 0, 100), x("aten::mm", "cpu_op", 10, 10),
        x("cudaLaunchKernel", "cuda_runtime", 11, 1, corr=7),
        x("gemm", "kernel", 150, 20, corr=7),  # runs after the step that launched it
        x("Memcpy HtoD", "gpu_memcpy", 5, 3, corr=99),  # its launch is not in the trace
        x("blitzbench.train_step", "gpu_user_annotation", 0, 200),  # a label, not work
        {"ph": "i", "name": "[memory]", "args": {}}]}
    events = trace_events(trace)
    assert step_windows(events) == [Interval(0, 100)]
    gemm, copy = device_activities(events)
    assert (gemm.launch_us, copy.launch_us) == (11, 5)
    (step,) = per_step_figures(step_windows(events), [gemm, copy])
    assert (step.kernels, step.device_activities) == (1, 2)
    assert step.gpu_busy_ms == pytest.approx(0.023)


def test_launch_bound_reading_follows_the_busy_fraction() -> None:
    below = launch_bound_note(10.0, 10.0 * LAUNCH_BOUND_BUSY_FRACTION * 0.5)
    above = launch_bound_note(10.0, 9.0)
    assert below.startswith("launch-bound") and "busy 25%" in below
    assert above.startswith("GPU-bound") and "busy 90%" in above


def test_peak_memory_is_the_largest_total_allocated_per_device(tmp_path: Path) -> None:
    events = [{"name": "[memory]", "ph": "i", "args": {"Total Allocated": n, "Device Type": t,
                                                      "Device Id": d}}
              for n, t, d in ((100, 0, -1), (900, 0, -1), (50, 0, -1), (4096, 1, 0),
                              (1024, 1, 0))]
    events.append({"name": "aten::add", "ph": "X", "args": {}})
    path = tmp_path / "t.pt.trace.json"
    path.write_text(json.dumps({"traceEvents": events}))
    assert peak_memory(load_trace(path)) == {"cpu": 900, "cuda:0": 4096}


def test_top_operators_rank_by_self_time_and_leave_out_step_markers() -> None:
    def avg(key: str, cpu_us: float, device_us: float = 0.0) -> SimpleNamespace:
        return SimpleNamespace(key=key, count=6, device_type=DeviceType.CPU,
                               self_cpu_time_total=cpu_us, self_device_time_total=device_us)

    rows = [avg("ProfilerStep*", 900), avg("blitzbench.train_step", 800), avg("aten::mm", 300),
            avg("aten::conv", 100, device_us=50), avg("aten::relu", 0)]
    cpu = top_operators(rows, by="cpu", steps=3)
    assert [r["name"] for r in cpu] == ["aten::mm", "aten::conv"]
    assert cpu[0]["calls_per_step"] == 2 and cpu[0]["self_ms_per_step"] == pytest.approx(0.1)
    assert cpu[0]["share"] == pytest.approx(0.75)
    assert [r["name"] for r in top_operators(rows, by="device", steps=3)] == ["aten::conv"]


def test_a_profiler_without_cupti_is_reported_not_fatal() -> None:
    missing = cuda_activities(torch.device("cuda", 0), supported={ProfilerActivity.CPU})
    assert missing.requested and not missing.available and not missing.record
    assert "CUPTI" in (missing.reason or "")
    with_cupti = cuda_activities(torch.device("cuda", 0),
                                 supported={ProfilerActivity.CPU, ProfilerActivity.CUDA})
    assert with_cupti.record
    assert not cuda_activities(torch.device("cpu")).requested


def test_folder_names_are_safe() -> None:
    assert trace_folder_name("cuda:0", "train_step") == "cuda0-train_step"
    assert trace_folder_name("cpu", "loader_loop") == "cpu-loader_loop"


# --- real captures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_capture(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """One run of `blitzbench profile --device cpu` (both workloads), shared by the tests."""
    reports = tmp_path_factory.mktemp("reports")
    code = main(["profile", "--device", "cpu", "--out", str(reports)])
    runs = list((reports / "runs").iterdir())
    assert code == 0 and len(runs) == 1
    results = read_run(runs[0]).results.to_json()
    return SimpleNamespace(reports=reports, run=runs[0], results=results)


def test_profile_writes_traces_summaries_and_a_run_folder(cpu_capture: SimpleNamespace) -> None:
    results, reports = cpu_capture.results, cpu_capture.reports
    assert results["command"] == "profile" and results["complete"] is True
    assert [(p["device"], p["workload"]) for p in results["profiles"]] == [
        ("cpu", "train_step"), ("cpu", "loader_loop")]
    for entry in results["profiles"]:
        folder = cpu_capture.run / entry["trace_dir"]  # inside the run folder: it travels
        assert folder.parent == cpu_capture.run / PROFILER_FOLDER
        assert json.loads((folder / SUMMARY_FILE).read_text()) == entry["summary"]
        assert len(list(folder.glob("*.pt.trace.json"))) == 1
    assert not (reports / ".profiler-staging").exists()
    assert not (reports / PROFILER_FOLDER).exists()  # nothing outside runs/<id>/


def test_traces_are_chrome_trace_json_with_the_recorded_steps(
        cpu_capture: SimpleNamespace) -> None:
    for entry in cpu_capture.results["profiles"]:
        (trace,) = (cpu_capture.run / entry["trace_dir"]).glob("*.pt.trace.json")
        with open(trace, encoding="utf-8") as handle:
            events = json.load(handle)["traceEvents"]
        steps = [e for e in events if str(e.get("name", "")).startswith("ProfilerStep#")]
        assert len(steps) == ProfileSchedule().active
        assert all(e["ph"] == "X" and e["dur"] > 0 for e in steps)
        assert any(e.get("name") == "[memory]" for e in events)  # profile_memory was on
        assert any("Input Dims" in e.get("args", {}) for e in events)  # record_shapes


def test_cpu_summary_figures_are_consistent(cpu_capture: SimpleNamespace) -> None:
    by_workload = {p["workload"]: p["summary"] for p in cpu_capture.results["profiles"]}
    for summary in by_workload.values():
        assert summary["steps_recorded"] == ProfileSchedule().active
        assert summary["cpu_ms_per_step"] > 0
        assert summary["top_cpu_operators"], "no operator recorded"
        assert summary["peak_memory_bytes"]["cpu"] > 0
        assert "gpu" not in summary  # a CPU capture makes no GPU claims
        inside = summary["labels_ms_per_step"]["blitzbench.train_step"]
        mean_step_ms = sum(s["cpu_ms"] for s in summary["steps"]) / len(summary["steps"])
        assert 0 < inside <= mean_step_ms
    waiting = by_workload["loader_loop"]["labels_ms_per_step"]["blitzbench.next_batch"]
    assert waiting > 0 and by_workload["train_step"]["labels_ms_per_step"][
        "blitzbench.next_batch"] == 0
    ops = {op["name"] for op in by_workload["train_step"]["top_cpu_operators"]}
    assert ops & {"aten::mkldnn_convolution", "aten::convolution_backward", "aten::mm",
                  "aten::addmm", "aten::_convolution", "aten::thnn_conv2d"}


def test_missing_cupti_shows_in_the_summary(tmp_path: Path) -> None:
    """A capture that asked for CUDA activities and could not have them says so."""
    result = capture("train_step", torch.device("cpu"), tmp_path, batch_size=2,
                     data=resolve_data_source(None), plan=ProfileSchedule(0, 1, 1))
    reason = "CUPTI missing (test)"
    pretend = SimpleNamespace(**{**result.__dict__, "cuda": CudaActivities(True, False, reason)})
    summary = summarize(pretend, LABELS)
    assert summary["gpu"] is None and summary["gpu_note"] == reason
    assert summary["cpu_ms_per_step"] > 0  # the rest goes on


def test_unwritable_out_is_one_line_and_exit_5(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["profile", "--device", "cpu", "--out", str(blocker / "reports")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == OutputError.exit_code == 5
    assert len(err) == 1 and "cannot write" in err[0] and "--out" in err[0]
    assert blocker.read_text() == "not a folder"


def test_unknown_device_fails_before_any_work(tmp_path: Path) -> None:
    assert main(["profile", "--device", "tpu", "--out", str(tmp_path)]) == 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.cuda
@pytest.mark.skipif(not cuda_available(), reason="no CUDA device: torch.cuda.is_available() "
                                                  "is False")
def test_cuda_capture_records_kernels_and_gpu_busy_time(tmp_path: Path) -> None:
    assert main(["profile", "--device", "cuda", "--workload", "train_step",
                 "--out", str(tmp_path)]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    (entry,) = read_run(run).results.to_json()["profiles"]
    summary = entry["summary"]
    assert entry["device"] == "cuda:0" and summary["cuda_activities"]["requested"]
    if not summary["cuda_activities"]["available"]:
        pytest.skip(f"profiler cannot record CUDA here: {summary['gpu_note']}")
    gpu = summary["gpu"]
    assert gpu is not None, summary["gpu_note"]
    assert gpu["kernels_per_step"] > 10  # forward, backward and SGD launch dozens
    assert 0 < gpu["gpu_busy_ms_per_step"] <= summary["cpu_ms_per_step"] * 1.05
    assert summary["peak_memory_bytes"].get("cuda:0", 0) > 0
    assert summary["cuda_max_memory_allocated_bytes"] > 0

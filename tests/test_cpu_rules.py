"""The CPU performance rules of the shipped spec: STREAM's byte accounting and array size,
the steady-state DataLoader figure, and each rule judged on measurements recorded on the
project's VM (tests/cpu_rules/README.md) and on the same measurements at half speed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from blitzbench.acceptance.metrics import extract_metrics, planned_metric_keys
from blitzbench.acceptance.rules import RunDevices, Status, judge
from blitzbench.acceptance.spec import load_spec, parse_spec
from blitzbench.errors import UsageError
from blitzbench.results.derived import loader_pass_findings, loader_worker_shares
from blitzbench.results.names import LOADER_STEADY, LOADER_WORKER_SHARE, RATE_FIELD
from blitzbench.results.records import Measurement, RunResults
from blitzbench.timing import rates
from blitzbench.timing.cpu_peak import cpu_peak, usable_cpus
from blitzbench.workloads import stream
from blitzbench.workloads.measure import teardown

RECORDED = Path(__file__).parent / "cpu_rules"
CPU_RULES = ("cpu-stream-copy", "cpu-stream-triad", "cpu-fp32-gemm", "loader-worker-share")
#: extra figures that scale with the machine's speed (times scale the other way)
SPEED_FIGURES = ("gb_per_s", "tflop_per_s", RATE_FIELD, "fraction_of_peak")
CPU = RunDevices(("cpu",), {})


def recorded(name: str) -> list[Measurement]:
    data = json.loads((RECORDED / name).read_text())
    return [Measurement.from_json(m) for m in data["benchmarks"]]


def at_speed(record: Measurement, speed: float) -> Measurement:
    """The record of a machine ``speed`` times as fast: times divided, rates multiplied."""
    extra = {k: v * speed if k in SPEED_FIGURES else v for k, v in record.extra.items()}
    return dataclasses.replace(record, times_s=tuple(t / speed for t in record.times_s),
                               extra=extra)


@pytest.fixture(scope="module")
def shipped(data_source):
    from blitzbench.runner.plan import known_metrics

    return load_spec(None, known_metrics(data_source))


def judged(spec, records, rule_id: str):
    values = extract_metrics(RunResults("recorded", "accept", benchmarks=tuple(records)))
    rows = judge(spec, values, CPU, planned=planned_metric_keys(records))
    return [r for r in rows if r.rule.id == rule_id]


# --- STREAM ---------------------------------------------------------------------------

def test_stream_counts_bytes_as_stream_does():
    assert stream.stream_bytes("copy", 1000) == 2 * 4 * 1000  # read a, write c
    assert stream.stream_bytes("triad", 1000) == 3 * 4 * 1000  # read b and c, write a
    assert stream.stream_bytes("triad", 1000, element_bytes=8) == 24_000  # stream.c's doubles


def test_stream_arrays_are_four_times_the_last_level_cache_and_at_least_ten_million():
    assert stream.array_elements(32 << 20) == (4 * (32 << 20)) // 4  # this VM's 32 MiB L3
    assert stream.array_elements(1 << 20) == stream.MIN_ELEMENTS


def _cache(root: Path, cpu: int, index: int, level: int, kind: str, size: str,
           shared: str) -> None:
    folder = root / f"cpu{cpu}" / "cache" / f"index{index}"
    folder.mkdir(parents=True)
    for name, text in (("level", str(level)), ("type", kind), ("size", size),
                       ("shared_cpu_list", shared)):
        (folder / name).write_text(text + "\n")


def test_the_last_level_cache_sums_distinct_instances_of_the_highest_level(tmp_path):
    for cpu, shared in ((0, "0-1"), (1, "0-1"), (2, "2-3"), (3, "2-3")):  # two L3s
        _cache(tmp_path, cpu, 0, 1, "Instruction", "32K", str(cpu))
        _cache(tmp_path, cpu, 1, 2, "Unified", "1024K", str(cpu))
        _cache(tmp_path, cpu, 2, 3, "Unified", "32768K", shared)
    assert stream.last_level_cache_bytes({0, 1, 2, 3}, tmp_path) == 2 * (32 << 20)
    assert stream.last_level_cache_bytes({0, 1}, tmp_path) == 32 << 20


def test_no_cache_in_sysfs_is_an_error_not_a_guess(tmp_path):
    with pytest.raises(RuntimeError, match="array-size rule"):
        stream.last_level_cache_bytes({0}, tmp_path)


def test_a_built_stream_case_runs_on_every_core_and_restores_the_threads():
    before = torch.get_num_threads()
    (copy, _triad) = stream.cases(torch.device("cpu"))
    workload = copy.build()
    try:
        assert torch.get_num_threads() == len(usable_cpus())
        elements = int(workload.probe()["array_bytes"]) // 4
        assert elements >= 4 * stream.last_level_cache_bytes() // 4
        assert workload.units == {"bytes": stream.stream_bytes("copy", elements)}
        workload.run()
        arrays = workload.stmt_globals
        assert torch.equal(arrays["c"], arrays["a"])  # c = a, as stream.c's copy
    finally:
        teardown(workload)
    assert torch.get_num_threads() == before


# --- the DataLoader figure ------------------------------------------------------------

def test_the_worker_share_is_one_worker_over_in_process_with_the_best_beside_it():
    (share,) = loader_worker_shares(recorded("healthy_quick.json"))
    rates = {int(m.params["num_workers"]): m.figure(RATE_FIELD)
             for m in recorded("healthy_quick.json") if m.benchmark == LOADER_STEADY}
    assert share.batch_size == 64 and share.share == pytest.approx(rates[1] / rates[0])
    assert share.best_workers == max((1, 2), key=rates.get)
    assert "one worker drew" in share.sentence() and "in-process" in share.sentence()


def test_the_pass_finding_says_which_was_fastest_and_what_start_up_cost():
    findings = {f.batch_size: f for f in loader_pass_findings(recorded("healthy_quick.json"))}
    tutorial = findings[4]  # the tutorial's batch size
    text = tutorial.sentence()
    if tutorial.in_process_fastest:
        assert text.startswith("0 workers was") and "faster than any worker count" in text
    else:
        assert "faster than 0 workers" in text
    assert "before the first batch of a 512-image pass" in text


@pytest.mark.parametrize("name", ["healthy_quick.json", "slow_workers_quick.json"])
def test_the_worker_share_is_planned_from_the_cases_and_computed_from_their_records(name):
    records = [m for m in recorded(name) if m.benchmark == LOADER_STEADY]
    metric = f"{LOADER_WORKER_SHARE}[batch_size=64]"
    assert (metric, "cpu") in planned_metric_keys(records)
    run = RunResults("recorded", "accept", benchmarks=tuple(records))
    values = {v.metric: v for v in extract_metrics(run)}
    assert values[metric].value is not None and "of in-process" in values[metric].shown()


# --- the rules, healthy and at half speed ---------------------------------------------

@pytest.mark.parametrize("rule_id", CPU_RULES)
def test_each_cpu_rule_passes_the_recorded_machine(shipped, rule_id):
    rows = judged(shipped, recorded("healthy_quick.json"), rule_id)
    assert rows and all(r.status is Status.PASS for r in rows), [r.detail for r in rows]


@pytest.mark.parametrize("rule_id", CPU_RULES[:3])
def test_each_cpu_rule_fails_the_recorded_machine_at_half_speed(shipped, rule_id):
    half = [at_speed(m, 0.5) for m in recorded("healthy_quick.json")]
    rows = judged(shipped, half, rule_id)
    assert rows and all(r.status is Status.FAIL for r in rows), [r.shown for r in rows]


def test_the_loader_rule_fails_workers_at_half_speed(shipped):
    """A machine uniformly half as fast keeps the share (both sides halve): what the rule
    catches is workers slower than the main process, recorded with each worker doing
    every item twice (tests/cpu_rules/record.py)."""
    rows = judged(shipped, recorded("slow_workers_quick.json"), "loader-worker-share")
    assert rows and all(r.status is Status.FAIL for r in rows), [r.shown for r in rows]


def test_a_rule_naming_a_metric_that_does_not_exist_is_a_usage_error(data_source):
    from blitzbench.runner.plan import known_metrics

    typo = ('[[rule]]\nid = "stream"\nmetric = "tensor_ops.stream_cpy[scale=memory,'
            'size=4xLLC].gb_per_s"\ndevice = "cpu"\nop = ">="\nbound = 30\n')
    with pytest.raises(UsageError) as error:
        parse_spec(typo, "fleet.toml", known_metrics(data_source))
    assert "unknown metric" in str(error.value)
    assert "did you mean 'tensor_ops.stream_copy[scale=memory,size=4xLLC]" in str(error.value)


def test_the_report_states_the_loader_finding_in_words():
    from blitzbench.report.document import Heading, Paragraph
    from blitzbench.report.loader_findings import loader_finding_blocks

    blocks = loader_finding_blocks(recorded("healthy_quick.json"))
    assert isinstance(blocks[0], Heading) and "DataLoader" in blocks[0].text
    texts = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert any("batch 4" in t and "before the first batch" in t for t in texts)
    assert any(t.startswith("cpu: in steady state") for t in texts)
    assert loader_finding_blocks([]) == []


def test_a_cpu_whose_clock_cannot_be_read_skips_the_gemm_rule_with_the_reason(shipped,
                                                                              monkeypatch):
    """The recorded matmul's rates derived again on a CPU whose /proc/cpuinfo has no clock
    (and no cpufreq): no peak, so the rule is SKIPPED naming why, never judged on a guess."""
    text = (Path(__file__).parent / "cpuinfo" / "epyc_zen4_kvm.txt").read_text()
    no_clock = cpu_peak(text.replace("cpu MHz\t\t: 2596.138\n", ""), {0, 1})
    monkeypatch.setattr(rates, "read_cpu_peak", lambda: no_clock)
    records = []
    for m in recorded("healthy_quick.json"):
        if m.benchmark == "tensor_ops.matmul":
            extra = {k: v for k, v in m.extra.items()
                     if k not in ("fraction_of_peak", "peak_tflop_per_s", "peak")}
            extra.update(rates.derived_rates({"flop": 2.0 * int(m.params["n"]) ** 3},
                                             m.params, m.device, m.median_s))
            m = dataclasses.replace(m, extra=extra)
        records.append(m)
    rows = judged(shipped, records, "cpu-fp32-gemm")
    assert rows and all(r.status is Status.SKIPPED for r in rows)
    assert all("no computed CPU peak: clock unreadable" in r.detail for r in rows)


def test_a_derived_loader_figure_is_busy_only_when_its_own_cases_were() -> None:
    """A figure derived from several cases (the worker share) reads the machine state of
    those cases, not the run's first busy case on the device."""
    from blitzbench.acceptance.metrics import MetricValue
    from blitzbench.acceptance.rules import MachineBusy, _figure_busy
    from blitzbench.results.machine import BusyProcess, MachineState

    quiet = MachineState(1e9, 1e9 + 1, 2, others_cpu_fraction=0.0, torch_threads=2)
    loud = MachineState(1e9, 1e9 + 1, 2, others_cpu_fraction=0.5, torch_threads=2,
                        busy_processes=(BusyProcess(7, "neighbour", 1.0),))
    one, zero = (_measurement(w, quiet) for w in (1, 0))
    machine = MachineBusy(by_device={"cpu": "tensor_ops.empty[...]: busy elsewhere"})
    value = MetricValue("loader.worker_share[batch_size=64]", "cpu", 0.7,
                        sources=(one, zero))
    assert _figure_busy(value, machine, "cpu") == ""
    busy_one = _measurement(1, loud)
    value = dataclasses.replace(value, sources=(busy_one, zero))
    reason = _figure_busy(value, machine, "cpu")
    assert reason.startswith(busy_one.prefix) and "neighbour" in reason


def _measurement(workers: int, state) -> Measurement:
    return Measurement(LOADER_STEADY, "cpu", {"batch_size": 64, "num_workers": workers},
                       times_s=(0.01,) * 6, machine=(state,))


def test_a_torchrun_rank_counts_every_rank_on_its_host_as_ours(monkeypatch):
    """Two one-thread ranks on a 2-core host leave no core free: a neighbour using one
    core makes each rank's pre-flight busy, where one rank's own thread would leave it a
    core (runner/watch.py host_threads)."""
    from blitzbench.results.machine import MachineState, busy
    from blitzbench.runner.watch import host_threads

    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert host_threads(1) == 1 and host_threads(3) == 3
    neighbour = dict(others_cpu_fraction=0.5)  # one of 2 cores
    alone = MachineState(1e9, 1e9 + 1, 2, torch_threads=host_threads(1), **neighbour)
    assert busy(alone) is None
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert host_threads(1) == 2
    in_job = MachineState(1e9, 1e9 + 1, 2, torch_threads=host_threads(1), **neighbour)
    assert "other processes used 1.00 of 2 cores" in busy(in_job)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "two")
    assert host_threads(1) == 1

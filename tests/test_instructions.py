"""Instruction counts: the callgrind dump parser, the record and its validation, the
verdict, the launcher's refusals and time limit, the worker's per-case isolation, and one
real count of two cases in one valgrind process."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from blitzbench.errors import UsageError
from blitzbench.results.compare import Verdict
from blitzbench.results.instructions import (
    COUNT_THRESHOLD,
    CountSetup,
    InstructionCount,
    compare_counts,
    setup_differences,
)
from blitzbench.timing import instructions as launcher
from blitzbench.timing.callgrind import CallgrindFormatError, dump_path, parse_dump
from blitzbench.timing.instructions import (
    CountingUnavailable,
    CountRequest,
    Interpreter,
    count_instructions,
    valgrind_unavailable,
)
from blitzbench.timing.workload import Workload, statement_workload
from blitzbench.workloads.callgrind_worker import calls_for, count_cases
from blitzbench.workloads.catalog import Case

#: The header of a real dump (valgrind 3.19, ``x.add_(y)`` 4 times, 2026-12-06, this VM).
RECORDED_DUMP = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 7552
cmd:  /work/main/.tox/setup/bin/python t.py
part: 2


desc: I1 cache:
desc: D1 cache:
desc: LL cache:

desc: Timerange: Basic block 1165022773 - 1165065973
desc: Trigger: Client Request

positions: line
events: Ir
summary: 212797


ob=(66) /work/main/.tox/setup/lib/python3.11/site-packages/numpy.libs/libscipy_openblas.so
fl=(736) ???
fn=(384636) blas_thread_server
"""
SETUP = CountSetup("3.11.7", "2.14.1+cu130", "AMD EPYC", "fb86c92f4654060a", "AVX2",
                   "3.19.0", 1)
ADD = ("tensor_ops.add_inplace", {"scale": "tutorial", "size": "5x3"})
needs_valgrind = pytest.mark.skipif(valgrind_unavailable() is not None,
                                    reason=f"{valgrind_unavailable()}")


def _count(per_call: tuple[float, ...], setup: CountSetup = SETUP,
           calls: int = 100) -> InstructionCount:
    empties = tuple(3000 for _ in per_call)
    rounds = tuple(round(3000 + value * calls) for value in per_call)
    return InstructionCount(ADD[0], "cpu", ADD[1], calls, rounds, empties, setup)


# --- the dump parser -------------------------------------------------------------------


def test_a_recorded_dump_reads_as_its_part_and_instruction_total():
    totals = parse_dump(RECORDED_DUMP.splitlines())
    assert (totals.part, totals.instructions) == (2, 212797)


def test_the_instruction_total_is_found_among_several_events():
    text = RECORDED_DUMP.replace("events: Ir", "events: Dr Ir Dw").replace(
        "summary: 212797", "summary: 5 212797 7")
    assert parse_dump(text.splitlines()).instructions == 212797


@pytest.mark.parametrize(("edit", "message"), [
    (("# callgrind format", "# cachegrind"), "not a callgrind dump"),
    (("summary: 212797", "nothing: 1"), "no summary line"),
    (("events: Ir", "events: Dr"), "not Ir"),
    (("summary: 212797", "summary: many"), "not a whole number"),
])
def test_a_malformed_dump_is_an_error_naming_the_defect(edit, message):
    with pytest.raises(CallgrindFormatError, match=message):
        parse_dump(RECORDED_DUMP.replace(*edit).splitlines())


def test_dumps_are_numbered_per_process():
    assert dump_path("/tmp/x", 7552, 3) == Path("/tmp/x/callgrind.7552.out.3")


# --- the record ------------------------------------------------------------------------


def test_a_count_is_the_median_of_its_repetitions_net_of_the_empty_round():
    count = _count((6813.0, 6815.0, 6812.0))
    assert count.per_call == (6813.0, 6815.0, 6812.0)
    assert count.instructions_per_call == 6813.0
    assert count.prefix == "tensor_ops.add_inplace[scale=tutorial,size=5x3]"


def test_a_count_reads_back_as_written():
    count = dataclasses.replace(_count((6813.0, 6815.0)), wall_s=8.5)
    assert InstructionCount.from_json(json.loads(json.dumps(count.to_json()))) == count
    failed = InstructionCount(ADD[0], "cpu", ADD[1], error="LookupError: not a CPU case")
    assert InstructionCount.from_json(failed.to_json()) == failed
    assert failed.instructions_per_call is None


def _edited(path: tuple[str | int, ...], value: object) -> dict:
    data = _count((6813.0, 6815.0)).to_json()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "named"), [
    (("round_instructions", 1), -5, "instruction_count.round_instructions[1]"),
    (("round_instructions", 0), 2000, "instruction_count.round_instructions[0]"),
    (("empty_instructions",), [3000], "instruction_count.empty_instructions"),
    (("calls",), 0, "instruction_count.calls"),
    (("calls",), 1.5, "instruction_count.calls"),
    (("setup", "torch_threads"), 0, "instruction_count.setup.torch_threads"),
    (("setup", "torch_version"), "", "instruction_count.setup.torch_version"),
    (("setup", "kernel"), "AVX2", "instruction_count.setup"),
    (("instructions_per_call",), "many", "instruction_count.instructions_per_call"),
    (("params",), {"size": [1]}, "instruction_count.params.size"),
    (("round_instructions",), [], "instruction_count.empty_instructions"),
])
def test_a_bad_value_is_one_usage_error_line_naming_the_field(path, value, named):
    with pytest.raises(UsageError) as caught:
        InstructionCount.from_json(_edited(path, value))
    message = str(caught.value)
    assert message.startswith(named) and "\n" not in message


def test_a_count_without_rounds_must_say_why():
    data = _edited(("round_instructions",), [])
    data["empty_instructions"] = []
    with pytest.raises(UsageError, match="round_instructions is empty, and no error"):
        InstructionCount.from_json(data)


# --- the verdict -----------------------------------------------------------------------


def test_the_same_count_twice_is_same():
    found = compare_counts(_count((6813.0, 6815.0)), _count((6814.0, 6812.0)))
    assert found.verdict is Verdict.SAME
    assert found.threshold == COUNT_THRESHOLD == 0.02
    assert "cannot see memory-bandwidth, cache or threading" in found.evidence()


def test_a_quarter_more_work_is_slower_and_a_quarter_less_faster():
    base = _count((4000.0, 4001.0))
    slower = compare_counts(base, _count((5000.0, 5001.0)))
    assert slower.verdict is Verdict.SLOWER and slower.ratio == pytest.approx(1.25, abs=1e-3)
    assert compare_counts(_count((5000.0, 5001.0)), base).verdict is Verdict.FASTER


def test_repetitions_that_straddle_the_threshold_are_noisy():
    found = compare_counts(_count((1000.0, 1000.0)), _count((990.0, 1040.0)))
    assert found.verdict is Verdict.NOISY and "straddle" in found.reason


def test_counts_on_different_setups_are_not_comparable_and_say_which_fields():
    other = dataclasses.replace(SETUP, torch_version="2.15.0", aten_cpu_capability="AVX512")
    found = compare_counts(_count((4000.0,)), _count((4000.0,), other))
    assert found.verdict is None and found.label == "NOT COMPARABLE"
    assert "torch_version 2.14.1+cu130 vs 2.15.0" in found.evidence()
    assert "aten_cpu_capability AVX2 vs AVX512" in found.reason
    assert setup_differences(SETUP, SETUP) == ()


def test_a_side_not_counted_is_not_comparable_never_same():
    failed = InstructionCount(ADD[0], "cpu", ADD[1], error="RuntimeError: boom")
    found = compare_counts(_count((4000.0,)), failed)
    assert not found.comparable and "not counted in B: RuntimeError: boom" in found.reason


def test_counts_of_different_cases_are_a_bug():
    other = dataclasses.replace(_count((4000.0,)), params={"scale": "memory", "size": "2^22"})
    with pytest.raises(ValueError, match="different cases"):
        compare_counts(_count((4000.0,)), other)


# --- the launcher ----------------------------------------------------------------------


def test_missing_valgrind_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = valgrind_unavailable()
    assert reason is not None and "apt-get install valgrind" in reason
    with pytest.raises(CountingUnavailable, match="apt-get install valgrind"):
        count_instructions([ADD], "quick")


def test_an_interpreter_that_is_not_there_is_one_usage_error_naming_it():
    assert Interpreter().argv == (sys.executable,)
    with pytest.raises(UsageError, match="interpreter '/no/such/python' not found"):
        Interpreter(("/no/such/python",)).program()


@pytest.mark.parametrize(("one_call", "calls"), [
    (6813, 1024), (4_000_000, 1), (3_290_000, 2), (0, 1 << 20), (1, 1 << 20)])
def test_calls_are_the_power_of_two_that_fills_the_target(one_call, calls):
    assert calls_for(one_call, 4_000_000, 1 << 20) == calls


@needs_valgrind
def test_a_time_limit_kills_the_process_group_and_removes_its_folder(monkeypatch):
    made: list[str] = []
    real_mkdtemp = launcher.tempfile.mkdtemp
    monkeypatch.setattr(launcher.tempfile, "mkdtemp",
                        lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    started = time.monotonic()
    run = count_instructions([ADD], "quick", time_limit_s=3)
    assert time.monotonic() - started < 30
    (count,) = run.counts
    assert count.error == "not counted: the valgrind process passed its 3 s time limit"
    assert count.prefix == "tensor_ops.add_inplace[scale=tutorial,size=5x3]"
    assert not Path(made[0]).exists()
    left = [p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
            if made[0] in " ".join(p.info["cmdline"] or ())]
    assert left == []


def test_ctrl_c_kills_the_whole_process_group(monkeypatch, tmp_path):
    """A child and its own child are gone after a KeyboardInterrupt in the wait."""
    marker = f"sleep {time.time_ns() % 1000 + 1000}"
    real_wait = subprocess.Popen.wait

    def interrupted(self, timeout=None):
        if timeout is not None:
            time.sleep(0.5)  # let the shell start its background child
            raise KeyboardInterrupt
        return real_wait(self)

    monkeypatch.setattr(subprocess.Popen, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        launcher._run_group(["sh", "-c", f"{marker} & {marker}"], dict(os.environ),
                            tmp_path / "log", 60)
    time.sleep(0.2)
    left = [p.info["pid"] for p in psutil.process_iter(["pid", "cmdline", "status"])
            if " ".join(p.info["cmdline"] or ()) == marker
            and p.info["status"] != psutil.STATUS_ZOMBIE]
    assert left == []


# --- the worker ------------------------------------------------------------------------


def _worker_case(benchmark: str, build, params: dict | None = None) -> Case:
    return Case(benchmark, "cpu", params or {}, frozenset({"quick"}), build)


def test_a_case_that_fails_is_reported_and_the_others_are_kept():
    torn_down: list[str] = []

    def broken() -> Workload:
        def run() -> None:
            raise RuntimeError("boom inside the counted round")
        return Workload(run, teardown=lambda: torn_down.append("broken"))

    good = _worker_case("tensor_ops.good", lambda: statement_workload("a + 1", {"a": 1}))
    catalog = {"tensor_ops.broken": _worker_case("tensor_ops.broken", broken),
               "tensor_ops.good": good,
               "loading.dataloader[num_workers=2]": _worker_case(
                   "loading.dataloader", lambda: statement_workload("pass", {}),
                   {"num_workers": 2})}
    request = CountRequest("quick", (("tensor_ops.broken", {}), ("tensor_ops.missing", {}),
                                     ("loading.dataloader", {"num_workers": 2}),
                                     ("tensor_ops.good", {})),
                           3, 4_000, 1 << 20, "3.19.0", "/unused", "callgrind_control")

    def counter(round_fn, calls: int) -> int:  # 300 fixed, 40 per call, as callgrind would
        round_fn(calls)
        return 300 + 40 * calls

    out = io.StringIO()
    count_cases(catalog, request, counter, SETUP, out)
    counts = [InstructionCount.from_json(json.loads(line)["count"])
              for line in out.getvalue().splitlines()]
    assert [c.error for c in counts[:3]] == [
        "RuntimeError: boom inside the counted round",
        "LookupError: not a CPU case of level quick",
        "ValueError: runs its work in 2 DataLoader worker processes, which callgrind does "
        "not count in this process"]
    assert torn_down == ["broken"]
    assert counts[3].ok and counts[3].calls == 128 and counts[3].per_call == (40.0,) * 3


# --- one real count --------------------------------------------------------------------


@needs_valgrind
@pytest.mark.slow  # 63-82 s here (2026-12-06, 2-core VM); 30-75 s of it is valgrind start-up
def test_two_cases_are_counted_in_one_valgrind_process():
    lenet = ("lenet.forward", {"batch_size": 4, "variant": "eager"})
    run = count_instructions([ADD, lenet], "quick", repetitions=2, time_limit_s=600)
    add, forward = run.counts
    assert add.ok and forward.ok, (add.error, forward.error)
    assert add.setup == forward.setup and add.setup.torch_threads == 1
    # a 5x3 in-place add is thousands of instructions, a LeNet forward millions
    assert 1_000 < add.instructions_per_call < 100_000
    assert 1_000_000 < forward.instructions_per_call < 20_000_000
    for count in run.counts:
        spread = max(count.per_call) / min(count.per_call) - 1
        assert spread < COUNT_THRESHOLD / 2, (count.prefix, count.per_call)
    assert run.startup_s is not None and run.startup_s < run.wall_s


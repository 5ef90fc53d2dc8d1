"""Instruction counts where they are judged: ``accept --baseline`` rows
(acceptance/count_rules.py), ``ab``'s exit code and JSON, and ``accept
--count-instructions`` without valgrind (the record says why, the run goes on)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from blitzbench.acceptance.count_rules import count_rows
from blitzbench.acceptance.rules import Status
from blitzbench.commands.ab import ab_json, exit_code
from blitzbench.results.ab import ABRecord, PairedCase, Side
from blitzbench.results.instructions import CountSetup, CountsRecord, InstructionCount

SETUP = CountSetup("3.11.7", "2.14.1+cu130", "AMD EPYC", "fb86c92f4654060a", "AVX2",
                   "3.19.0", 1)
PARAMS = {"batch_size": 4, "variant": "eager"}


def _count(per_call: float, setup: CountSetup = SETUP, calls: int = 8) -> InstructionCount:
    """Three repetitions of ``calls`` calls at ``per_call`` instructions (empty rounds of
    1,000), as the worker records them."""
    rounds = tuple(int(per_call * calls) + 1000 for _ in range(3))
    return InstructionCount("lenet.forward", "cpu", dict(PARAMS), calls, rounds,
                            (1000,) * 3, setup)


def _record(*counts: InstructionCount, skipped: str = "") -> CountsRecord:
    return CountsRecord(tuple(counts), skipped)


@pytest.mark.parametrize(("after", "status"), [(3.33e6, Status.PASS),
                                                (4.2e6, Status.FAIL),
                                                (3.0e6, Status.PASS)])
def test_counts_against_the_baseline_fail_only_when_slower(after, status):
    (row,) = count_rows(_record(_count(after)), _record(_count(3.33e6)))
    assert row.status is status and row.rule.id == "baseline-instructions"
    assert row.metric == "lenet.forward[batch_size=4,variant=eager].instructions_per_call"
    assert "cannot see memory-bandwidth" in row.detail


def test_counts_on_another_setup_are_never_a_pass():
    other = dataclasses.replace(SETUP, torch_version="2.15.0")
    (row,) = count_rows(_record(_count(3.33e6, other)), _record(_count(3.33e6)))
    assert row.status is Status.SKIPPED and "torch_version" in row.detail


def test_one_side_without_counts_is_one_skipped_row():
    assert count_rows(None, None) == []
    (row,) = count_rows(_record(_count(3.33e6)), None)
    assert row.status is Status.SKIPPED and "baseline has no instruction counts" in row.detail
    (row,) = count_rows(_record(skipped="valgrind is not installed (apt-get install "
                                        "valgrind)"), _record(_count(3.33e6)))
    assert "apt-get install valgrind" in row.detail


def _ab(b_per_call: float) -> ABRecord:
    times = (1e-3,) * 12
    case = PairedCase("lenet.forward", "cpu", dict(PARAMS), times, times, (True,) * 12,
                      blocks=(6, 6))
    return ABRecord(Side("A", ("python",)), Side("B", ("python",)), 1, "quick", 0, 0.05,
                    (case,), complete=True, counts_a=_record(_count(3.33e6)),
                    counts_b=_record(_count(b_per_call)))


def test_ab_is_slower_on_counts_alone():
    """Equal times (SAME, or NOISY with two processes) but 25% more instructions: exit 1,
    and the JSON names the case under ``instructions``."""
    assert exit_code(_ab(3.33e6 * 1.25)) == 1
    shown = ab_json(_ab(3.33e6 * 1.25))["instructions"]
    (figure,) = shown["figures"]
    assert figure["verdict"] == "SLOWER" and figure["ratio"] == pytest.approx(1.25, 1e-3)
    assert exit_code(_ab(3.33e6)) != 1
    assert json.dumps(ab_json(_ab(3.33e6)))  # every field is JSON


def test_accept_records_why_it_counted_nothing_without_valgrind(monkeypatch, data_source):
    from blitzbench.runner.counting import count_cases
    from blitzbench.timing import instructions

    monkeypatch.setattr(instructions, "valgrind_unavailable",
                        lambda: "valgrind is not installed: instruction counts need "
                                "valgrind (apt-get install valgrind)")
    case = _count(1.0)
    found = count_cases([case], "quick", data_source)
    assert found.counts == () and "apt-get install valgrind" in found.skipped


def test_compare_judges_the_counts_both_runs_took(tmp_path, capsys):
    """Equal times, 25% more instructions in B: compare exits 1 naming the case under
    ``instructions``; equal counts leave the exit to the times."""
    from blitzbench.cli import main
    from blitzbench.results.names import RESULTS_FILE
    from blitzbench.results.records import Measurement, RunResults

    times = tuple(0.010 * k for k in (0.98, 0.99, 1.0, 1.0, 1.01, 1.02) * 5)
    env = {"host": "h", "torch": "2.x", "cpu": "Xeon", "cpu_count": 2, "gpus": []}

    def folder(name: str, per_call: float):
        from blitzbench.results.records import Environment

        results = RunResults(name, "accept", Environment(env), benchmarks=(
            Measurement("lenet.forward", "cpu", dict(PARAMS), times),),
            instructions=_record(_count(per_call)))
        path = tmp_path / name
        path.mkdir()
        (path / RESULTS_FILE).write_text(json.dumps(results.to_json()))
        return path

    a, b = folder("a", 3.33e6), folder("b", 3.33e6 * 1.25)
    assert main(["compare", str(a), str(b), "--format", "json"]) == 1
    (counted,) = json.loads(capsys.readouterr().out)["instructions"]
    assert counted["verdict"] == "SLOWER" and counted["ratio"] == pytest.approx(1.25, 1e-3)
    same = folder("c", 3.33e6)
    assert main(["compare", str(a), str(same)]) == 0
    assert "instructions: 1 SAME of 1 counted cases" in capsys.readouterr().out

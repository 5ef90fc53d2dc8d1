"""``pytest benchmarks --benchmark-compare`` and its gate ``--blitz-compare-fail``.

The statistics (results/sittings.py) on synthetic sittings: repeats drawn with a fixed
seed, a planted slowdown caught, a whole-sitting shift and a busy machine never called
SLOWER, counts judged where both runs counted on the same setup. Then the plugin end to
end, driven in a subprocess as pytest-benchmark tests itself, on the nine 5x3 tensor ops
(``-k``; about 10 s a run): an unchanged pair exits 0 with no SLOWER, a planted slowdown
fails the gate naming the case, pytest-benchmark's own ``--benchmark-compare-fail`` fails
the session without a traceback, and malformed saved runs are one ``ERROR:`` line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from blitzbench.benchmark_compare import TABLE_WIDTH, table_lines
from blitzbench.errors import UsageError
from blitzbench.results.compare import Verdict
from blitzbench.results.instructions import CountSetup, InstructionCount
from blitzbench.results.machine import MachineState
from blitzbench.results.records import Measurement
from blitzbench.results.sittings import (
    BUSY,
    ONE_REPEAT,
    OTHERS_MOVED,
    SavedCase,
    judge_sittings,
    quiet_repeats,
)
from blitzbench.timing.instructions import valgrind_unavailable

pytest_plugins = ["pytester"]

CASES = 12
REPEATS, ROUNDS = 5, 20
#: Repeat-to-repeat and round-to-round log spread of the synthetic sittings: 3% and 5%,
#: wider than the 5x3 tensor ops' repeat medians here (within 1% of each other in a run,
#: 2026-12-06), so the synthetic sittings are no easier to judge than the real ones.
REPEAT_SD, ROUND_SD = 0.03, 0.05
QUIET = MachineState(0.0, 1.0, cores=2, others_cpu_fraction=0.01, torch_threads=2)
BUSY_STATE = MachineState(0.0, 1.0, cores=2, others_cpu_fraction=0.55, torch_threads=2)
SETUP = CountSetup("3.11.7", "2.14.1", "AMD EPYC", "fb86c92f4654060a", "AVX2", "3.19.0", 1)


def _measurement(index: int, factor: float, rng: random.Random,
                 states: tuple[MachineState, ...] | None = None) -> Measurement:
    """Case ``index``: REPEATS repeats of ROUNDS log-normal rounds around 1 ms x index."""
    times = []
    for _ in range(REPEATS):
        repeat = rng.gauss(0, REPEAT_SD)
        times += [1e-3 * (index + 1) * factor * math.exp(repeat + rng.gauss(0, ROUND_SD))
                  for _ in range(ROUNDS)]
    return Measurement("tensor_ops.synthetic", "cpu", {"case": index}, tuple(times),
                       blocks=(ROUNDS,) * REPEATS,
                       machine=states if states is not None else (QUIET,) * REPEATS)


def _sittings(factors: dict[int, float], *, seed: int, shift: float = 1.0,
              states: dict[int, tuple[MachineState, ...]] | None = None
              ) -> list[tuple[str, SavedCase, SavedCase]]:
    rng = random.Random(seed)
    pairs = []
    for index in range(CASES):
        a = _measurement(index, 1.0, rng)
        b = _measurement(index, shift * factors.get(index, 1.0), rng,
                         (states or {}).get(index))
        pairs.append((f"case{index}", SavedCase(a), SavedCase(b)))
    return pairs


def test_unchanged_sittings_are_never_slower():
    for seed in range(40):
        found = judge_sittings(_sittings({}, seed=seed), 0.25)
        assert not found.slower(), (seed, found.summary())


def test_a_planted_slowdown_is_slower_and_named():
    """1.6x at a 25% threshold: the move must clear the case's own interval, the
    threshold and the widest move of the eleven unchanged cases (up to ~7% here)."""
    caught = 0
    for seed in range(40):
        found = judge_sittings(_sittings({3: 1.6}, seed=seed), 0.25)
        assert [row.name for row in found.slower()] in ([], ["tensor_ops.synthetic[case=3]"])
        caught += bool(found.slower())
    assert caught == 40


def test_a_sitting_slower_everywhere_is_taken_out_not_called_slower():
    found = judge_sittings(_sittings({5: 1.6}, seed=1, shift=1.4), 0.25)
    assert found.drift.shift == pytest.approx(1.4, rel=0.05)
    assert [row.name for row in found.slower()] == ["tensor_ops.synthetic[case=5]"]
    assert "moved 1.4" in found.drift_note()


def test_cases_that_drift_together_never_call_each_other_slower():
    """Two unchanged cases that moved 2.5x and 2.0x between the sittings (as the 2^22
    adds did here, 2026-12-06): neither goes 25% beyond the other's move, so neither is
    SLOWER; a third case planted at 1.5x is masked by them (NOISY), never SAME."""
    found = judge_sittings(_sittings({2: 2.5, 4: 2.0, 7: 1.5}, seed=7), 0.25)
    assert not found.slower()
    moved = {row.name: row for row in found.rows}
    assert all(moved[f"tensor_ops.synthetic[case={index}]"].verdict is Verdict.NOISY
               for index in (2, 4, 7))
    assert moved["tensor_ops.synthetic[case=2]"].why == OTHERS_MOVED
    assert "but tensor_ops.synthetic[case=4] moved 1.9" in (
        moved["tensor_ops.synthetic[case=2]"].timing.reason)
    assert "tensor_ops.synthetic[case=2] moved 2.62x" in found.drift_note()


def test_repeats_on_a_busy_machine_are_not_judged():
    busy_b = {3: (BUSY_STATE,) * 4 + (QUIET,)}
    found = judge_sittings(_sittings({3: 3.0}, seed=2, states=busy_b), 0.25)
    row = next(row for row in found.rows if row.name.endswith("case=3]"))
    assert row.verdict is Verdict.NOISY and row.why == BUSY.format(side="B")
    assert "busy in 4 of 5 repeats" in row.timing.reason
    assert not found.slower()


def test_quiet_repeats_keep_only_the_quiet_ones():
    rng = random.Random(0)
    states = (QUIET, BUSY_STATE, QUIET, QUIET, BUSY_STATE)
    cut, why = quiet_repeats(_measurement(0, 1.0, rng, states))
    assert cut.blocks == (ROUNDS,) * 3 and len(cut.times_s) == 3 * ROUNDS
    assert why.startswith("the machine was busy in 2 of 5 repeats: other processes used")


def test_a_single_repeat_is_not_judged():
    pairs = _sittings({}, seed=3)
    name, a, b = pairs[0]
    one = dataclasses.replace(b.measurement, blocks=(), machine=())
    pairs[0] = (name, a, SavedCase(one))
    row = judge_sittings(pairs, 0.25).rows[0]
    assert row.verdict is Verdict.NOISY and row.why == ONE_REPEAT


def test_counts_decide_where_both_runs_counted_on_the_same_setup():
    pairs = _sittings({}, seed=4)

    def counted(saved: SavedCase, per_call: float, setup: CountSetup = SETUP) -> SavedCase:
        m = saved.measurement
        count = InstructionCount(m.benchmark, m.device, m.params, 100,
                                 (1000 + round(per_call * 100),) * 3, (1000,) * 3, setup)
        return SavedCase(m, count)

    name, a, b = pairs[0]
    pairs[0] = (name, counted(a, 5000.0), counted(b, 6500.0))
    name, a, b = pairs[1]
    other = dataclasses.replace(SETUP, torch_version="2.15.0")
    pairs[1] = (name, counted(a, 5000.0), counted(b, 6500.0, other))
    found = judge_sittings(pairs, 0.25)
    first, second = found.rows[:2]
    assert first.by_counts and first.verdict is Verdict.SLOWER and first.label == "SLOWER*"
    assert "instructions" in first.evidence() and "time:" in first.evidence()
    assert not second.by_counts and second.verdict is not Verdict.SLOWER


def test_the_table_reads_at_80_columns():
    pairs = _sittings({3: 1.5}, seed=5)
    name, a, b = pairs[4]
    long = dataclasses.replace(b.measurement, params={  # a collective's: 87 characters
        "dtype": "float32", "inplace": True, "redop": "sum", "size": 1048576,
        "world_size": 2})
    pairs[4] = (name, SavedCase(dataclasses.replace(a.measurement, params=long.params)),
                SavedCase(long))
    lines = table_lines(judge_sittings(pairs, 0.25), "reports/benchmarks/x/0001_run.json")
    assert max(len(line) for line in lines) <= TABLE_WIDTH
    assert next(line for line in lines if line.startswith("SLOWER")).endswith("[case=3]")


def test_a_saved_record_reads_back_and_a_defect_is_one_line():
    _, a, _ = _sittings({}, seed=6)[0]
    data = json.loads(json.dumps(a.to_json()))
    assert SavedCase.from_json(data) == a
    data["measurement"]["times_s"][2] = "fast"
    with pytest.raises(UsageError, match=r"^run\.json: blitzbench\.measurement\.times_s\[2\]"):
        SavedCase.from_json(data, "run.json: blitzbench")


# --- the plugin end to end -----------------------------------------------------------------

BENCHMARK_FILE = """
BENCHMARK_FAMILY = "tensor_ops"


def test_tensor_ops(case, bench_case):
    bench_case(case)
"""
#: The nine 5x3 tensor ops without numpy: single-threaded microsecond statements, 0.2 s
#: each, the steadiest catalog cases on a busy 2-core machine.
SMALL = ("-k", "cpu-tutorial-5x3 and not numpy", "-p", "no:cacheprovider", "-p",
         "no:randomly")
#: Six cases that sleep 20 ms a call, one of them FACTOR times as long when the run's
#: environment says so: a slowdown the CPU load of the neighbours cannot hide or fake
#: (a sleep waits on the clock, not on a core), for the gate's failing path.
SLEEP_FILE = """
import os
import time

import pytest

from blitzbench.benchmark_plugin import case_param
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import Case

FACTOR = float(os.environ.get("SLEEP_FACTOR", "1"))
SLOWED = 3


def build(index):
    seconds = 0.02 * (FACTOR if index == SLOWED else 1.0)
    return Workload(lambda: time.sleep(seconds))


CASES = [Case("sleep.call", "cpu", {"case": index}, frozenset({"quick"}),
              lambda index=index: build(index), warmup=1) for index in range(6)]


@pytest.mark.parametrize("case", [case_param(case) for case in CASES])
def test_sleep(case, bench_case):
    bench_case(case)
"""
SLEEP_SLOWED = "sleep.call[case=3]"
#: The compare run's machine declared quiet (results/machine.py's ``busy`` replaced in the
#: test's own conftest): the sleeps are not disturbed by the neighbours' CPU load, which
#: would otherwise leave every repeat unjudged; what is tested is the gate's failing path.
QUIET_CONFTEST = """
import blitzbench.results.sittings as sittings

sittings.busy = lambda state, **kwargs: None
"""
RUN_TIMEOUT_S = 300


def _saved(folder: Path, test_file: str, options: tuple[str, ...]) -> Path:
    """One saved run (``--benchmark-autosave``) of ``test_file`` in ``folder``."""
    (folder / "test_bench.py").write_text(test_file)
    storage = folder / "storage"
    done = subprocess.run([sys.executable, "-m", "pytest", *options, "--benchmark-autosave",
                           f"--benchmark-storage=file://{storage}", "test_bench.py"],
                          cwd=folder, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return storage


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved run of SMALL, shared by the compare runs."""
    return _saved(tmp_path_factory.mktemp("saved"), BENCHMARK_FILE, SMALL)


@pytest.fixture(scope="module")
def saved_sleeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved run of SLEEP_FILE, unslowed."""
    return _saved(tmp_path_factory.mktemp("sleeps"), SLEEP_FILE, SMALL[2:])


def _compare(pytester: pytest.Pytester, storage: Path, *options: str,
             test_file: str = BENCHMARK_FILE, select: tuple[str, ...] = SMALL
             ) -> pytest.RunResult:
    pytester.makepyfile(test_bench=test_file)
    return pytester.runpytest_subprocess(*select, "--benchmark-compare",
                                         f"--benchmark-storage=file://{storage}", *options,
                                         timeout=RUN_TIMEOUT_S)


def _slowed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, storage: Path,
            *options: str) -> pytest.RunResult:
    """SLEEP_FILE compared with its saved run, case 3 sleeping three times as long."""
    monkeypatch.setenv("SLEEP_FACTOR", "3")
    pytester.makeconftest(QUIET_CONFTEST)
    return _compare(pytester, storage, *options, test_file=SLEEP_FILE, select=SMALL[2:])


@pytest.mark.slow  # two pytest sittings: 21 s here (2026-12-06); CI runs it
def test_an_unchanged_pair_passes_the_gate(pytester: pytest.Pytester, saved_run: Path):
    result = _compare(pytester, saved_run, "--blitz-compare-fail=25")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*blitzbench compare*", "0 SLOWER, * of 9 cases*",
                                 "verdict*B/A*interval*case"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_slowdown_fails_the_gate_naming_the_case(
        pytester: pytest.Pytester, saved_sleeps: Path, monkeypatch: pytest.MonkeyPatch):
    result = _slowed(pytester, monkeypatch, saved_sleeps, "--blitz-compare-fail=25")
    assert result.ret == 1, result.stdout.str()[-3000:]
    slowed = _literal(SLEEP_SLOWED)
    result.stdout.fnmatch_lines([f"1 case SLOWER by 25% or more: {slowed}",
                                 f"SLOWER *{slowed}",
                                 "FAILED blitzbench::compare-gate - Failed: 1 case SLOWER*",
                                 "*1 failed, 6 passed*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.slow  # two pytest sittings: 13 s here (2026-12-06); CI runs it
def test_pytest_benchmarks_own_compare_fail_is_a_failed_session_not_a_traceback(
        pytester: pytest.Pytester, saved_sleeps: Path, monkeypatch: pytest.MonkeyPatch):
    result = _slowed(pytester, monkeypatch, saved_sleeps,
                     "--benchmark-compare-fail=median:100%")
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.stderr.fnmatch_lines(["Performance has regressed:*"])  # pytest-benchmark's own
    result.stderr.fnmatch_lines(["*test_sleep?call-cpu-case=3?*median*"])
    result.stdout.fnmatch_lines(["FAILED pytest-benchmark::--benchmark-compare-fail - "
                                 "Performance has regressed*",
                                 "*1 failed, 6 passed*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


# needs a saved pytest run (12 s) and a second: CI runs it
@pytest.mark.slow
def test_a_malformed_saved_record_is_one_line(pytester: pytest.Pytester, saved_run: Path,
                                              tmp_path: Path):
    storage = _copy(saved_run, tmp_path / "storage")
    (saved,) = storage.glob("*/*.json")
    data = json.loads(saved.read_text())
    data["benchmarks"][1]["blitzbench"]["measurement"]["blocks"] = [1, 2]
    saved.write_text(json.dumps(data))
    result = _compare(pytester, storage, "--blitz-compare-fail=25")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *0001_*.json: benchmarks[[]1[]].blitzbench"
                                 ".measurement.blocks adds up to 3 rounds, but times_s has *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


# needs a saved pytest run (12 s) and a second: CI runs it
@pytest.mark.slow
def test_a_saved_run_that_is_not_json_is_one_line(pytester: pytest.Pytester,
                                                  saved_run: Path, tmp_path: Path):
    storage = _copy(saved_run, tmp_path / "storage")
    (saved,) = storage.glob("*/*.json")
    saved.write_text(saved.read_text()[:500])
    result = _compare(pytester, storage, "--blitz-compare-fail=25")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *0001_*.json: not a saved pytest-benchmark run "
                                 "(*): delete it or name another with --benchmark-compare=NUM"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_the_gate_needs_a_comparison(pytester: pytest.Pytester):
    pytester.makepyfile(test_bench=BENCHMARK_FILE)
    result = pytester.runpytest_subprocess(*SMALL, "--blitz-compare-fail=25")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --blitz-compare-fail needs --benchmark-compare:*"])


def test_counts_without_valgrind_are_skipped_with_the_install_line(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # no valgrind on it
    pytester.makepyfile(test_bench=BENCHMARK_FILE)
    result = pytester.runpytest_subprocess("-k", "add_out-cpu-tutorial", "-rs",
                                           "-p", "no:cacheprovider", "--benchmark-disable",
                                           "--count-instructions")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["SKIPPED * valgrind is not installed: instruction counts "
                                 "need valgrind (apt-get install valgrind)",
                                 "*1 passed, 1 skipped*"])


def _literal(text: str) -> str:
    """``text`` as an fnmatch pattern that matches it literally (brackets escaped)."""
    return re.sub(r"([\[\]])", r"[\1]", text)


def _copy(source: Path, target: Path) -> Path:
    for path in source.rglob("*.json"):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(path.read_text())
    return target


# two valgrind processes: 2-5 minutes on the 2-core VM (194 s in CI, 2026-12-06), so by
# hand (--run-exhaustive); CI keeps the counting engine's end-to-end test
# (tests/test_instructions.py) and the gate's judging of counts on records (above)
@pytest.mark.exhaustive
@pytest.mark.skipif(valgrind_unavailable() is not None, reason=f"{valgrind_unavailable()}")
def test_counts_are_saved_and_judged_by_the_gate(pytester: pytest.Pytester, tmp_path: Path):
    """One case counted in each of two runs (one valgrind process each): the count is
    saved with its setup, and the compare run judges the case on it (SAME*)."""
    one = ("-k", "add_out-cpu-tutorial", "-p", "no:cacheprovider")
    storage = _saved(tmp_path, BENCHMARK_FILE, (*one, "--count-instructions"))
    (saved,) = storage.glob("*/*.json")
    (entry,) = json.loads(saved.read_text())["benchmarks"]
    count = entry["blitzbench"]["instructions"]
    assert count["instructions_per_call"] > 0 and count["setup"]["torch_threads"] == 1
    result = _compare(pytester, storage, "--blitz-compare-fail=25", "--count-instructions",
                      select=one)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["SAME[*] * tensor_ops.add_out[[]scale=tutorial,size=5x3[]]",
                                 "[*] judged on instruction counts*"])

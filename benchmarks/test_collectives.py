"""Collectives, nccl-tests for torch.distributed (distributed/collectives.py): every op,
size and placement of ``--blitz-level`` in one local world of two gloo ranks on
127.0.0.1, started once per module by torchrun (``--standalone``: a free port).

The ranks time the calls themselves (per iteration, the slowest rank), since no clock in
this process can see inside them. pytest-benchmark has no public way to take samples
measured elsewhere, so its public ``timer`` hook is given the plugin's ``ReplayClock``: each
round reads 0 at its start and the job's time for that iteration at its end, so every
duration it records, and every statistic and saved JSON built from them, is a measured
iteration time; the round body runs nothing, and each test checks that the recorded data
equal the job's times. nccl-tests' figures (count, algbw, busbw, #wrong) go to
``extra_info``; a case with a wrong element fails.

``test_suite_loop_matches_a_bare_loop`` is the speed target: the suite's all_reduce loop
within 5% of a bare ``dist.all_reduce`` loop at 1 MiB, measured side by side in one world.
Under ``--benchmark-disable`` the world still runs (the smoke test) and the comparison
runs two short alternations without judging them.
"""

from __future__ import annotations

import pytest

from blitzbench.benchmark_plugin import (
    LEVEL_OPTION,
    REPLAY,
    machine_window,
    replay,
    skip_if_busy,
)
from blitzbench.distributed.collectives import OPS, LoopComparison, sizes_for
from blitzbench.distributed.local import run_local
from blitzbench.results.names import INPLACE_PARAM, SIZE_PARAM
from blitzbench.results.records import Measurement

WORLD_SIZE = 2
#: A CPU world even where a GPU exists: two NCCL ranks would need two GPUs.
CPU_WORLD_ENV = {"CUDA_VISIBLE_DEVICES": ""}
MEASURE_TARGET = "blitzbench.distributed.collectives:measure_world"
COMPARE_TARGET = "blitzbench.distributed.collectives:compare_with_bare_loop"
#: How long a level's job may take on two cores (quick ~10 s, full up to 256 MiB).
JOB_TIMEOUT_S = {"quick": 300.0, "standard": 900.0, "full": 3600.0}
#: The cross-check: 1 MiB (the issue's size), the suite's 20 calls per loop, and enough
#: alternations that the median of their ratios settles to about 2% on the 2-core VM.
BARE_LOOP_SIZE = 1024 * 1024
BARE_LOOP_ALTERNATIONS = 400
BARE_LOOP_SMOKE_ALTERNATIONS = 2
BARE_LOOP_BOUNDS = (0.95, 1.05)

Case = tuple[str, int, bool]




def _case_id(case: Case) -> str:
    op, size, inplace = case
    return f"{op}-{size}B-{'inplace' if inplace else 'outofplace'}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "collective_case" in metafunc.fixturenames:
        sizes = sizes_for(metafunc.config.getoption(LEVEL_OPTION), "cpu")
        cases = [(name, size, inplace) for name, op in OPS.items() for size in sizes
                 for inplace in op.variants]
        metafunc.parametrize("collective_case", cases, ids=_case_id)


@pytest.fixture(scope="module")
def world_records(request: pytest.FixtureRequest) -> dict[Case, Measurement]:
    """Every case of the level, from one torchrun job of two ranks."""
    level = request.config.getoption(LEVEL_OPTION)
    run = run_local(MEASURE_TARGET, WORLD_SIZE, timeout_s=JOB_TIMEOUT_S[level],
                    args=(level,), env=CPU_WORLD_ENV)
    assert run.returncode == 0, run.output[-3000:]
    records = [Measurement.from_json(data) for data in run.results[0]]
    return {(r.benchmark.split(".", 1)[1], r.params[SIZE_PARAM], r.params[INPLACE_PARAM]): r
            for r in records}


@pytest.mark.benchmark(timer=REPLAY)
def test_collective(collective_case: Case, world_records: dict[Case, Measurement],
                    benchmark) -> None:
    record = world_records[collective_case]
    benchmark.group = f"{record.benchmark} ({WORLD_SIZE} ranks)"
    benchmark.extra_info.update({"benchmark": record.benchmark, "device": record.device,
                                 "params": dict(record.params), **record.extra})
    assert record.extra["wrong"] == 0, f"{record.prefix}: {record.extra['wrong']} wrong"
    if not record.ok:
        pytest.skip(f"{record.prefix}: {record.error}")
    replay(benchmark, record.times_s)


@pytest.mark.slow  # a cross-check of the loop on a gloo world: 6 s here; CI runs it
@pytest.mark.benchmark(timer=REPLAY)
def test_suite_loop_matches_a_bare_loop(benchmark, capsys: pytest.CaptureFixture[str],
                                        request: pytest.FixtureRequest) -> None:
    alternations = (BARE_LOOP_ALTERNATIONS if benchmark.enabled
                    else BARE_LOOP_SMOKE_ALTERNATIONS)
    with machine_window(request.config) as window:
        run = run_local(COMPARE_TARGET, WORLD_SIZE, timeout_s=JOB_TIMEOUT_S["quick"],
                        args=(str(BARE_LOOP_SIZE), str(alternations)), env=CPU_WORLD_ENV)
    assert run.returncode == 0, run.output[-3000:]
    comparison = LoopComparison.from_json(run.results[0])
    benchmark.group = "collectives.all_reduce suite loop vs bare loop"
    benchmark.extra_info.update(comparison.to_json())
    replay(benchmark, comparison.suite_s, comparison.iterations)
    if not benchmark.enabled:
        return
    low, high = BARE_LOOP_BOUNDS
    summary = (f"suite/bare all_reduce loop at {BARE_LOOP_SIZE} B: {comparison.ratio:.3f}, "
               f"95% interval {_interval(comparison)} (median of {len(comparison.ratios)} "
               f"alternations of {comparison.iterations} calls; bound {low}-{high})")
    with capsys.disabled():
        print(f"\n{summary}")
    if not low <= comparison.ratio <= high:
        skip_if_busy(window, summary)  # broken while others held the cores: not judged
    assert low <= comparison.ratio <= high, summary


def _interval(comparison: LoopComparison) -> str:
    low, high = comparison.ratio_interval()
    return f"{low:.3f}-{high:.3f}"

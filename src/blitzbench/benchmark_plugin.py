"""pytest-benchmark integration (entry point ``pytest11`` "blitzbench_benchmarks").

- ``--blitz-level`` picks the catalog level (results.names.LEVELS; quick by default).
- A test that takes ``case`` in a module declaring ``BENCHMARK_FAMILY`` is parametrized
  over that family's catalog cases on every ``--device``; each case carries a
  :class:`PerCallTimer` over its device's clock (CUDA's synchronises, so CUDA is never
  timed without a sync), CUDA cases skip with a reason without a GPU, and torch.compile
  cases are marked ``slow``.
- The ``bench_case`` fixture warms up and calibrates a case with the suite's own loop
  (timing/loop.py, through :func:`blitzbench.workloads.measure.plan_case`), hands the
  plan's round function to ``benchmark.pedantic`` and stores the derived rates (images/s,
  GB/s, fraction of peak) in ``extra_info``.
- ``pytest_benchmark_update_machine_info`` adds torch, torchvision, CUDA, cuDNN, GPU,
  driver, CPU, torch threads and numpy to the saved JSON.
- Saved runs go under ``<rootdir>/reports/benchmarks`` unless ``--benchmark-storage`` is
  given, so ``--benchmark-autosave`` then ``--benchmark-compare`` work out of the box.

torch is imported inside hooks, not at plugin load, so unrelated pytest runs stay light.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from blitzbench.results.names import DEFAULT_LEVEL, LEVELS, RATE_FIELD

if TYPE_CHECKING:
    from blitzbench.results.records import Measurement
    from blitzbench.timing.clocks import Clock
    from blitzbench.timing.loop import RoundPlan
    from blitzbench.workloads.catalog import Case

__all__ = ["PerCallTimer", "benchmark_case", "case_param", "per_call_timer", "selected_cases",
           "summary_lines", "time_plan_with"]

LEVEL_OPTION = "--blitz-level"
PYTEST_BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
STORAGE_FOLDER = ("reports", "benchmarks")
_RESULTS = pytest.StashKey[list]()


class PerCallTimer:
    """pytest-benchmark's timer for rounds of many calls: each reading of ``clock`` is
    divided by the calls per round, so a round's duration, and every statistic
    pytest-benchmark computes from it, is per call.

    blitzbench's rounds are one call of a round function that loops inside (compiled, for
    a statement); pytest-benchmark's own ``iterations`` loop would add a Python call per
    execution. The timer is set on the test through ``pytest.mark.benchmark(timer=...)``
    before the calls per round are known, so :func:`time_plan_with` sets them.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls_per_round = 1
        self.__name__ = f"{getattr(clock, '__name__', 'clock')} per call"  # shown in JSON

    def __call__(self) -> float:
        return self.clock() / self.calls_per_round


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitzbench")
    group.addoption(LEVEL_OPTION, default=DEFAULT_LEVEL, choices=LEVELS,
                    help=f"benchmark depth: {LEVELS[0]} (default; minutes on a laptop), "
                         f"{LEVELS[1]} (all batch sizes and worker counts), {LEVELS[2]} "
                         f"(adds torch.compile)")
    from blitzbench.benchmark_ab import add_options

    add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = []
    config.addinivalue_line("markers", "slow: long-running (torch.compile, full sweeps)")
    config.addinivalue_line("markers", "cuda: needs a CUDA device")
    _default_storage(config)


def _default_storage(config: pytest.Config) -> None:
    """Point pytest-benchmark's storage at reports/benchmarks when the user left it at
    pytest-benchmark's default (this hook runs before pytest-benchmark's, which is
    ``trylast`` and opens the storage)."""
    try:
        storage = config.getoption("benchmark_storage")
    except ValueError:  # pytest-benchmark not active (-p no:benchmark)
        return
    if storage == PYTEST_BENCHMARK_DEFAULT_STORAGE:
        config.option.benchmark_storage = f"file://{config.rootpath.joinpath(*STORAGE_FOLDER)}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    family = getattr(metafunc.module, "BENCHMARK_FAMILY", None)
    if family is None or "case" not in metafunc.fixturenames:
        return
    catalog = selected_cases(metafunc.config, family)
    metafunc.parametrize("case", [case_param(case) for case in catalog])


def selected_cases(config: pytest.Config, family: str | None = None) -> list[Case]:
    """The catalog at ``--blitz-level`` for ``--device`` and ``--data-root``."""
    from blitzbench.errors import BlitzError
    from blitzbench.pytest_plugin import selected_devices
    from blitzbench.workloads.catalog import cases
    from blitzbench.workloads.cifar import resolve_data_source

    try:
        data = resolve_data_source(config.getoption("--data-root"))
        return cases(config.getoption(LEVEL_OPTION), selected_devices(config), data, family)
    except BlitzError as exc:
        raise pytest.UsageError(str(exc)) from None


def case_param(case: Case) -> Any:
    """A pytest.param for a case, with a per-call timer over its device's clock; CUDA
    cases get a ``cuda`` mark and, without a usable GPU, a skip with the reason; compile
    cases get ``slow``."""
    import torch

    from blitzbench.devices import cuda_available
    from blitzbench.timing.clocks import clock_for

    marks = [pytest.mark.benchmark(timer=PerCallTimer(clock_for(case.device)))]
    if case.slow:
        marks.append(pytest.mark.slow)
    device = torch.device(case.device)
    if device.type == "cuda":
        marks.append(pytest.mark.cuda)
        if not cuda_available():
            marks.append(pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() "
                                                 "is False on this machine"))
        elif (device.index or 0) >= torch.cuda.device_count():
            marks.append(pytest.mark.skip(reason=f"{case.device} does not exist here"))
    return pytest.param(case, id=case.id, marks=marks)


def per_call_timer(node: pytest.Item) -> PerCallTimer:
    """The test's per-call timer (set by :func:`case_param` or a ``benchmark`` mark)."""
    marker = node.get_closest_marker("benchmark")
    timer = marker.kwargs.get("timer") if marker else None
    if not isinstance(timer, PerCallTimer):
        raise TypeError(f"{node.nodeid}: bench_case needs the case from case_param() or "
                        f"@pytest.mark.benchmark(timer=PerCallTimer(clock))")
    return timer


@pytest.fixture
def bench_case(benchmark: Any, request: pytest.FixtureRequest) -> Callable[[Case], dict]:
    """Time a catalog case with pytest-benchmark; returns the extra_info it recorded."""

    def run(case: Case) -> dict[str, Any]:
        from blitzbench.benchmark_ab import AB_OPTION, judge_case

        if request.config.getoption(AB_OPTION):
            benchmark.skipped = True  # timed by the A/B run, not by pytest-benchmark here
            judge_case(request, case)
            return {}
        extra = benchmark_case(benchmark, case, per_call_timer(request.node))
        if benchmark.enabled:
            request.config.stash[_RESULTS].append(_record(benchmark, case))
        return extra

    return run


def _record(benchmark: Any, case: Case) -> Measurement:
    from blitzbench.results.records import Measurement

    stats = benchmark.stats
    times = tuple(stats.stats.data) if stats else ()
    return Measurement(case.benchmark, case.device, dict(case.params), times,
                       dict(benchmark.extra_info))


def benchmark_case(benchmark: Any, case: Case, timer: PerCallTimer) -> dict[str, Any]:
    """Build, warm up, calibrate and time ``case`` through ``benchmark.pedantic``.

    With ``--benchmark-disable`` the workload runs once, untimed (CI's smoke mode). A CUDA
    out-of-memory error or a dead DataLoader worker skips the test with the recorded cause.
    """
    from blitzbench.seeding import seed_everything
    from blitzbench.workloads.measure import failure_message, release_cuda_memory, teardown

    benchmark.group = case.benchmark
    benchmark.extra_info.update({"benchmark": case.benchmark, "device": case.device,
                                 "params": dict(case.params)})
    seed_everything()
    workload = None
    try:
        workload = case.build()
        if benchmark.enabled:
            _timed(benchmark, case, workload, timer)
        else:
            benchmark.pedantic(workload.run)
    except RuntimeError as exc:
        message = failure_message(case, exc)
        if message is None:
            raise
        benchmark.extra_info["error"] = message
        pytest.skip(message)
    finally:
        teardown(workload)
        workload = None
        release_cuda_memory(case.device)
    return benchmark.extra_info


def _timed(benchmark: Any, case: Case, workload: Any, timer: PerCallTimer) -> None:
    from blitzbench.workloads.measure import case_extra, plan_case

    plan = plan_case(case, workload, timer.clock)
    time_plan_with(benchmark, plan, timer)
    benchmark.extra_info.update(case_extra(case, workload, benchmark.stats.stats.median,
                                           plan.calls_per_round))


def time_plan_with(benchmark: Any, plan: RoundPlan, timer: PerCallTimer) -> None:
    """Time the plan's rounds through ``benchmark.pedantic``: one round function call per
    round (``iterations=1``), read by ``timer`` at both ends and divided by the calls."""
    timer.calls_per_round = plan.calls_per_round
    benchmark.pedantic(plan.round_fn, args=(plan.calls_per_round,), rounds=plan.rounds,
                       iterations=1, warmup_rounds=0)
    # The saved JSON's "iterations" then says what its per-call figures are averages of.
    benchmark.stats.iterations = plan.calls_per_round


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config,
                                         machine_info: dict[str, Any]) -> None:
    """torch, torchvision, CUDA, cuDNN, GPUs (name, capability, memory, driver), CPU,
    torch threads and numpy: pytest-benchmark records none of them by itself."""
    from blitzbench.environment import fingerprint

    facts = fingerprint()
    facts.pop("host", None)  # pytest-benchmark records the node name already
    machine_info["blitzbench"] = {**facts, "level": config.getoption(LEVEL_OPTION)}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = summary_lines(config.stash.get(_RESULTS, []))
    if lines:
        terminalreporter.section("blitzbench benchmark summary")
        for line in lines:
            terminalreporter.write_line(line)


def summary_lines(measurements: Sequence[Measurement]) -> list[str]:
    """Best DataLoader worker count per batch size, and every CUDA-over-CPU speed-up
    (both computed by results/derived.py, as the report and the acceptance metrics do)."""
    from blitzbench.results.derived import best_worker_counts, cuda_speedups

    lines = [f"DataLoader on {device}: best num_workers per batch size: "
             + ", ".join(f"batch {b} -> {w}" for b, w in best.items())
             for device, best in best_worker_counts(measurements).items()]
    for speedup in cuda_speedups(measurements):
        cuda, cpu = speedup.cuda.figure(RATE_FIELD), speedup.cpu.figure(RATE_FIELD)
        lines.append(f"{speedup.cuda.prefix}: {speedup.device} over cpu {speedup.ratio:.1f}x "
                     f"({cuda:,.0f} vs {cpu:,.0f} img/s)")
    return lines


class ReplayClock:
    """pytest-benchmark's timer for rounds already timed elsewhere (the ranks of a
    torchrun job time themselves): the start of round i reads 0 and its end the measured
    time of round i, so each duration pytest-benchmark records is that time exactly, and
    its statistics and saved JSON are the job's own figures, not a timing of a no-op."""

    __name__ = "times measured in a torchrun job, replayed"  # the timer in saved JSON

    def __init__(self) -> None:
        self.times_s: tuple[float, ...] = ()
        self.reads = 0

    def load(self, times_s: Sequence[float]) -> None:
        self.times_s = tuple(times_s)
        self.reads = 0

    def __call__(self) -> float:
        index, at_end = divmod(self.reads, 2)
        self.reads += 1
        return self.times_s[index] if at_end else 0.0

    def hand_over(self) -> None:
        """The round body: the round ran in the job; nothing runs here."""


#: The one replay timer: ``@pytest.mark.benchmark(timer=REPLAY)`` on a test, then
#: :func:`replay` with the times.
REPLAY = ReplayClock()


def replay(benchmark: Any, times_s: Sequence[float], calls_per_time: int = 1) -> None:
    """Record ``times_s`` as the rounds of ``benchmark`` (a test marked with
    ``timer=REPLAY``), and check that pytest-benchmark kept them unchanged."""
    REPLAY.load(times_s)
    benchmark.pedantic(REPLAY.hand_over, rounds=len(times_s), iterations=1)
    if benchmark.enabled:
        benchmark.stats.iterations = calls_per_time  # what each time is a mean over
        assert list(benchmark.stats.stats.data) == list(times_s)

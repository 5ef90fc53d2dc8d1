"""pytest-benchmark integration (entry point ``pytest11`` "blitzbench_benchmarks").

- ``--blitz-level`` picks the catalog level (results.names.LEVELS; quick by default).
- A test that takes ``case`` in a module declaring ``BENCHMARK_FAMILY`` is parametrized
  over that family's catalog cases on every ``--device``; each case carries a
  :class:`PerCallTimer` over its device's clock (CUDA's synchronises, so CUDA is never
  timed without a sync), CUDA cases skip with a reason without a GPU, and torch.compile
  cases are marked ``slow``.
- The ``bench_case`` fixture warms up and calibrates a case with the suite's own loop
  (timing/loop.py, through :func:`blitzbench.workloads.measure.plan_case`), hands the
  plan's round function to ``benchmark.pedantic`` in repeats (as many as ``accept``
  takes), each on a fresh build (:class:`RepeatedRounds`), notes the machine's state
  during each repeat, and stores the derived rates (images/s, GB/s, fraction of peak)
  in ``extra_info``.
- Every saved benchmark carries blitzbench's record of it (per-round times, repeats,
  machine states and, with ``--count-instructions``, its instruction count) through
  ``pytest_benchmark_update_json``; ``--benchmark-compare`` then judges them and
  ``--blitz-compare-fail=PCT`` gates on them (benchmark_compare.py);
  ``--count-instructions`` counts the CPU cases after the timings (benchmark_counts.py).
- ``pytest_benchmark_update_machine_info`` adds torch, torchvision, CUDA, cuDNN, GPU,
  driver, CPU, torch threads and numpy to the saved JSON.
- Saved runs go under ``<rootdir>/reports/benchmarks`` unless ``--benchmark-storage`` is
  given, so ``--benchmark-autosave`` then ``--benchmark-compare`` work out of the box.

torch is imported inside hooks, not at plugin load, so unrelated pytest runs stay light.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from blitzbench.results.names import DEFAULT_LEVEL, LEVELS, RATE_FIELD

if TYPE_CHECKING:
    from blitzbench.machine.monitor import MachineMonitor
    from blitzbench.results.machine import MachineState
    from blitzbench.results.records import Measurement
    from blitzbench.results.sittings import SavedCase
    from blitzbench.timing.clocks import Clock
    from blitzbench.timing.workload import Workload
    from blitzbench.workloads.catalog import Case

__all__ = ["PerCallTimer", "RepeatedRounds", "benchmark_case",
           "benchmark_session", "case_param", "machine_window", "measured_cases",
           "per_call_timer", "selected_cases", "session_records", "skip_if_busy",
           "summary_lines", "time_rounds"]

LEVEL_OPTION = "--blitz-level"
PYTEST_BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
STORAGE_FOLDER = ("reports", "benchmarks")
PYTEST_BENCHMARK_SESSION = "pytest-benchmark"  # the name its session registers under
COMPARE_PLUGIN = "blitzbench-compare"  # benchmark_compare.py's hooks, registered here
_CASES = pytest.StashKey[dict]()  # nodeid -> Measurement, for bench_case's cases
_MONITOR = pytest.StashKey["MachineMonitor"]()


class PerCallTimer:
    """pytest-benchmark's timer for rounds of many calls: each reading of ``clock`` is
    divided by the calls per round, so a round's duration, and every statistic
    pytest-benchmark computes from it, is per call.

    blitzbench's rounds are one call of a round function that loops inside (compiled, for
    a statement); pytest-benchmark's own ``iterations`` loop would add a Python call per
    execution. The timer is set on the test through ``pytest.mark.benchmark(timer=...)``
    before the calls per round are known, so :class:`RepeatedRounds` sets them.
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
    from blitzbench import benchmark_ab, benchmark_compare, benchmark_counts

    benchmark_ab.add_options(group)
    benchmark_counts.add_options(group)
    benchmark_compare.add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    from blitzbench import benchmark_compare

    config.stash[_CASES] = {}
    if not config.pluginmanager.is_registered(benchmark_compare):
        config.pluginmanager.register(benchmark_compare, COMPARE_PLUGIN)
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


@pytest.hookimpl(trylast=True)  # after -k, -m and pytest-benchmark's own selection
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """The items that run after every collected test: the instruction counts
    (``--count-instructions``), then the compare gate (``--blitz-compare-fail``)."""
    from blitzbench import benchmark_compare, benchmark_counts

    benchmark_counts.append_item(session, items)
    benchmark_compare.append_item(session, items)


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
        rounds = RepeatedRounds(case, per_call_timer(request.node),
                                _monitor(request.config) if benchmark.enabled else None,
                                request.config.getoption(LEVEL_OPTION))
        extra = time_rounds(benchmark, rounds)
        if benchmark.enabled and rounds.times_s:
            request.config.stash[_CASES][benchmark.fullname] = rounds.record(
                dict(benchmark.extra_info))
        return extra

    return run


def measured_cases(config: pytest.Config) -> dict[str, Measurement]:
    """The session's records of the cases ``bench_case`` timed, by test id (nodeid)."""
    return config.stash.get(_CASES, {})


def _monitor(config: pytest.Config) -> MachineMonitor:
    """The session's machine monitor, started on first use; sampled only between rounds
    (``background=False``: no thread in the process that times)."""
    if _MONITOR not in config.stash:
        from blitzbench.machine.monitor import MachineMonitor

        config.stash[_MONITOR] = MachineMonitor().start(background=False)
    return config.stash[_MONITOR]


@contextlib.contextmanager
def machine_window(config: pytest.Config) -> Iterator[list[MachineState]]:
    """The machine's state over the block, from the session's monitor: the list yielded
    holds it when the block ends. A test that asserts a timing bound reads it so that a
    bound broken on a busy machine is "not judged" (skipped), not a failure."""
    import torch

    monitor = _monitor(config)
    start, found = monitor.mark(), []
    yield found
    found.append(monitor.state(start, torch_threads=torch.get_num_threads()))


def skip_if_busy(window: Sequence[MachineState], failure: str) -> None:
    """Skip the test, not judged, when the window was busy (results/machine.py's
    :func:`busy`): ``failure`` is the bound it broke, kept in the reason."""
    from blitzbench.results.machine import busy

    reasons = [reason for reason in map(busy, window) if reason]
    if reasons:
        pytest.skip(f"not judged: the machine was busy ({reasons[0]}): {failure}")


def pytest_unconfigure(config: pytest.Config) -> None:
    monitor = config.stash.get(_MONITOR, None)
    if monitor is not None:
        monitor.stop()


def benchmark_case(benchmark: Any, case: Case, timer: PerCallTimer,
                   monitor: MachineMonitor | None = None) -> dict[str, Any]:
    """Build, warm up, calibrate and time ``case`` through ``benchmark.pedantic``, in
    repeats (see :class:`RepeatedRounds`; the quick level's count).

    With ``--benchmark-disable`` the workload runs once, untimed (CI's smoke mode). A CUDA
    out-of-memory error or a dead DataLoader worker skips the test with the recorded cause.
    """
    return time_rounds(benchmark, RepeatedRounds(case, timer, monitor))


def time_rounds(benchmark: Any, rounds: RepeatedRounds) -> dict[str, Any]:
    """:func:`benchmark_case` with the repeats given (their blocks and machine states
    stay on ``rounds`` for the record); returns the extra_info recorded."""
    from blitzbench.workloads.measure import failure_message, release_cuda_memory

    case = rounds.case
    benchmark.group = case.benchmark
    benchmark.extra_info.update({"benchmark": case.benchmark, "device": case.device,
                                 "params": dict(case.params)})
    try:
        if benchmark.enabled:
            rounds.time_with(benchmark)
        else:
            benchmark.pedantic(rounds.build().run)
    except RuntimeError as exc:
        message = failure_message(case, exc)
        if message is None:
            raise
        benchmark.extra_info["error"] = message
        pytest.skip(message)
    finally:
        rounds.teardown()
        release_cuda_memory(case.device)
    return benchmark.extra_info


class RepeatedRounds:
    """A case timed in repeats inside one ``benchmark.pedantic`` call, as many as
    ``accept`` measures at the level (workloads/catalog.py's ``LEVEL_REPEATS``, 8: Welch's
    t over a pair of runs then has about 14 degrees of freedom), except for a case whose
    rounds are a count rather than a time budget (``max_time_s`` 0: a DataLoader pass),
    which keeps its own count of rounds as repeats of one round (its three passes stay
    three, each on a fresh loader). The case is built afresh (seeded, fresh tensors, a
    fresh DataLoader) at the start of each repeat, in pytest-benchmark's ``setup``
    (outside the timed rounds), so the saved rounds come in blocks whose medians vary as
    much as the machine and the build vary across the test, not only across one
    back-to-back window (workloads/repeats.py says why).

    The first repeat warms up and calibrates with the suite's loop (``plan_case``) on
    1/repeats of the case's rounds and time budget, so a test costs what it did plus a
    build and a warm-up call per repeat; the later repeats keep its calls per round and
    round count, after workloads/repeats.py's ``LATER_WARMUP`` warm-up calls (none for a
    call of LONG_CALL_S or more: a DataLoader pass is its own warm-up). ``blocks`` and
    ``states`` (the machine during each repeat, with a monitor) go into the record.
    """

    def __init__(self, case: Case, timer: PerCallTimer,
                 monitor: MachineMonitor | None = None, level: str = DEFAULT_LEVEL) -> None:
        from blitzbench.workloads.catalog import LEVEL_REPEATS

        self.case, self.timer, self.monitor = case, timer, monitor
        counted = case.max_time_s <= 0
        self.repeats = min(LEVEL_REPEATS[level], case.min_rounds) if counted \
            else LEVEL_REPEATS[level]
        self.workload: Workload | None = None
        self.round_fn: Callable[[int], object] | None = None
        self.rounds_per_repeat = 0
        self.started: float | None = None
        self.done = 0  # rounds handed out so far
        self.blocks: tuple[int, ...] = ()
        self.states: list[MachineState] = []
        self.times_s: Sequence[float] = ()
        self.benchmark: Any = None

    def build(self) -> Workload:
        """Seed and build the case (dropping the previous build first)."""
        from blitzbench.seeding import seed_everything

        self.teardown()
        seed_everything()
        self.workload = self.case.build()
        return self.workload

    def teardown(self) -> None:
        from blitzbench.workloads.measure import teardown

        teardown(self.workload)
        self.workload = None

    def time_with(self, benchmark: Any) -> None:
        """Plan the first repeat, then time every repeat's rounds in one pedantic call."""
        from blitzbench.workloads.measure import case_extra, plan_case

        min_rounds = max(1, math.ceil(self.case.min_rounds / self.repeats))
        plan = plan_case(self.case, self.build(), self.timer.clock, min_rounds=min_rounds,
                         max_time_s=self.case.max_time_s / self.repeats)
        self.round_fn, self.rounds_per_repeat = plan.round_fn, plan.rounds
        self.timer.calls_per_round = plan.calls_per_round
        self.benchmark = benchmark
        self._open_window()
        benchmark.pedantic(_one_round, setup=self.next_round,
                           rounds=self.repeats * plan.rounds, iterations=1, warmup_rounds=0)
        self._close_window()
        # The saved JSON's "iterations" then says what its per-call figures are averages of.
        benchmark.stats.iterations = plan.calls_per_round
        self.times_s = tuple(benchmark.stats.stats.data)
        self.blocks = (plan.rounds,) * self.repeats if self.repeats > 1 else ()
        assert self.workload is not None
        benchmark.extra_info.update(case_extra(self.case, self.workload,
                                               benchmark.stats.stats.median,
                                               plan.calls_per_round))

    def next_round(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """pytest-benchmark's ``setup``: the round's arguments; at a repeat's first round
        after the first repeat, the case rebuilt and warmed up (untimed)."""
        if self.done and self.done % self.rounds_per_repeat == 0:
            self._close_window()
            self._rebuild()
            self._open_window()
        self.done += 1
        return (self.round_fn, self.timer.calls_per_round), {}

    def _rebuild(self) -> None:
        from blitzbench.timing.loop import LONG_CALL_S, round_function
        from blitzbench.workloads.repeats import LATER_WARMUP

        long_call = self._median_so_far() >= LONG_CALL_S
        self.round_fn = round_function(self.build())
        warmup = 0 if long_call else min(self.case.warmup, LATER_WARMUP)
        if warmup:
            self.round_fn(warmup)

    def _median_so_far(self) -> float:
        """The per-call median of the rounds timed so far (pytest-benchmark's own data)."""
        data = self.benchmark.stats.stats.data if self.benchmark is not None else ()
        return statistics.median(data) if data else 0.0

    def record(self, extra: dict[str, Any]) -> Measurement:
        """The case's record: every repeat's rounds, their blocks, the machine's states."""
        from blitzbench.results.records import Measurement

        case = self.case
        return Measurement(case.benchmark, case.device, dict(case.params), tuple(self.times_s),
                           extra, blocks=self.blocks, machine=tuple(self.states))

    def _open_window(self) -> None:
        if self.monitor is not None:
            self.started = self.monitor.mark()

    def _close_window(self) -> None:
        if self.monitor is not None and self.started is not None:
            import torch

            self.states.append(self.monitor.state(self.started,
                                                  torch_threads=torch.get_num_threads()))
            self.started = None


def _one_round(round_fn: Callable[[int], object], calls: int) -> None:
    """The timed body: one round of ``calls`` calls (a Python call per round, not per
    call: 0.1 us against a round of TARGET_ROUND_S)."""
    round_fn(calls)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config,
                                         machine_info: dict[str, Any]) -> None:
    """torch, torchvision, CUDA, cuDNN, GPUs (name, capability, memory, driver), CPU,
    torch threads and numpy: pytest-benchmark records none of them by itself."""
    from blitzbench.environment import fingerprint

    facts = fingerprint()
    facts.pop("host", None)  # pytest-benchmark records the node name already
    machine_info["blitzbench"] = {**facts, "level": config.getoption(LEVEL_OPTION)}


def benchmark_session(config: pytest.Config) -> Any:
    """pytest-benchmark's session (its plugin object "pytest-benchmark"), or None when
    pytest-benchmark is not active (``-p no:benchmark``)."""
    return config.pluginmanager.get_plugin(PYTEST_BENCHMARK_SESSION)


def session_records(config: pytest.Config) -> dict[str, SavedCase]:
    """Every benchmark this session timed, as the record the saved JSON keeps, by test id:
    ``bench_case``'s cases with their repeats and machine states, any other benchmark
    (the collectives' replayed iterations, the harness overhead) from pytest-benchmark's
    own rounds, each with its instruction count when ``--count-instructions`` took one."""
    from blitzbench.benchmark_counts import counted
    from blitzbench.results.sittings import SavedCase

    session = benchmark_session(config)
    measured, counts = measured_cases(config), counted(config)
    records = {}
    for bench in session.benchmarks if session is not None else ():
        if not bench or bench.has_error:
            continue  # no rounds: skipped, disabled, or failed before timing
        measurement = measured.get(bench.fullname) or _from_rounds(bench)
        records[bench.fullname] = SavedCase(measurement,
                                            counts.get((measurement.prefix,
                                                        measurement.device)))
    return records


def _from_rounds(bench: Any) -> Measurement:
    """A Measurement of a benchmark ``bench_case`` did not time: its name, device and
    parameters from extra_info where the test put them there, its rounds as recorded."""
    from blitzbench.results.records import Measurement

    extra = bench.extra_info
    name, device, params = extra.get("benchmark"), extra.get("device"), extra.get("params")
    return Measurement(name if isinstance(name, str) and name else f"pytest.{bench.name}",
                       device if isinstance(device, str) and device else "host",
                       dict(params) if isinstance(params, dict) else {},
                       tuple(bench.stats.data))


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    """Each saved benchmark gets blitzbench's record of it under "blitzbench"."""
    from blitzbench.results.sittings import SAVED_KEY

    records = session_records(config)
    for entry in output_json.get("benchmarks", []):
        saved = records.get(entry.get("fullname"))
        if saved is not None:
            entry[SAVED_KEY] = saved.to_json()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = summary_lines(list(measured_cases(config).values()))
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

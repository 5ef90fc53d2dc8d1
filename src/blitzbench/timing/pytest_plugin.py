"""pytest-benchmark integration (entry point ``pytest11`` "blitzbench_benchmarks").

- ``--blitz-level quick|standard|full`` picks the catalog level (quick by default).
- A test that takes ``case`` in a module declaring ``BENCHMARK_FAMILY`` is parametrized
  over that family's catalog cases on every ``--device``; CUDA cases carry a synchronising
  timer (so CUDA is never timed without a sync) and skip with a reason without a GPU;
  torch.compile cases are marked ``slow``.
- The ``bench_case`` fixture times a case through ``benchmark.pedantic`` with the same
  warm-up and calibration as :func:`blitzbench.timing.runner.measure`, and stores the
  derived rates (images/s, GB/s, fraction of peak) in ``extra_info``.
- ``pytest_benchmark_update_machine_info`` adds torch, torchvision, CUDA, cuDNN, GPU,
  driver, CPU, torch threads and numpy to the saved JSON.
- Saved runs go under ``<rootdir>/reports/benchmarks`` unless ``--benchmark-storage`` is
  given, so ``--benchmark-autosave`` then ``--benchmark-compare`` work out of the box.

torch is imported inside hooks, not at plugin load, so unrelated pytest runs stay light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from blitzbench.workloads.catalog import Case

LEVEL_OPTION = "--blitz-level"
PYTEST_BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
STORAGE_FOLDER = ("reports", "benchmarks")
_RESULTS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitzbench")
    group.addoption(LEVEL_OPTION, default="quick", choices=("quick", "standard", "full"),
                    help="benchmark depth: quick (default; minutes on a laptop), standard "
                         "(all batch sizes and worker counts), full (adds torch.compile)")


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
    """A pytest.param for a case: CUDA cases get the synchronising timer, a ``cuda`` mark
    and, without a usable GPU, a skip with the reason; compile cases get ``slow``."""
    import torch

    from blitzbench.devices import cuda_available
    from blitzbench.timing.clocks import cuda_synchronized_clock

    marks = [pytest.mark.slow] if case.slow else []
    device = torch.device(case.device)
    if device.type == "cuda":
        marks += [pytest.mark.cuda, pytest.mark.benchmark(timer=cuda_synchronized_clock)]
        if not cuda_available():
            marks.append(pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() "
                                                 "is False on this machine"))
        elif (device.index or 0) >= torch.cuda.device_count():
            marks.append(pytest.mark.skip(reason=f"{case.device} does not exist here"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture
def bench_case(benchmark: Any, request: pytest.FixtureRequest) -> Callable[[Case], dict]:
    """Time a catalog case with pytest-benchmark; returns the extra_info it recorded."""

    def run(case: Case) -> dict[str, Any]:
        extra = benchmark_case(benchmark, case)
        request.config.stash[_RESULTS].append((case, extra))
        return extra

    return run


def benchmark_case(benchmark: Any, case: Case) -> dict[str, Any]:
    """Build, warm up, calibrate and time ``case`` through ``benchmark.pedantic``.

    With ``--benchmark-disable`` the workload runs once, untimed (CI's smoke mode). A CUDA
    out-of-memory error or a dead DataLoader worker skips the test with the recorded cause.
    """
    from blitzbench.seeding import seed_everything
    from blitzbench.timing.runner import failure_message, release_cuda_memory, teardown

    benchmark.group = case.benchmark
    benchmark.extra_info.update({"benchmark": case.benchmark, "device": case.device,
                                 "params": dict(case.params)})
    seed_everything()
    workload = None
    try:
        workload = case.build()
        if benchmark.enabled:
            _timed(benchmark, case, workload)
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


def _timed(benchmark: Any, case: Case, workload: Any) -> None:
    import torch

    from blitzbench.timing.clocks import clock_for
    from blitzbench.timing.rates import derived_rates
    from blitzbench.timing.runner import SEED, calibrate, rounds_for

    for _ in range(case.warmup):
        workload.run()
    calibration = calibrate(workload.run, clock_for(case.device))
    rounds = rounds_for(calibration, case.min_rounds, case.max_time_s)
    benchmark.pedantic(workload.run, rounds=rounds, iterations=calibration.calls_per_round)
    median = benchmark.stats.stats.median  # per call: pytest-benchmark divides by iterations
    benchmark.extra_info.update({"calls_per_round": calibration.calls_per_round,
                                 "torch_threads": torch.get_num_threads(), "seed": SEED})
    benchmark.extra_info.update(derived_rates(workload.units, case.params, case.device, median))
    if workload.probe is not None:
        benchmark.extra_info.update(workload.probe())


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
    results: list[tuple[Case, dict[str, Any]]] = config.stash.get(_RESULTS, [])
    lines = summary_lines(results)
    if lines:
        terminalreporter.section("blitzbench benchmark summary")
        for line in lines:
            terminalreporter.write_line(line)


def summary_lines(results: list[tuple[Case, dict[str, Any]]]) -> list[str]:
    """Best DataLoader worker count per batch size, and LeNet's CUDA-over-CPU speedup."""
    from blitzbench.workloads.loading import best_worker_counts

    lines = []
    loaders: dict[str, list] = {}
    for case, extra in results:
        if case.family == "loading" and "images_per_s" in extra:
            loaders.setdefault(case.device, []).append((case.params, extra["images_per_s"]))
    for device, points in loaders.items():
        best = best_worker_counts(points)
        lines.append(f"DataLoader on {device}: best num_workers per batch size: "
                     + ", ".join(f"batch {b} -> {w}" for b, w in best.items()))
    lines += _speedup_lines(results)
    return lines


def _speedup_lines(results: list[tuple[Case, dict[str, Any]]]) -> list[str]:
    rates: dict[tuple[str, int, str, str], float] = {}
    for case, extra in results:
        if case.family == "lenet" and "images_per_s" in extra:
            key = (case.benchmark, case.params["batch_size"], case.params["variant"], case.device)
            rates[key] = extra["images_per_s"]
    lines = []
    for (benchmark, batch, variant, device), rate in sorted(rates.items()):
        cpu_rate = rates.get((benchmark, batch, variant, "cpu"))
        if device != "cpu" and cpu_rate:
            lines.append(f"{benchmark} {variant} batch {batch}: {device} over cpu "
                         f"{rate / cpu_rate:.1f}x ({rate:,.0f} vs {cpu_rate:,.0f} img/s)")
    return lines

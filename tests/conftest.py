"""Harness tests: make ``tests/`` importable (for ``breakages``), leave the tests marked
slow to CI (``--run-slow``) and print the self-test score at the end of the session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

#: Runs the tests marked slow too; CI passes it (.ci/run: ``tox -e setup,tests --
#: --run-slow``), the README's everyday command does not.
RUN_SLOW = "--run-slow"
#: Runs the exhaustive tests too (the self-test judging each breakage alone on every
#: claim, 11 minutes here): by hand after a change to the self-test's grouping, not in CI,
#: whose grouped judging stands for it (tests/breakages/grouping.py).
RUN_EXHAUSTIVE = "--run-exhaustive"
#: How many slow tests this session left out, for the closing line.
SLOW_LEFT_OUT = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(RUN_EXHAUSTIVE, action="store_true", default=False,
                     help="also run the exhaustive tests (the self-test judging each "
                          "breakage alone on every claim: 11 minutes); not in CI")
    parser.addoption(RUN_SLOW, action="store_true", default=False,
                     help="also run the tests marked slow (minutes each: the self-test's "
                          "exact per-breakage judging, end-to-end jobs); CI does")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --run-slow (or an -m naming ``slow``), deselect the slow tests, as pytest's
    own -m would, and count them for the closing line; without --run-exhaustive (or an
    -m naming ``exhaustive``), the exhaustive ones."""
    markexpr = config.getoption("markexpr") or ""
    if not config.getoption(RUN_EXHAUSTIVE) and "exhaustive" not in markexpr:
        _deselect(config, items, "exhaustive")
    if config.getoption(RUN_SLOW) or "slow" in markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
    config.stash[SLOW_LEFT_OUT] = len(slow)


def _deselect(config: pytest.Config, items: list[pytest.Item], marker: str) -> None:
    chosen = [item for item in items if item.get_closest_marker(marker) is not None]
    if chosen:
        config.hook.pytest_deselected(items=chosen)
        items[:] = [item for item in items if item.get_closest_marker(marker) is None]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(SLOW_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"{left_out} slow tests not run: CI runs them ({RUN_SLOW}; "
            f"tox -e setup,tests -- {RUN_SLOW})")
    selftest = sys.modules.get("test_selftest") or sys.modules.get("tests.test_selftest")
    if selftest is None or not selftest.CAUGHT:
        return
    caught = frozenset().union(*selftest.CAUGHT.values())
    total = selftest.CPU_CLAIMS
    caught_breakages = [selftest.BREAKAGE_BY_NAME[name] for name in selftest.CAUGHT]
    beyond = [b for b in caught_breakages if b.beyond_example]
    short = list(selftest.short_of_beyond_example(caught_breakages))
    terminalreporter.section("blitzbench self-test score")
    terminalreporter.write_line(
        f"claims whose planted break is caught: {len(caught & total)}/{len(total)} "
        f"(CPU-judged claims; {len(selftest.CAUGHT)} breakages caught)")
    terminalreporter.write_line(
        f"beyond the tutorial's example: {len(beyond)} breakages caught; claims with fewer "
        f"than {selftest.BEYOND_EXAMPLE_FLOOR}: {len(short)}"
        + (f" ({', '.join(short)})" if short else ""))
    missing = len(selftest.BREAKAGE_BY_NAME) - len(selftest.CAUGHT)
    if missing and config.stash.get(SLOW_LEFT_OUT, 0):
        terminalreporter.write_line(
            f"{missing} breakages are judged by slow tests only: the whole score is "
            f"CI's ({RUN_SLOW})")


class FakeMonitor:
    """A MachineMonitor stand-in whose every window reads ``others_cores`` of CPU used by
    other processes (0: a quiet machine; 2.0 on 2 cores: a busy one)."""

    def __init__(self, others_cores: float = 0.0, cores: int = 2) -> None:
        self.others_cores, self.cores = others_cores, cores
        self.clock = 0.0

    def mark(self) -> float:
        self.clock += 1.0
        return self.clock

    def state(self, start: float, end: float | None = None, *, torch_threads=None):
        from blitzbench.results.machine import BusyProcess, MachineState

        busy = (BusyProcess(4242, "neighbour", self.others_cores),) if self.others_cores \
            else ()
        return MachineState(1e9 + start, 1e9 + start + 1.0, self.cores,
                            others_cpu_fraction=self.others_cores / self.cores,
                            busy_processes=busy, torch_threads=torch_threads)


def fake_machine(monkeypatch: Any, others_cores: float = 0.0) -> FakeMonitor:
    """Make accept's watch (runner/watch.py) read a machine whose others use
    ``others_cores``: tests of the verdict must not depend on the test machine's load."""
    import contextlib

    from blitzbench.runner import watch

    monitor = FakeMonitor(others_cores)

    @contextlib.contextmanager
    def watching(*, in_job: bool = False):
        yield monitor

    monkeypatch.setattr(watch, "watching", watching)
    return monitor

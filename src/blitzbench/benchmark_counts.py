"""``pytest benchmarks --count-instructions``: the session's CPU cases counted under
callgrind, in one valgrind process, after the timings.

Why one item at the end and not a count per test: a valgrind process costs 30-80 s to
start (importing torch under callgrind) before its first case, then 7-24 s a case here
(timing/instructions.py has the measurements), so a process per test would pay the
start-up for every case. The item ``blitzbench::count-instructions`` is appended after
the collected benchmark tests (after them, so the valgrind process never shares the two
cores with a timing); it counts the CPU catalog cases those tests cover with
runner/counting.py (DataLoader cases with workers come back "not counted": their work runs
in other processes), and each count is saved with its case's record (its setup included:
torch, Python, CPU, ATen kernel path, valgrind, threads), for ``--benchmark-compare`` to
judge. Without valgrind the item is SKIPPED with the install line, and the timings are
saved as usual.

What counts cannot see (results/instructions.py): a change that runs the same
instructions slower (memory bandwidth, cache misses, threading) leaves the count alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from blitzbench.results.instructions import CountsRecord, InstructionCount
    from blitzbench.workloads.catalog import Case

__all__ = ["COUNT_ITEM", "COUNT_OPTION", "CountItem", "add_options", "append_item",
           "counted", "counts_record"]

COUNT_OPTION = "--count-instructions"
COUNT_ITEM = "count-instructions"
_COUNTS = pytest.StashKey["CountsRecord"]()


def add_options(group: Any) -> None:
    group.addoption(COUNT_OPTION, action="store_true",
                    help="after the timings, count the instructions of every collected CPU "
                         "case under callgrind (one valgrind process: minutes); saved "
                         "with the run and judged by --benchmark-compare (2%% threshold)")


def append_item(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Add the counting item after the collected tests (with --count-instructions)."""
    if session.config.getoption(COUNT_OPTION):
        items.append(CountItem.from_parent(session, name=COUNT_ITEM,
                                           nodeid=f"blitzbench::{COUNT_ITEM}"))


def counts_record(config: pytest.Config) -> CountsRecord | None:
    """The session's counts (None before the item ran or without the option)."""
    return config.stash.get(_COUNTS, None)


def counted(config: pytest.Config) -> dict[tuple[str, str], InstructionCount]:
    """(case prefix, device) -> its count, for the saved records."""
    record = counts_record(config)
    return record.by_key() if record is not None else {}


class CountItem(pytest.Item):
    """Counts the CPU cases of the session's benchmark tests in one valgrind process."""

    def runtest(self) -> None:
        from blitzbench.benchmark_plugin import LEVEL_OPTION
        from blitzbench.runner.counting import count_cases
        from blitzbench.timing.instructions import valgrind_unavailable
        from blitzbench.workloads.cifar import resolve_data_source

        cases = collected_cases(self.session)
        if not cases:
            pytest.skip("no CPU catalog case collected to count")
        missing = valgrind_unavailable()
        if missing is not None:
            pytest.skip(missing)
        data = resolve_data_source(self.config.getoption("--data-root"))
        record = count_cases(cases, self.config.getoption(LEVEL_OPTION), data)
        self.config.stash[_COUNTS] = record
        if record.skipped:
            pytest.skip(record.skipped)
        self.user_properties.append(("counted", sum(c.ok for c in record.counts)))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.config.rootpath, None, f"blitzbench: {COUNT_OPTION}"


def collected_cases(session: pytest.Session) -> list[Case]:
    """The CPU catalog cases of the session's tests (their ``case`` parameter), once each,
    in the order collected."""
    found: dict[str, Case] = {}
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if case is not None and getattr(case, "device", None) == "cpu":
            found.setdefault(case.id, case)
    return list(found.values())

"""``pytest benchmarks --benchmark-compare``: every compared case judged as ``blitzbench
compare`` judges, and ``--blitz-compare-fail=PCT``, a gate that fails only on SLOWER.

pytest-benchmark's own ``--benchmark-compare-fail=median:25%`` compares two numbers. On
this project's shared 2-core VM that fired on an unchanged tree (all_gather at 64 KiB
+111%, broadcast +28%, ...: runs minutes apart drift by more than that) and ended in a
``PerformanceRegression`` traceback. Here, with ``--benchmark-compare`` given:

- the saved run pytest-benchmark compares against is read through its session (its
  ``compared_mapping``: the newest saved run, or the one ``--benchmark-compare=NUM``
  names); each entry's blitzbench record (benchmark_plugin.py saves it:
  results/sittings.py) is checked when the session starts, so a malformed run is one
  ``ERROR:`` line before anything is timed;
- after the tests, every case present in both runs is judged by results/sittings.py
  (FASTER, SLOWER, SAME, NOISY, with the ratio and its interval; instruction counts where
  both runs have them on the same setup), and the table is printed after
  pytest-benchmark's own;
- ``--blitz-compare-fail=PCT`` appends one test item, ``blitzbench::compare-gate``, after
  every collected test: it fails, with pytest's normal failure summary and exit code 1,
  naming each SLOWER case; NOISY cases are listed as not judged, never as regressions; it
  is SKIPPED when no case could be judged (never a pass);
- pytest-benchmark's ``PerformanceRegression`` becomes a failed session (its message
  under "FAILED", exit code 1) instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from blitzbench.results.sittings import CaseVerdict, SavedCase, SittingsJudgement

__all__ = ["COMPARE_FAIL_OPTION", "GATE_ITEM", "JSON_KEY", "TABLE_WIDTH", "GateItem",
           "add_options", "append_item", "compared_records", "judgement", "table_lines"]

COMPARE_FAIL_OPTION = "--blitz-compare-fail"
GATE_ITEM = "compare-gate"
JSON_KEY = "blitzbench_compare"  # the verdicts in a compare run's saved JSON
#: The table reads whole in an 80-column terminal.
TABLE_WIDTH = 80
COUNT_THRESHOLD_TEXT = "2%"  # results/instructions.py's COUNT_THRESHOLD, as printed
_COMPARED = pytest.StashKey[dict]()  # test id -> SavedCase (None: saved without one)
_SOURCE = pytest.StashKey[str]()  # the compared run's file, as the table names it
_JUDGEMENT = pytest.StashKey["SittingsJudgement"]()
_SESSION = pytest.StashKey[pytest.Session]()


def add_options(group: Any) -> None:
    group.addoption(COMPARE_FAIL_OPTION, type=_percent, default=None, metavar="PCT",
                    help="with --benchmark-compare: fail the session when a case is SLOWER "
                         "by PCT percent or more, judged with its interval (NOISY cases "
                         "are listed as not judged, never failed); e.g. 25")


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1000:
        raise pytest.UsageError(f"{COMPARE_FAIL_OPTION}={text}: give the smallest slowdown "
                                f"that fails, in percent, above 0 (e.g. 25)")
    return value


def append_item(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Add the gate after every collected test (with --blitz-compare-fail)."""
    if session.config.getoption(COMPARE_FAIL_OPTION) is not None:
        items.append(GateItem.from_parent(session, name=GATE_ITEM,
                                          nodeid=f"blitzbench::{GATE_ITEM}"))


# --- the compared run ---------------------------------------------------------------------

def pytest_sessionstart(session: pytest.Session) -> None:
    """Check the options and read the compared run, before anything is timed."""
    config = session.config
    config.stash[_SESSION] = session
    failing = config.getoption(COMPARE_FAIL_OPTION) is not None
    if not _comparing(config):
        if failing:
            raise pytest.UsageError(f"{COMPARE_FAIL_OPTION} needs --benchmark-compare: "
                                    f"add it (it compares with the newest saved run)")
        return
    if failing and config.getoption("benchmark_disable"):
        raise pytest.UsageError(f"{COMPARE_FAIL_OPTION} judges timings, and "
                                f"--benchmark-disable takes none: drop one of them")
    from blitzbench.errors import BlitzError

    try:
        source, records = compared_records(config)
    except BlitzError as exc:
        raise pytest.UsageError(str(exc)) from None
    if failing and not records:
        raise pytest.UsageError(_nothing_to_compare(config))
    config.stash[_SOURCE], config.stash[_COMPARED] = source, records


def _comparing(config: pytest.Config) -> bool:
    try:
        return bool(config.getoption("benchmark_compare"))
    except ValueError:  # pytest-benchmark not active
        return False


def compared_records(config: pytest.Config) -> tuple[str, dict[str, SavedCase | None]]:
    """The run pytest-benchmark compares against (its newest, when a glob matched
    several) and its blitzbench records by test id (None for an entry saved without one:
    an older run). A malformed record raises a UsageError naming the file and field."""
    from blitzbench.benchmark_plugin import benchmark_session
    from blitzbench.results.sittings import SAVED_KEY, SavedCase

    session = benchmark_session(config)
    mapping = getattr(session, "compared_mapping", None) or {}
    if not mapping:
        return "", {}
    path, benches = list(mapping.items())[-1]
    source = _shown(Path(str(session.storage)) / path)
    records: dict[str, SavedCase | None] = {}
    for index, (name, bench) in enumerate(benches.items()):
        saved = bench.get(SAVED_KEY) if isinstance(bench, Mapping) else None
        records[name] = None if saved is None else SavedCase.from_json(
            saved, f"{source}: benchmarks[{index}].{SAVED_KEY}")
    return source, records


def _shown(path: Path) -> str:
    """The path relative to the working directory when it lies under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _nothing_to_compare(config: pytest.Config) -> str:
    """Why there is no saved run to judge against, naming the storage and the fix."""
    from blitzbench.benchmark_plugin import benchmark_session

    session = benchmark_session(config)
    storage = str(getattr(session, "storage", "")) or "the benchmark storage"
    broken = _unreadable_file(session)
    if broken:
        return broken
    return (f"{COMPARE_FAIL_OPTION}: no saved run to compare with in {storage}: save one "
            f"first with `pytest benchmarks --benchmark-autosave`")


def _unreadable_file(session: Any) -> str:
    """The newest saved run's file and why JSON cannot read it ("" when it reads: then
    pytest-benchmark skipped it for its own reason, which its warning names)."""
    storage = getattr(session, "storage", None)
    query = getattr(storage, "query", None)
    files = sorted(query("[0-9][0-9][0-9][0-9]_")) if query is not None else []
    if not files:
        return ""
    try:
        json.loads(Path(files[-1]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return (f"{files[-1]}: not a saved pytest-benchmark run ({exc}): delete it or "
                f"name another with --benchmark-compare=NUM")
    return ""


# --- judging -------------------------------------------------------------------------------

def judgement(config: pytest.Config) -> SittingsJudgement | None:
    """Every case of this session present in the compared run, judged (once per session;
    None without --benchmark-compare or a compared run)."""
    if _JUDGEMENT in config.stash:
        return config.stash[_JUDGEMENT]
    compared = config.stash.get(_COMPARED, None)
    if not compared:
        return None
    from blitzbench.benchmark_plugin import session_records
    from blitzbench.results.compare import DEFAULT_THRESHOLD
    from blitzbench.results.sittings import judge_sittings

    percent = config.getoption(COMPARE_FAIL_OPTION)
    threshold = DEFAULT_THRESHOLD if percent is None else percent / 100
    current = session_records(config)
    pairs = [(name, compared[name] or _unrecorded(current[name]), current[name])
             for name in current if name in compared]
    found = judge_sittings(pairs, threshold)
    config.stash[_JUDGEMENT] = found
    return found


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    """A compare run's saved JSON (``--benchmark-json``, ``--benchmark-autosave``) also
    carries the verdicts, under "blitzbench_compare"."""
    found = judgement(config)
    if found is not None:
        output_json[JSON_KEY] = found.to_json()


def _unrecorded(saved: SavedCase) -> SavedCase:
    """The stand-in for a compared entry saved without blitzbench's record: not measured,
    saying why (so the case is listed, never judged)."""
    return dataclasses.replace(saved, count=None, measurement=dataclasses.replace(
        saved.measurement, times_s=(), blocks=(), machine=(), extra={},
        error="saved without blitzbench's record (an older run, or pytest-benchmark "
              "alone): save it again with --benchmark-autosave"))


class GateItem(pytest.Item):
    """Fails the session when a compared case is SLOWER (``--blitz-compare-fail``)."""

    def runtest(self) -> None:
        found = judgement(self.config)
        if found is None or not found.rows:
            pytest.skip("not judged: no case of this session is in the compared run")
        slower = found.slower()
        if slower:
            pytest.fail(_slower_message(found, slower), pytrace=False)
        if not found.judged():
            pytest.skip(f"not judged: all {len(found.rows)} compared cases NOISY "
                        f"(the blitzbench compare table says why)")

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.config.rootpath, None, f"blitzbench: {COMPARE_FAIL_OPTION}"


def _slower_message(found: SittingsJudgement, slower: list[CaseVerdict]) -> str:
    lines = [f"{len(slower)} case{'s' if len(slower) > 1 else ''} SLOWER by "
             f"{found.threshold:.0%} or more: " + ", ".join(row.name for row in slower)]
    lines += [f"  {row.name}: {row.evidence()}" for row in slower]
    noisy = found.noisy()
    if noisy:
        lines.append(f"  not judged (NOISY): {len(noisy)} cases, listed in the table")
    return "\n".join(lines)


# --- reporting -----------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Any:
    """After pytest-benchmark's table: blitzbench's; and pytest-benchmark's
    ``PerformanceRegression`` (``--benchmark-compare-fail``) turned into a failed session
    with its message instead of a traceback."""
    from pytest_benchmark.session import PerformanceRegression

    regressed = False
    try:
        result = yield
    except PerformanceRegression:
        regressed, result = True, None
    found = judgement(config)
    if found is not None and found.rows:
        terminalreporter.section("blitzbench compare", sep="-")
        for line in table_lines(found, config.stash.get(_SOURCE, "")):
            terminalreporter.write_line(line)
    if regressed:
        _fail_session(terminalreporter, config)
    return result


def _fail_session(terminalreporter: Any, config: pytest.Config) -> None:
    """pytest-benchmark printed its regressions; count them as one failure in pytest's
    summary and exit 1."""
    from blitzbench.benchmark_plugin import benchmark_session

    regressions = getattr(benchmark_session(config), "performance_regressions", [])
    message = "Performance has regressed: " + "; ".join(
        f"{name} - {why}" for name, why in regressions)
    report = pytest.TestReport(nodeid="pytest-benchmark::--benchmark-compare-fail",
                               location=(str(config.rootpath), None,
                                         "--benchmark-compare-fail"),
                               keywords={}, outcome="failed", longrepr=message, when="call")
    terminalreporter.stats.setdefault("failed", []).append(report)
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _folded(name: str, width: int, indent: str) -> list[str]:
    """A case name on lines of ``width``, broken after its commas where it must be
    (``collectives.all_gather[dtype=float32,...,world_size=2]`` is 87 characters)."""
    lines = [indent]
    for part in name.replace(",", ",\0").split("\0"):
        if len(lines[-1]) + len(part) > width and lines[-1].strip():
            lines.append(indent + "  ")
        lines[-1] += part
    return lines


def table_lines(found: SittingsJudgement, source: str, width: int = TABLE_WIDTH) -> list[str]:
    """The verdict table, verdict first, SLOWER cases first: one line a case (its name on
    the next line when it does not fit), then why the timings not judged were not."""
    from blitzbench.results.compare import Verdict

    def wrapped(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent,
                             break_on_hyphens=False)

    lines = [*wrapped(f"B = this run against A = {source or 'the compared run'}"),
             *wrapped(found.summary()), *wrapped(found.drift_note()),
             f"{'verdict':<8}{'B/A':>7}  {'interval':<14}case"]
    order = {Verdict.SLOWER: 0, Verdict.FASTER: 1, Verdict.SAME: 2, Verdict.NOISY: 3}
    for row in sorted(found.rows, key=lambda row: order[row.verdict]):
        head = f"{row.label:<8}{row.ratio_text():>7}  {row.interval_text():<14}"
        if len(head) + len(row.name) <= width:
            lines.append(head + row.name)
        else:
            lines += [head.rstrip(), *_folded(row.name, width, "  ")]
    if any(row.by_counts for row in found.rows):
        lines += wrapped(f"* judged on instruction counts (both runs counted on the same "
                         f"setup; threshold at least {COUNT_THRESHOLD_TEXT}): counts cannot "
                         f"see memory-bandwidth, cache or threading changes")
    reasons = found.reasons()
    if reasons:
        lines.append("not judged (NOISY, never a regression):")
        for reason in reasons:
            lines += wrapped(reason, "  ")
    return lines

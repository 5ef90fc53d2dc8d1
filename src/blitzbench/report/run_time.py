"""Where a run's time went: per step, per benchmark family and device, and the slowest cases.

A level is sized by what its cases cost the run (build, warm-up, calibration, timed rounds,
a re-measure), not by the timed rounds alone: a DataLoader case at batch 4 spends seconds
per call, a 5x3 add microseconds. Showing the split lets whoever plans a run on a leased
machine see which family to trim, and shows whether ``full`` kept its time promise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_duration_s, fmt_params
from blitzbench.results.records import AcceptanceRecord, Measurement, RunResults

__all__ = ["SLOWEST_SHOWN", "FamilyTime", "family_times", "run_time_blocks",
           "slowest_cases", "timed_records"]

SLOWEST_SHOWN = 5


@dataclass(frozen=True)
class FamilyTime:
    """What one benchmark family cost the run on one device."""

    family: str
    device: str
    cases: int
    wall_s: float


def run_time_blocks(results: RunResults) -> list[Block]:
    """The section; without per-case wall times (runs before they were kept) it says so,
    with the run's own wall time where recorded, rather than vanishing."""
    records = timed_records(results)
    if not records:
        return _untimed_blocks(results) if results.benchmarks else []
    families = family_times(records)
    total = sum(f.wall_s for f in families)
    family_rows = tuple((Cell(f.family, code=True), Cell(f.device), Cell(str(f.cases)),
                         Cell(fmt_duration_s(f.wall_s)), Cell(_share(f.wall_s, total)))
                        for f in families)
    slow_rows = tuple((Cell(r.benchmark, code=True), Cell(r.site), Cell(fmt_params(r.params)),
                       Cell(fmt_duration_s(r.wall_s)), Cell(str(r.rounds)))
                      for r in slowest_cases(records))
    return [Heading(2, "Where the time went", "run-time"),
            Paragraph(_steps_text(results.acceptance, total, len(records))),
            Table(("family", "device", "cases", "wall", "share"), family_rows,
                  frozenset({2, 3, 4})),
            Table(("slowest case", "device", "params", "wall", "rounds"), slow_rows,
                  frozenset({3, 4}))]


def _untimed_blocks(results: RunResults) -> list[Block]:
    acceptance = results.acceptance
    whole = ""
    if acceptance is not None and acceptance.wall_s is not None:
        whole = f" The run took {fmt_duration_s(acceptance.wall_s)} ({_steps(acceptance)})."
    return [Heading(2, "Where the time went", "run-time"),
            Paragraph("This run's results.json keeps no wall time per benchmark case (it was "
                      "written before blitzbench recorded `wall_s`), so the split by family "
                      f"and the slowest cases cannot be shown.{whole}", "muted")]


def timed_records(results: RunResults) -> list[Measurement]:
    """The benchmark records that carry a wall time (runs before it was kept carry none)."""
    return [r for r in results.benchmarks if r.wall_s is not None]


def family_times(records: Sequence[Measurement]) -> list[FamilyTime]:
    """Wall seconds per (family, device), most expensive first."""
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        key = (record.family, record.site)
        seconds[key] += record.wall_s or 0.0
        counts[key] += 1
    found = [FamilyTime(family, device, counts[(family, device)], total)
             for (family, device), total in seconds.items()]
    return sorted(found, key=lambda f: f.wall_s, reverse=True)


def slowest_cases(records: Sequence[Measurement],
                  count: int = SLOWEST_SHOWN) -> list[Measurement]:
    return sorted(records, key=lambda r: r.wall_s or 0.0, reverse=True)[:count]


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole > 0 else MISSING


def _steps_text(acceptance: AcceptanceRecord | None, benchmarks_s: float, cases: int) -> str:
    """One sentence: the whole run and its steps when recorded, else the benchmarks."""
    cases_text = f"{cases} benchmark cases took {fmt_duration_s(benchmarks_s)} in all"
    if acceptance is None or acceptance.wall_s is None or not acceptance.step_s:
        return cases_text + "."
    return (f"The run took {fmt_duration_s(acceptance.wall_s)} ({_steps(acceptance)}); "
            f"{cases_text}.")


def _steps(acceptance: AcceptanceRecord) -> str:
    """Every step the run recorded, in its order, as the terminal's ``time:`` line says
    them (pre-flight, claims, tutorial, benchmarks, instruction counts, profile)."""
    return ", ".join(f"{name} {fmt_duration_s(seconds)}"
                     for name, seconds in acceptance.step_s.items())

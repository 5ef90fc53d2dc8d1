"""Where a run's time went: per step, per benchmark family and device, and the slowest cases.

A level is sized by what its cases cost the run (build, warm-up, calibration, timed rounds,
a re-measure), not by the timed rounds alone: a DataLoader case at batch 4 spends seconds
per call, a 5x3 add microseconds. Showing the split lets whoever plans a run on a leased
machine see which family to trim, and shows whether ``full`` kept its time promise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_duration_s, fmt_params, is_number

__all__ = ["SLOWEST_SHOWN", "FamilyTime", "family_times", "run_time_blocks",
           "slowest_cases", "timed_records"]

SLOWEST_SHOWN = 5
STEP_ORDER = ("claims", "benchmarks", "profile")


@dataclass(frozen=True)
class FamilyTime:
    """What one benchmark family cost the run on one device."""

    family: str
    device: str
    cases: int
    wall_s: float


def run_time_blocks(results: Mapping[str, Any]) -> list[Block]:
    """The section, or nothing when the run recorded no per-case wall times."""
    records = timed_records(results)
    if not records:
        return []
    families = family_times(records)
    total = sum(f.wall_s for f in families)
    family_rows = tuple((Cell(f.family, code=True), Cell(f.device), Cell(str(f.cases)),
                         Cell(fmt_duration_s(f.wall_s)), Cell(_share(f.wall_s, total)))
                        for f in families)
    slow_rows = tuple((Cell(str(r.get("benchmark")), code=True), Cell(str(r.get("device"))),
                       Cell(fmt_params(r.get("params") or {})), Cell(fmt_duration_s(r["wall_s"])),
                       Cell(str(r.get("rounds", "?"))))
                      for r in slowest_cases(records))
    return [Heading(2, "Where the time went", "run-time"),
            Paragraph(_steps_text(results.get("acceptance"), total, len(records))),
            Table(("family", "device", "cases", "wall", "share"), family_rows,
                  frozenset({2, 3, 4})),
            Table(("slowest case", "device", "params", "wall", "rounds"), slow_rows,
                  frozenset({3, 4}))]


def timed_records(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The benchmark records that carry a wall time (runs before it was kept carry none)."""
    return [r for r in results.get("benchmarks") or []
            if isinstance(r, Mapping) and is_number(r.get("wall_s"))]


def family_times(records: Sequence[Mapping[str, Any]]) -> list[FamilyTime]:
    """Wall seconds per (family, device), most expensive first."""
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        key = (str(record.get("benchmark", "?")).split(".", 1)[0], str(record.get("device")))
        seconds[key] += record["wall_s"]
        counts[key] += 1
    found = [FamilyTime(family, device, counts[(family, device)], total)
             for (family, device), total in seconds.items()]
    return sorted(found, key=lambda f: f.wall_s, reverse=True)


def slowest_cases(records: Sequence[Mapping[str, Any]],
                  count: int = SLOWEST_SHOWN) -> list[Mapping[str, Any]]:
    return sorted(records, key=lambda r: r["wall_s"], reverse=True)[:count]


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole > 0 else MISSING


def _steps_text(acceptance: Any, benchmarks_s: float, cases: int) -> str:
    """One sentence: the whole run and its steps when recorded, else the benchmarks."""
    steps = acceptance.get("step_s") if isinstance(acceptance, Mapping) else None
    cases_text = f"{cases} benchmark cases took {fmt_duration_s(benchmarks_s)} in all"
    if not isinstance(steps, Mapping) or not is_number(acceptance.get("wall_s")):
        return cases_text + "."
    parts = [f"{name} {fmt_duration_s(steps[name])}" for name in STEP_ORDER
             if is_number(steps.get(name))]
    return (f"The run took {fmt_duration_s(acceptance['wall_s'])} ({', '.join(parts)}); "
            f"{cases_text}.")

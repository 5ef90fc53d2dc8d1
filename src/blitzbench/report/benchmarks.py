"""Benchmark records as the report reads them, and their tables.

results.json stores each :class:`~blitzbench.timing.measurement.Measurement` with its
median, IQR and round count already computed; a record that also carries its raw
``times_s`` is rebuilt through the Measurement so the statistics are recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import (
    MISSING,
    fmt_duration_s,
    fmt_params,
    fmt_value,
    is_number,
)
from blitzbench.timing.measurement import NOISY_IQR_FRACTION, Measurement

__all__ = ["BENCHMARK_HEADER", "BenchmarkRow", "benchmark_blocks", "rows_from_results"]

BENCHMARK_HEADER = ("device", "params", "median", "IQR", "rounds", "noisy", "extra")


@dataclass(frozen=True)
class BenchmarkRow:
    """One measured case with its statistics, as stored in results.json."""

    benchmark: str
    device: str
    params: Mapping[str, Any] = field(default_factory=dict)
    median_s: float | None = None
    iqr_s: float | None = None
    rounds: int = 0
    noisy: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_measurement(cls, m: Measurement) -> BenchmarkRow:
        median = m.median_s if m.rounds else None
        return cls(m.benchmark, m.device, dict(m.params), median,
                   m.iqr_s if m.rounds else None, m.rounds, m.noisy, dict(m.extra), m.error)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchmarkRow:
        times = data.get("times_s")
        if isinstance(times, list) and all(is_number(t) for t in times):
            return cls.from_measurement(Measurement.from_json(data, times))
        median, spread = data.get("median_s"), data.get("iqr_s")
        return cls(str(data.get("benchmark", "?")), str(data.get("device", "?")),
                   _mapping(data.get("params")), median if is_number(median) else None,
                   spread if is_number(spread) else None, _int(data.get("rounds")),
                   bool(data.get("noisy", False)), _mapping(data.get("extra")),
                   data.get("error") if data.get("error") else None)

    def figure(self, name: str) -> float | None:
        """A numeric ``extra`` figure (``images_per_s``, ``fraction_of_peak``) or None."""
        value = self.extra.get(name)
        return float(value) if is_number(value) else None

    @property
    def ok(self) -> bool:
        return self.error is None


def rows_from_results(results: Mapping[str, Any]) -> list[BenchmarkRow]:
    records = results.get("benchmarks") or []
    return [BenchmarkRow.from_json(r) for r in records if isinstance(r, Mapping)]


def benchmark_blocks(rows: Sequence[BenchmarkRow]) -> list[Block]:
    """One table per benchmark, rows in recorded order."""
    if not rows:
        return []
    blocks: list[Block] = [
        Heading(2, "Benchmarks", "benchmarks"),
        Paragraph(f"Median and inter-quartile range (IQR) over the rounds; a figure is "
                  f"flagged noisy when IQR/median is above {NOISY_IQR_FRACTION:.0%}."),
    ]
    for name, group in _grouped(rows).items():
        blocks.append(Heading(3, name))
        blocks.append(Table(BENCHMARK_HEADER, tuple(_row_cells(r) for r in group),
                            frozenset({2, 3, 4})))
    return blocks


def _row_cells(row: BenchmarkRow) -> tuple[Cell, ...]:
    extra = "; ".join(f"{k}={fmt_value(v)}" for k, v in row.extra.items()) or MISSING
    if row.error:
        return (Cell(row.device, code=True), Cell(fmt_params(row.params)),
                Cell("error", "bad"), Cell(MISSING), Cell(str(row.rounds)), Cell(MISSING),
                Cell(row.error, "bad"))
    return (Cell(row.device, code=True), Cell(fmt_params(row.params)),
            Cell(fmt_duration_s(row.median_s)), Cell(fmt_duration_s(row.iqr_s)),
            Cell(str(row.rounds)), Cell("noisy", "warn") if row.noisy else Cell("no", "muted"),
            Cell(extra))


def _grouped(rows: Iterable[BenchmarkRow]) -> dict[str, list[BenchmarkRow]]:
    groups: dict[str, list[BenchmarkRow]] = {}
    for row in rows:
        groups.setdefault(row.benchmark, []).append(row)
    return groups


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if is_number(value) and not math.isnan(value) else 0

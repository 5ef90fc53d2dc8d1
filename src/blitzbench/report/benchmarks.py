"""Benchmark records as report tables: one table per benchmark, median, IQR, rounds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_duration_s, fmt_params, fmt_value
from blitzbench.results.records import Measurement
from blitzbench.results.stats import NOISY_IQR_FRACTION

__all__ = ["BENCHMARK_HEADER", "benchmark_blocks"]

BENCHMARK_HEADER = ("device", "params", "median", "IQR", "rounds", "noisy", "extra")


def benchmark_blocks(rows: Sequence[Measurement]) -> list[Block]:
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


def _row_cells(row: Measurement) -> tuple[Cell, ...]:
    extra = "; ".join(f"{k}={fmt_value(v)}" for k, v in row.extra.items()) or MISSING
    if not row.ok:
        return (Cell(row.site, code=True), Cell(fmt_params(row.params)),
                Cell("error", "bad"), Cell(MISSING), Cell(str(row.rounds)), Cell(MISSING),
                Cell(row.error or "no timed rounds", "bad"))
    return (Cell(row.site, code=True), Cell(fmt_params(row.params)),
            Cell(fmt_duration_s(row.median_s)), Cell(fmt_duration_s(row.iqr_s)),
            Cell(str(row.rounds)), Cell("noisy", "warn") if row.noisy else Cell("no", "muted"),
            Cell(extra))


def _grouped(rows: Iterable[Measurement]) -> dict[str, list[Measurement]]:
    groups: dict[str, list[Measurement]] = {}
    for row in rows:
        groups.setdefault(row.benchmark, []).append(row)
    return groups

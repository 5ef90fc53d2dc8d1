"""Benchmark records as report tables: one table per benchmark, median, IQR, rounds, and
each rate a record carries in a column of its own with its unit.

A rate (images/s, GB/s, TFLOP/s, fraction of peak) is what a reader compares, so it gets a
named column rather than a ``key=value`` string; the peak's datasheet citation is the same
for every row of a device, so it is said once under the table, not on every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import (
    MISSING,
    fmt_duration_s,
    fmt_fraction,
    fmt_number,
    fmt_params,
    fmt_value,
)
from blitzbench.results.names import (
    FIRST_BATCH_FIELD,
    GB_FIELD,
    PEAK_FIELD,
    PEAK_FRACTION_FIELD,
    RATE_FIELD,
    TFLOP_FIELD,
)
from blitzbench.results.records import Measurement
from blitzbench.results.stats import NOISY_IQR_FRACTION

__all__ = ["BENCHMARK_HEADER", "RATE_COLUMNS", "benchmark_blocks"]

BENCHMARK_HEADER = ("device", "params", "median", "IQR", "rounds", "noisy")
#: extra field -> column title (with its unit); shown when some row of the table has it.
RATE_COLUMNS = {RATE_FIELD: "images/s", GB_FIELD: "GB/s", TFLOP_FIELD: "TFLOP/s",
                PEAK_FRACTION_FIELD: "of peak", FIRST_BATCH_FIELD: "first batch"}
#: fields that say how the case was run, not what it measured (kept in results.json).
HIDDEN_FIELDS = frozenset({"calls_per_round", "seed", "torch_threads", "peak_gb_per_s",
                           "peak_tflop_per_s", PEAK_FIELD})


def benchmark_blocks(rows: Sequence[Measurement]) -> list[Block]:
    """One table per benchmark, rows in recorded order."""
    if not rows:
        return []
    blocks: list[Block] = [
        Heading(2, "Benchmarks", "benchmarks"),
        Paragraph(f"Median and inter-quartile range (IQR) over the rounds; a figure is "
                  f"flagged noisy when IQR/median is above {NOISY_IQR_FRACTION:.0%}."),
    ]
    peaks = _peaks(rows)
    blocks += [Paragraph(peaks, "muted")] if peaks else []
    for name, group in _grouped(rows).items():
        blocks.append(Heading(3, name))
        blocks.append(_table(group))
    return blocks


def _table(group: Sequence[Measurement]) -> Table:
    rates = [f for f in RATE_COLUMNS if any(f in r.extra for r in group)]
    other = any(_other(r) or not r.ok for r in group)
    header = (*BENCHMARK_HEADER, *(RATE_COLUMNS[f] for f in rates),
              *(("other",) if other else ()))
    first = len(BENCHMARK_HEADER)
    numeric = frozenset({2, 3, 4, *range(first, first + len(rates))})
    rows = tuple(_row_cells(r, rates, other) for r in group)
    return Table(header, rows, numeric)


def _row_cells(row: Measurement, rates: Sequence[str], other: bool) -> tuple[Cell, ...]:
    head = (Cell(row.site, code=True), Cell(fmt_params(row.params)))
    tail = (Cell(_other(row) or MISSING),) if other else ()
    if not row.ok:
        return (*head, Cell("error", "bad"), Cell(MISSING), Cell(str(row.rounds)),
                Cell(MISSING), *(Cell(MISSING) for _ in rates),
                *((Cell(row.error or "no timed rounds", "bad"),) if other else ()))
    return (*head, Cell(fmt_duration_s(row.median_s)), Cell(fmt_duration_s(row.iqr_s)),
            Cell(str(row.rounds)), Cell("noisy", "warn") if row.noisy else Cell("no", "muted"),
            *(Cell(_rate(field, row.extra.get(field))) for field in rates), *tail)


def _rate(field: str, value: object) -> str:
    if field == PEAK_FRACTION_FIELD:
        return fmt_fraction(value)
    if field == FIRST_BATCH_FIELD:
        return fmt_duration_s(value)
    return fmt_number(value)


def _other(row: Measurement) -> str:
    return "; ".join(f"{k}={fmt_value(v)}" for k, v in row.extra.items()
                     if k not in RATE_COLUMNS and k not in HIDDEN_FIELDS)


def _peaks(rows: Sequence[Measurement]) -> str:
    """Each device's peak and its source, once, for the rows an "of peak" column divides
    by it (a peak no column uses, "cpu: unknown device", is not worth a line)."""
    peaks = dict.fromkeys(f"{r.site}: {r.extra[PEAK_FIELD]}" for r in rows
                          if r.extra.get(PEAK_FIELD)
                          and r.figure(PEAK_FRACTION_FIELD) is not None)
    return "Peaks (the \"of peak\" columns): " + "; ".join(peaks) + "." if peaks else ""


def _grouped(rows: Iterable[Measurement]) -> dict[str, list[Measurement]]:
    groups: dict[str, list[Measurement]] = {}
    for row in rows:
        groups.setdefault(row.benchmark, []).append(row)
    return groups

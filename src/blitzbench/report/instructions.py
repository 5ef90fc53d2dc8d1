"""A run's instruction counts (``--count-instructions``), as a report section: each CPU
case's instructions per call under callgrind with its repetitions' spread and setup, or
why none were counted."""

from __future__ import annotations

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING
from blitzbench.results.instructions import CountsRecord

__all__ = ["count_summary", "instruction_blocks"]

HEADER = ("case", "instructions per call", "repetitions", "spread", "calls a round")


def count_summary(record: CountsRecord | None) -> str:
    """One line for the terminal: what was counted and what it cost, or why nothing."""
    if record is None:
        return ""
    if record.skipped:
        return f"instructions: not counted: {record.skipped}"
    counted = [c for c in record.counts if c.ok]
    cost = f" in {record.wall_s:.0f} s" if record.wall_s is not None else ""
    failed = len(record.counts) - len(counted)
    return (f"instructions: {len(counted)} CPU cases counted under callgrind{cost}"
            + (f", {failed} not counted" if failed else "") + " (report: Instruction counts)")


def instruction_blocks(record: CountsRecord | None) -> list[Block]:
    if record is None:
        return []
    blocks: list[Block] = [Heading(2, "Instruction counts", "instructions")]
    if record.skipped:
        return [*blocks, Paragraph(f"Not counted: {record.skipped}.", "warn")]
    setup = next((c.setup for c in record.counts if c.setup is not None), None)
    if setup is not None:
        blocks.append(Paragraph(
            f"Counted under valgrind {setup.valgrind_version}, torch {setup.torch_version}, "
            f"{setup.cpu_model} (ATen {setup.aten_cpu_capability} under valgrind), "
            f"{setup.torch_threads} thread; comparable only with counts of the same setup. "
            f"Counts cannot see memory-bandwidth, cache or threading changes."))
    rows = tuple(_cells(count) for count in record.counts)
    return [*blocks, Table(HEADER, rows, frozenset({1, 2, 3, 4}))]


def _cells(count) -> tuple[Cell, ...]:
    if not count.ok:
        return (Cell(count.prefix, code=True), Cell(MISSING), Cell("0"),
                Cell(count.error or "not counted", "warn"), Cell(MISSING))
    per_call = count.per_call
    spread = (max(per_call) - min(per_call)) / count.instructions_per_call
    return (Cell(count.prefix, code=True), Cell(f"{count.instructions_per_call:,.0f}"),
            Cell(str(len(per_call))), Cell(f"{spread:.2%}"), Cell(f"{count.calls:,}"))

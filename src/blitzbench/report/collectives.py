"""Collective records as nccl-tests prints them: one line per size, out-of-place and
in-place side by side, with its columns (size, count, type, redop, root, then time,
algbw, busbw and #wrong for each placement).

:func:`collectives_table` gives the rows as plain data (for the HTML renderer or JSON),
:func:`collectives_blocks` as report blocks, :func:`collectives_markdown` as a Markdown
page. Rows come from ``collectives.<op>`` records only; other records are ignored.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from blitzbench.report.document import Block, Cell, Document, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_number
from blitzbench.report.markdown import render_markdown
from blitzbench.results.names import (
    ALGBW_FIELD,
    BACKEND_FIELD,
    BUSBW_FIELD,
    BYTES_FIELD,
    COLLECTIVE_OPS,
    COLLECTIVES,
    COUNT_FIELD,
    INPLACE_PARAM,
    REDOP_PARAM,
    ROOT_FIELD,
    SIZE_PARAM,
    TYPE_FIELD,
    WORLD_SIZE_PARAM,
    WRONG_FIELD,
)
from blitzbench.results.records import Measurement

__all__ = ["COLLECTIVES_HEADER", "collectives_blocks", "collectives_markdown",
           "collectives_table"]

PLACEMENT_COLUMNS = ("time (us)", "algbw (GB/s)", "busbw (GB/s)", "#wrong")
#: nccl-tests' header (src/util.cu, writeResultHeader), placement named in each column.
COLLECTIVES_HEADER = ("size (B)", "count (elements)", "type", "redop", "root",
                      *(f"out-of-place {c}" for c in PLACEMENT_COLUMNS),
                      *(f"in-place {c}" for c in PLACEMENT_COLUMNS))
NUMERIC_COLUMNS = frozenset({0, 1, 4, *range(5, len(COLLECTIVES_HEADER))})
US_PER_S = 1e6
NOT_OFFERED = "n/a"
CAPTION = ("time: median over the timed iterations of the slowest rank's time per "
           "iteration (nccl-tests prints the mean); algbw and busbw from that median, in "
           "1e9 B/s; #wrong summed over ranks. size and count as nccl-tests counts them.")
NOT_OFFERED_NOTE = ("{placement} {na}: torch.distributed has no supported {placement} form "
                    "of this collective (distributed/collectives.py says why).")
PLACEMENTS = {"out_of_place": "out-of-place", "in_place": "in-place"}

#: (op, device, world size, backend), the key of one nccl-tests table.
TableKey = tuple[str, str, int, str]


def _op(record: Measurement) -> str:
    return record.benchmark.split(".", 1)[1]


def _key(record: Measurement) -> TableKey:
    return (_op(record), record.device, int(record.params.get(WORLD_SIZE_PARAM, 0)),
            str(record.extra.get(BACKEND_FIELD, "")))


def _placement(record: Measurement | None) -> dict[str, Any] | None:
    """One side of a line: median and mean time in µs (nccl-tests prints the mean; the
    median is blitzbench's figure), bandwidths, #wrong (None: not measured)."""
    if record is None:
        return None
    if not record.ok:
        return {"error": record.error or "no timed iterations",
                WRONG_FIELD: record.extra.get(WRONG_FIELD)}
    return {"time_us": record.median_s * US_PER_S,
            "mean_time_us": statistics.fmean(record.times_s) * US_PER_S,
            ALGBW_FIELD: record.extra.get(ALGBW_FIELD),
            BUSBW_FIELD: record.extra.get(BUSBW_FIELD), WRONG_FIELD: record.extra.get(WRONG_FIELD),
            "noisy": record.noisy}


def _line(key: TableKey, size: int, pair: Mapping[bool, Measurement]) -> dict[str, Any]:
    first = next(iter(pair.values()))
    op, device, world_size, backend = key
    return {"op": op, "device": device, "world_size": world_size, "backend": backend,
            "requested_size": size, "size": first.extra.get(BYTES_FIELD),
            "count": first.extra.get(COUNT_FIELD), "type": first.extra.get(TYPE_FIELD),
            "redop": first.extra.get(REDOP_PARAM), "root": first.extra.get(ROOT_FIELD),
            "out_of_place": _placement(pair.get(False)),
            "in_place": _placement(pair.get(True))}


def _grouped(measurements: Iterable[Measurement]
             ) -> dict[TableKey, dict[int, dict[bool, Measurement]]]:
    """key -> requested size -> in-place flag -> record (the last one wins)."""
    groups: dict[TableKey, dict[int, dict[bool, Measurement]]] = {}
    for record in measurements:
        if record.family != COLLECTIVES:
            continue
        sizes = groups.setdefault(_key(record), {})
        sizes.setdefault(int(record.params[SIZE_PARAM]), {})[
            bool(record.params[INPLACE_PARAM])] = record
    return groups


def _order(key: TableKey) -> tuple[int, str, int, str]:
    op, device, world_size, backend = key
    rank = COLLECTIVE_OPS.index(op) if op in COLLECTIVE_OPS else len(COLLECTIVE_OPS)
    return (rank, device, world_size, backend)


def collectives_table(measurements: Iterable[Measurement]) -> list[dict[str, Any]]:
    """One plain row per (op, device, world size, backend, size), in nccl-tests' order:
    op, then size ascending; ``out_of_place``/``in_place`` are None where not measured."""
    groups = _grouped(measurements)
    return [_line(key, size, groups[key][size])
            for key in sorted(groups, key=_order) for size in sorted(groups[key])]


def _figure_cells(side: Mapping[str, Any] | None) -> tuple[Cell, ...]:
    if side is None:
        return tuple(Cell(NOT_OFFERED, "muted") for _ in PLACEMENT_COLUMNS)
    wrong = side[WRONG_FIELD]
    wrong_cell = Cell(fmt_number(wrong), "bad" if wrong else "good")
    if "error" in side:
        return (Cell(f"error: {side['error']}", "bad"), Cell(MISSING), Cell(MISSING),
                wrong_cell)
    return (Cell(fmt_number(side["time_us"]), "warn" if side["noisy"] else ""),
            Cell(fmt_number(side[ALGBW_FIELD])), Cell(fmt_number(side[BUSBW_FIELD])),
            wrong_cell)


def _row_cells(line: Mapping[str, Any]) -> tuple[Cell, ...]:
    head = (Cell(fmt_number(line["size"])), Cell(fmt_number(line["count"])),
            Cell(str(line["type"])), Cell(str(line["redop"])), Cell(str(line["root"])))
    return head + _figure_cells(line["out_of_place"]) + _figure_cells(line["in_place"])


def _table_heading(line: Mapping[str, Any]) -> str:
    return (f"{COLLECTIVES}.{line['op']} on {line['device']}, {line['world_size']} ranks "
            f"({line['backend']})")


def _note(rows: Sequence[Mapping[str, Any]]) -> str:
    """Why a placement shows n/a, for each placement that does."""
    return " ".join(NOT_OFFERED_NOTE.format(placement=text, na=NOT_OFFERED)
                    for side, text in PLACEMENTS.items()
                    if any(row[side] is None for row in rows))


def _tables(lines: Sequence[Mapping[str, Any]]) -> list[Block]:
    tables: dict[str, list[Mapping[str, Any]]] = {}
    for line in lines:
        tables.setdefault(_table_heading(line), []).append(line)
    blocks: list[Block] = []
    for heading, rows in tables.items():
        blocks.append(Heading(3, heading))
        blocks.append(Table(COLLECTIVES_HEADER, tuple(_row_cells(row) for row in rows),
                            NUMERIC_COLUMNS, _note(rows)))
    return blocks


def collectives_blocks(measurements: Iterable[Measurement]) -> list[Block]:
    """A heading, what the columns mean, and one nccl-tests table per (op, device,
    world size, backend); nothing without collective records."""
    lines = collectives_table(measurements)
    if not lines:
        return []
    return [Heading(2, "Collectives", "collectives"), Paragraph(CAPTION), *_tables(lines)]


def collectives_markdown(measurements: Iterable[Measurement]) -> str:
    """The tables as a Markdown page of their own (empty string without records)."""
    lines = collectives_table(measurements)
    if not lines:
        return ""
    return render_markdown(Document("Collectives", CAPTION, tuple(_tables(lines))))

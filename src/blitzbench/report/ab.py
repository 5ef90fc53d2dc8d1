"""An A/B run, as a report section and as a terminal table.

Every number shown is one the verdict rests on: the ratio is the Hodges-Lehmann estimate
of the pairs' B/A ratios (not a ratio of two pooled medians), beside its interval, the
pairs it came from, and the smallest change the case could have called SLOWER (what a
reader needs to trust a SAME). The per-side medians are shown as context, labelled so.
The verdicts come from results/paired.py's ``judge_record``, nothing re-derived here.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_duration_s
from blitzbench.report.terminal import StatusRow
from blitzbench.report.tones import COMPARE_TONES, style_of
from blitzbench.results.ab import ABRecord, PairedCase
from blitzbench.results.compare import (
    Comparison,
    Verdict,
    interval_text,
    noisy_why,
    percent,
)
from blitzbench.results.paired import count_verdicts, detectable_change, judge_record

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ab_blocks", "count_lines", "print_ab", "summary_line"]

HEADER = ("verdict", "case", "device", "B/A (paired)", "interval", "could detect", "pairs",
          "A median", "B median")


def summary_line(record: ABRecord, judged: Sequence[tuple[PairedCase, Comparison]]) -> str:
    """``0 SLOWER, 0 FASTER, 30 SAME, 3 NOISY of 33 cases (B = ... against A = ...)``."""
    found = {v: sum(c.verdict is v for _, c in judged) for v in Verdict}
    counts = ", ".join(f"{n} {v.value}" for v, n in found.items())
    return (f"{counts} of {len(judged)} cases (B = {record.b.spec} against A = "
            f"{record.a.spec}; {record.threads} thread(s) each on core(s) "
            f"{', '.join(map(str, record.cores)) or 'any'}, level {record.level})")


def _method_text(record: ABRecord, judged: Sequence[tuple[PairedCase, Comparison]]) -> str:
    level = percent(judged[0][1].confidence) if judged else MISSING
    return (f"Each case was measured by both sides in alternating slots, in random order "
            f"(seed {record.seed}); B/A is the Hodges-Lehmann estimate of the pairs' "
            f"ratios and the interval its signed-rank interval at {level} (Bonferroni over "
            f"{len(judged)} cases, 95% for all together). SLOWER or FASTER: the interval "
            f"lies past 1 and the ratio past the threshold of {record.threshold:.0%}; SAME: "
            f"inside it; NOISY: neither. 'could detect' is the smallest slowdown this "
            f"case's spread would have called SLOWER.")


def ab_blocks(record: ABRecord | None) -> list[Block]:
    """The report's A/B section (nothing for a run without one)."""
    if record is None:
        return []
    judged = judge_record(record)
    blocks: list[Block] = [Heading(2, "A/B comparison", "ab"),
                           Paragraph(summary_line(record, judged), _tone(judged)),
                           Paragraph(_method_text(record, judged))]
    blocks += _side_blocks(record)
    blocks.append(Table(HEADER, tuple(_cells(case, c) for case, c in judged),
                        frozenset(range(3, 9))))
    if record.not_compared:
        blocks.append(Paragraph("Not compared (one side has no such case): "
                                + "; ".join(record.not_compared) + ".", "warn"))
    return blocks + _count_blocks(record)


def _count_blocks(record: ABRecord) -> list[Block]:
    """The instruction counts' table (``--count-instructions``), or why there are none."""
    if record.counts_a is None or record.counts_b is None:
        return []
    skipped = record.counts_a.skipped or record.counts_b.skipped
    if skipped:
        return [Heading(3, "Instruction counts", "ab-counts"),
                Paragraph(f"Not counted: {skipped}.", "warn")]
    rows = tuple((Cell(c.label, COMPARE_TONES.get(c.label, "")), Cell(b.prefix, code=True),
                  Cell(f"{c.ratio:.4f}" if c.comparable else MISSING),
                  Cell(f"{a.instructions_per_call:,.0f}" if a.ok else MISSING),
                  Cell(f"{b.instructions_per_call:,.0f}" if b.ok else MISSING),
                  Cell(c.evidence() if not c.comparable else ""))
                 for a, b, c in count_verdicts(record))
    return [Heading(3, "Instruction counts", "ab-counts"),
            Paragraph("Instructions per call under callgrind, one valgrind process a side, "
                      "judged at 2% (processes agree to 0.5%); counts cannot see "
                      "memory-bandwidth, cache or threading changes."),
            Table(("verdict", "case", "B/A", "A per call", "B per call", "why not compared"),
                  rows, frozenset({2, 3, 4}))]


def _side_blocks(record: ABRecord) -> list[Block]:
    rows = tuple((Cell(side.name), Cell(side.spec, code=True),
                  Cell(", ".join(f"{k} {v}" for k, v in side.versions.items()
                                 if k != "executable")))
                 for side in (record.a, record.b))
    return [Table(("side", "interpreter", "versions"), rows)]


def _cells(case: PairedCase, c: Comparison) -> tuple[Cell, ...]:
    tone = COMPARE_TONES.get(c.verdict.value, "")
    tested = math.isfinite(c.ratio)
    detect = detectable_change(c)
    return (Cell(c.verdict.value, tone), Cell(case.prefix, code=True), Cell(case.device),
            Cell(f"{c.ratio:.3f}" if tested else MISSING, tone),
            Cell(interval_text(c) if tested else c.reason),
            Cell(f"{detect:.0%}" if math.isfinite(detect) else MISSING),
            Cell(str(case.pairs)), Cell(_median(case.a_s)), Cell(_median(case.b_s)))


def _median(times: Sequence[float]) -> str:
    return fmt_duration_s(statistics.median(times)) if times else MISSING


def _tone(judged: Sequence[tuple[PairedCase, Comparison]]) -> str:
    found = {c.verdict for _, c in judged}
    return "bad" if Verdict.SLOWER in found else "warn" if Verdict.NOISY in found else "good"


def print_ab(record: ABRecord, *, show_all: bool = False,
             console: Console | None = None) -> None:
    """The summary line, then the cases that are not SAME (every case with ``show_all``),
    status first, the paired ratio, its interval and what it could detect below each:
    readable at 80 columns (report/terminal.py)."""
    from blitzbench.report.terminal import log_console, print_status_rows

    judged = judge_record(record)
    print(f"ab: {summary_line(record, judged)}")
    for line in count_lines(record):
        print(line)
    shown = [(case, c) for case, c in judged if show_all or c.verdict is not Verdict.SAME]
    if shown:
        print_status_rows([_status_row(case, c) for case, c in shown],
                          console or log_console())


def _status_row(case: PairedCase, c: Comparison) -> StatusRow:
    detect = detectable_change(c)
    if math.isfinite(c.ratio):
        below = [f"B/A {c.ratio:.3f} (paired, interval {interval_text(c)}), {case.pairs} "
                 f"pairs; could detect {detect:.0%}"]
    else:
        below = [c.reason]
    why = noisy_why(c)
    below += [f"why NOISY: {why}"] if why and math.isfinite(c.ratio) else []
    return StatusRow(c.verdict.value, style_of(c.verdict.value, COMPARE_TONES),
                     f"{case.prefix} on {case.device}", tuple(below))


def count_lines(record: ABRecord) -> list[str]:
    """The instruction counts in a few lines: the tally, then each case not SAME."""
    if record.counts_a is None or record.counts_b is None:
        return []
    skipped = record.counts_a.skipped or record.counts_b.skipped
    if skipped:
        return [f"instructions: not counted: {skipped}"]
    found = count_verdicts(record)
    tally = Counter(c.label for _, _, c in found)
    lines = [f"instructions: {', '.join(f'{n} {v}' for v, n in sorted(tally.items()))} of "
             f"{len(found)} CPU cases (callgrind, threshold 2%)"]
    lines += [f"  {c.label} {b.prefix}: {c.evidence()}" for _, b, c in found
              if c.label != "SAME"]
    return lines

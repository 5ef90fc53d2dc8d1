"""The report's "The tutorial's own code" section: each block of the tutorial, its verdict
on every device, and what it took (a shim, the difference, the error).

The claim matrix restates the tutorial's statements in blitzbench's code; this section is
the tutorial's own code as a learner copies it (``blitzbench tutorial``, run by ``accept``).
"""

from __future__ import annotations

from collections.abc import Sequence

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.report.locations import Place
from blitzbench.results.tutorial import (
    FAILS,
    NOT_RUN,
    OUTPUT_DIFFERS,
    RUNS_AS_WRITTEN,
    RUNS_WITH_A_SHIM,
    TutorialResults,
    TutorialRun,
    verdict_counts,
)

__all__ = ["BLOCK_TONES", "tutorial_blocks"]

#: a shim is stated, not a failure; a difference in output is a finding to read
BLOCK_TONES = {RUNS_AS_WRITTEN: "good", RUNS_WITH_A_SHIM: "info", OUTPUT_DIFFERS: "warn",
               FAILS: "bad", NOT_RUN: "bad"}


def tutorial_blocks(tutorial: TutorialResults | None, place: Place) -> list[Block]:
    """Heading, one line per device run, and the block × device table."""
    if tutorial is None:
        return []
    ran = [run for run in tutorial.runs if not run.skipped]
    blocks: list[Block] = [Heading(2, "The tutorial's own code", "tutorial")]
    if not tutorial.runs:
        return [*blocks, Paragraph("No tutorial was run.", "muted")]
    path = place.show(tutorial.runs[0].path)
    data, _, root = tutorial.data_source.partition(" at ")
    data += f" at `{place.show(root)}`" if root else ""
    blocks.append(Paragraph(f"`{path}`, torch {tutorial.torch}, torchvision "
                            f"{tutorial.torchvision}; {data}; a time limit "
                            f"of {tutorial.timeout_s:g} s per block."))
    blocks += [_run_line(run) for run in tutorial.runs]
    if ran:
        blocks.append(_table(ran))
    return blocks


def _run_line(run: TutorialRun) -> Paragraph:
    if run.skipped:
        return Paragraph(f"{run.device}: not run: {run.skipped}.", "muted")
    counts = ", ".join(f"{n} {verdict}" for verdict, n in verdict_counts(run.blocks).items())
    return Paragraph(f"{run.device}: {len(run.blocks)} blocks in {run.seconds:.1f} s: "
                     f"{counts}.", "good" if run.passed else "bad")


def _table(runs: Sequence[TutorialRun]) -> Table:
    first = runs[0]
    rows = []
    for index, block in enumerate(first.blocks):
        verdicts = [run.blocks[index] if index < len(run.blocks) else None for run in runs]
        cells = [Cell(v.verdict, BLOCK_TONES.get(v.verdict, "")) if v else Cell("-", "muted")
                 for v in verdicts]
        details = "; ".join(dict.fromkeys(v.detail for v in verdicts if v and v.detail))
        rows.append((Cell(str(block.index)), Cell(str(block.line)), *cells, Cell(details)))
    return Table(("block", "line", *(run.device for run in runs), "detail"), tuple(rows),
                 numeric=frozenset({0, 1}))

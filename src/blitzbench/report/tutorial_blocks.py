"""The report's "The tutorial's own code" section: each block of the tutorial, its verdict
on every device, and what it took (a shim, the difference, the error).

The claim matrix restates the tutorial's statements in blitzbench's code; this section is
the tutorial's own code as a learner copies it (``blitzbench tutorial``, run by ``accept``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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

__all__ = ["BLOCK_TONES", "block_snippets", "tutorial_blocks"]

#: a snippet is cut to this many characters: the table stays readable at 800 px
SNIPPET_CHARS = 48
#: how far into a block its first statement is looked for
SNIPPET_SCAN = 40
#: lines that say little of what a block does (every block of the post imports torch)
SKIPPED_STARTS = ("#", "import ", "from ", "print(")

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
    """Block x device; each block with its place and, where the tutorial is on this disk,
    its first statement, so a reader knows which block a row is without the source."""
    first = runs[0]
    snippets = block_snippets(first.path, first.format, [b.line for b in first.blocks])
    rows = []
    for index, block in enumerate(first.blocks):
        verdicts = [run.blocks[index] if index < len(run.blocks) else None for run in runs]
        cells = [Cell(v.verdict, BLOCK_TONES.get(v.verdict, "")) if v else Cell("-", "muted")
                 for v in verdicts]
        details = "; ".join(dict.fromkeys(v.detail for v in verdicts if v and v.detail))
        code = (Cell(snippets.get(block.line, ""), code=True),) if snippets else ()
        rows.append((Cell(str(block.index)), Cell(str(block.line)), *code, *cells,
                     Cell(details)))
    where = "cell" if first.format == "notebook" else "line"
    return Table(("block", where, *(("first statement",) if snippets else ()),
                  *(run.device for run in runs), "detail"), tuple(rows),
                 numeric=frozenset({0, 1}))


def block_snippets(path: str, fmt: str, lines: Sequence[int]) -> dict[int, str]:
    """Each block's first statement past its imports and comments (``x = torch.rand(5,
    3)``), read from the tutorial where it is on this disk; {} where it is not, or for a
    notebook (its blocks are cells, not lines). At most :data:`SNIPPET_CHARS`."""
    source = Path(path)
    if fmt == "notebook" or not path or not source.is_file():
        return {}
    try:
        text = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    return {line: _first_statement(text[line - 1:line - 1 + SNIPPET_SCAN]) for line in lines
            if 0 < line <= len(text)}


def _first_statement(lines: Sequence[str]) -> str:
    code = []
    for line in lines:
        if line.strip().startswith("```"):
            break  # the fence closes: the block has ended
        if line.strip():
            code.append(line.strip())
    chosen = next((c for c in code if not c.startswith(SKIPPED_STARTS)), code[0] if code
                  else "")
    return chosen if len(chosen) <= SNIPPET_CHARS else chosen[:SNIPPET_CHARS - 1] + "…"

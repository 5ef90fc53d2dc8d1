"""Tables a person reads: a tutorial run's per-block verdicts, and the drift across
releases, for the terminal (rich) and for Markdown (the README, a report).

Markdown escapes ``|`` so a detail quoting code cannot break a row; the terminal colours
passing verdicts green, OUTPUT DIFFERS yellow, FAILS red, and leaves NOT RUN dim.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blitzbench.results.drift import DriftTable
from blitzbench.results.tutorial import (
    FAILS,
    NOT_RUN,
    OUTPUT_DIFFERS,
    TutorialRun,
    verdict_counts,
)
from blitzbench.tutorial.shims import shim_named

__all__ = ["drift_markdown", "print_drift", "print_runs", "runs_markdown", "shims_used"]

STYLES = {FAILS: "bold red", OUTPUT_DIFFERS: "yellow", NOT_RUN: "dim"}
PASS_STYLE = "green"
#: What a block's two times are (the table's "s (run)" and "s (in all)" columns).
TIMES_NOTE = ("s (run): the block's own run, the try that counted; s (in all): the wall "
              "time spent on the block, failed tries, rolling back (a fresh worker replaying "
              "the blocks before it) and a shimmed run included.")
#: The same, for the terminal's words ("ran 1.06 s, 8.85 s in all").
RAN_NOTE = ("ran: the try that counted; in all: with failed tries, rolling back (a fresh "
            "worker replaying the blocks before it) and a shimmed run.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _where(run: TutorialRun) -> str:
    """A block's place: its first line, or a notebook's cell number."""
    return "cell" if run.format == "notebook" else "line"


def _summary(run: TutorialRun) -> str:
    if run.skipped:
        return f"{run.device}: skipped: {run.skipped}"
    counts = ", ".join(f"{n} {v}" for v, n in verdict_counts(run.blocks).items())
    return f"{run.device}: {len(run.blocks)} blocks in {run.seconds:.1f} s: {counts}"


def shims_used(runs: Sequence[TutorialRun]) -> list[str]:
    """One line per shim the runs needed: what it rewrites, the release, the source."""
    names = dict.fromkeys(s for run in runs for b in run.blocks for s in b.shims)
    return [f"{name}: {shim_named(name).release} ({shim_named(name).source})"
            for name in names]


def runs_markdown(runs: Sequence[TutorialRun]) -> str:
    """One table per device: block, source line, verdict, seconds, detail."""
    lines: list[str] = []
    for run in runs:
        lines += [f"**{_cell(run.path)}**: {_cell(_summary(run))}", ""]
        if run.skipped:
            continue
        lines += [f"| block | {_where(run)} | verdict | s (run) | s (in all) | detail |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {b.index} | {b.line} | {b.verdict} | {b.seconds:.2f} | "
                  f"{b.spent_seconds:.2f} | {_cell(b.detail)} |" for b in run.blocks]
        lines += ["", f"_{TIMES_NOTE}_", ""]
    used = shims_used(runs)
    lines += ["Shims used:", "", *(f"- {_cell(line)}" for line in used), ""] if used else []
    return "\n".join(lines)


def print_runs(runs: Sequence[TutorialRun], console: Console | None = None) -> None:
    """Per device, one row per block, verdict first: the block, where it starts and its
    time (the run that counted, and in all: failed tries and rollbacks too), the detail
    below. Readable at 80 columns: a grid of two columns, the text wrapped on words."""
    console = console or Console()
    for run in runs:
        if run.skipped:
            console.print(f"[dim]{escape(_summary(run))}[/]")
            continue
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        for b in run.blocks:
            text = (f"block {b.index} ({_where(run)} {b.line}): ran {b.seconds:.2f} s, "
                    f"{b.spent_seconds:.2f} s in all")
            grid.add_row(f"[{STYLES.get(b.verdict, PASS_STYLE)}]{b.verdict}[/]",
                         escape(text + (f"\n{b.detail}" if b.detail else "")))
        console.print(escape(f"{run.path} on {run.device}"), style="bold")
        console.print(grid)
        console.print(escape(_summary(run)))
    if any(not run.skipped for run in runs):
        console.print(RAN_NOTE, style="dim")
    for line in shims_used(runs):
        console.print(f"shim {escape(line)}")


def _drift_rows(table: DriftTable) -> list[list[str]]:
    rows = []
    for key in table.rows:
        cells = []
        for release in table.releases:
            cell = table.cell(key, release)
            cells.append("—" if cell is None else
                         f"**{cell.verdict}** (was {cell.previous})" if cell.changed
                         else cell.verdict)
        rows.append([key, *cells])
    return rows


def drift_markdown(table: DriftTable) -> str:
    """Release x claim and release x block, a changed verdict in bold with the one before."""
    head = ["row", *table.releases]
    lines = [f"| {' | '.join(head)} |", f"|{' --- |' * len(head)}"]
    lines += [f"| {' | '.join(_cell(c) for c in row)} |" for row in _drift_rows(table)]
    changes = table.changes
    lines += ["", f"{len(changes)} verdict change(s) between consecutive releases"
              + (": " + "; ".join(changes) if changes else "")]
    return "\n".join(lines)


def print_drift(table: DriftTable, console: Console | None = None) -> None:
    """One row per claim or block, its latest verdict first; where a verdict changed, the
    releases in order below it. Readable at 80 columns (a release per column was not)."""
    console = console or Console()
    console.print("blitzbench drift: verdicts across releases", style="bold")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for key in table.rows:
        cells = [(release, table.cell(key, release)) for release in table.releases]
        seen = [(release, cell) for release, cell in cells if cell is not None]
        latest = seen[-1][1].verdict if seen else "—"
        changed = any(cell.changed for _, cell in seen)
        history = " → ".join(f"{release.split(' / ')[0]} {cell.verdict}"
                             for release, cell in seen)
        text = escape(key) + (f"\n[bold yellow]{escape(history)}[/]" if changed else "")
        grid.add_row(escape(latest), text)
    console.print(grid)
    console.print(f"{len(table.changes)} verdict change(s) between consecutive releases")
    for change in table.changes:
        console.print(f"  {escape(change)}")

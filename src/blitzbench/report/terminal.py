"""Tables for the terminal, readable at 80 columns, coloured by the tones the page uses
(report/tones.py).

A rich ``Table`` with six columns at 80 columns squeezes its widest column to a few
characters and folds names mid-word (``train_ste|p``; the claims' evidence at 7 characters
made 1,027 lines). Every terminal table here is a list of rows instead, status first
(``compare`` on tests/test_compare_cli.py's made-up runs):

    SLOWER  lenet.train_step[batch_size=64,variant=eager] on cpu
        B/A 1.250 (97.5% CI 1.238–1.263); A 10 ms, B 12.5 ms (median of all rounds);
        could detect 5%

the status word in a column of its own, what the row is about wrapped whole under itself,
and the detail on the lines below, indented less so that a long name still fits. A word
is never broken; one longer than the whole width (no name blitzbench prints is) is cut
after its dots, commas and brackets.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from blitzbench.report.tones import TONE_STYLES, VERDICT_TONES, style_of
from blitzbench.textwidth import LOG_WIDTH, wrap_whole

if TYPE_CHECKING:
    from blitzbench.results.records import ClaimCell, ProfileEntry

__all__ = ["BELOW_INDENT", "LOG_WIDTH", "StatusRow", "log_console", "print_claim_matrix",
           "print_profile_summaries", "print_status_rows", "wrap_whole"]

#: The lines under a row start here: less than the status column, so that a long metric
#: or case name still fits 80 columns whole.
BELOW_INDENT = 4


@dataclass(frozen=True)
class StatusRow:
    """One row of a terminal table: the status a reader scans for, what the row is about
    (a name and the figures beside it) and the detail below it."""

    status: str
    style: str
    head: str
    below: tuple[str, ...] = ()


def log_console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal, or :data:`LOG_WIDTH` in a file or a CI log."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else LOG_WIDTH)


def print_status_rows(rows: Sequence[StatusRow], console: Console, title: str = "") -> None:
    """Every row, status first, its head wrapped under itself and its detail below."""
    width = console.width
    if title:
        for line in wrap_whole(title, width):
            console.print(Text(line, style="bold"), no_wrap=True, crop=False)
    status_width = max((len(r.status) for r in rows), default=0) + 2
    for row in rows:
        head = wrap_whole(row.head, width, status_width)
        # a name too long to sit beside the status goes below it, status on its own line
        beside = head.pop(0)[status_width:] if head and head[0].startswith(
            " " * status_width) else ""
        status = Text(row.status, style=row.style)
        if beside:
            status += Text(" " * (status_width - len(row.status)) + beside)
        console.print(status, no_wrap=True, crop=False)
        for text in head:
            console.print(Text(text), no_wrap=True, crop=False)
        for detail in row.below:
            for text in wrap_whole(detail, width, BELOW_INDENT):
                console.print(Text(text, style="dim"), no_wrap=True, crop=False)


def print_claim_matrix(cells: Sequence[ClaimCell], data_text: str,
                       console: Console | None = None) -> None:
    """One row per (claim, device): the verdict (and the expected one where it differs),
    the claim and its device, the evidence below."""
    console = console or log_console()
    rows = [StatusRow(cell.verdict, style_of(cell.verdict, VERDICT_TONES) if cell.passed
                      else TONE_STYLES["bad"],
                      f"{cell.claim} on {cell.site}" + ("" if cell.passed else
                                                        f" (expected {cell.expected})"),
                      (cell.summary,) if cell.summary else ())
            for cell in cells]
    print_status_rows(rows, console, f"blitzbench claims ({data_text})")
    failed = sum(not c.passed for c in cells)
    console.print(f"{len(cells)} cells, {failed} not as expected", highlight=False)


def print_profile_summaries(profiles: Sequence[ProfileEntry],
                            console: Console | None = None) -> None:
    """One row per profiled (device, workload): host time against GPU busy time per step,
    and where the step's time goes below it."""
    from blitzbench.report.profiles import profile_fields

    console = console or log_console()
    rows = []
    for entry in profiles:
        figures, reading = profile_fields(entry)
        rows.append(StatusRow("ERROR" if entry.error else "TRACED",
                              TONE_STYLES["bad" if entry.error else "good"],
                              f"{entry.workload} on {entry.device}: {figures}",
                              (reading,) if reading else ()))
    print_status_rows(rows, console, "blitzbench profile (per recorded step, median)")

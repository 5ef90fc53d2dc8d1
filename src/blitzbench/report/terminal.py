"""Rich tables for the terminal, coloured by the tones the page uses (report/tones.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blitzbench.report.tones import TONE_STYLES, VERDICT_TONES, style_of

if TYPE_CHECKING:
    from blitzbench.results.records import ClaimCell, ProfileEntry

__all__ = ["print_claim_matrix", "print_profile_summaries"]


def print_claim_matrix(cells: Sequence[ClaimCell], data_text: str,
                       console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"blitzbench claims ({data_text})", show_lines=False)
    table.add_column("claim", no_wrap=True)  # an id reads whole or not at all
    for column in ("device", "expected", "verdict", "evidence"):
        table.add_column(column, overflow="fold")
    for cell in cells:
        style = style_of(cell.verdict, VERDICT_TONES) if cell.passed else TONE_STYLES["bad"]
        table.add_row(escape(cell.claim), escape(cell.device), escape(cell.expected),
                      f"[{style}]{escape(cell.mark)}[/]", escape(cell.summary))
    console.print(table)
    failed = sum(not c.passed for c in cells)
    console.print(f"{len(cells)} cells, {failed} not as expected")


def print_profile_summaries(profiles: Sequence[ProfileEntry],
                            console: Console | None = None) -> None:
    """One row per profiled (device, workload): host time against GPU busy time per step."""
    from blitzbench.report.profiles import PROFILE_HEADER, profile_row

    console = console or Console()
    table = Table(title="blitzbench profile (per recorded step, median)")
    for column in PROFILE_HEADER:
        table.add_column(column, overflow="fold")
    for entry in profiles:
        table.add_row(*profile_row(entry))
    console.print(table)

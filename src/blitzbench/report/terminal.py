"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from blitzbench.results.records import ClaimCell, ProfileEntry

__all__ = ["VERDICT_STYLES", "print_claim_matrix", "print_profile_summaries"]

VERDICT_STYLES = {"HOLDS": "green", "CONDITIONAL": "yellow", "OUTDATED": "magenta",
                  "FAILS": "bold red", "SKIPPED": "dim"}


def print_claim_matrix(cells: Sequence[ClaimCell], data_text: str,
                       console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"blitzbench claims ({data_text})", show_lines=False)
    for column in ("claim", "device", "verdict", "evidence"):
        table.add_column(column, overflow="fold")
    for cell in cells:
        style = VERDICT_STYLES[cell.verdict] if cell.passed else "bold red"
        table.add_row(cell.claim, cell.device, f"[{style}]{cell.mark}[/]", cell.summary)
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

"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from blitzbench.report.claims_table import verdict_mark

if TYPE_CHECKING:
    from blitzbench.claims.runner import MatrixCell
    from blitzbench.workloads.cifar import DataSource

__all__ = ["VERDICT_STYLES", "print_claim_matrix", "print_profile_summaries"]

VERDICT_STYLES = {"HOLDS": "green", "CONDITIONAL": "yellow", "OUTDATED": "magenta",
                  "FAILS": "bold red", "SKIPPED": "dim"}


def print_claim_matrix(cells: Sequence[MatrixCell], data: DataSource,
                       console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"blitzbench claims ({data.describe()})", show_lines=False)
    for column in ("claim", "device", "verdict", "evidence"):
        table.add_column(column, overflow="fold")
    for cell in cells:
        style = VERDICT_STYLES[cell.outcome.verdict.value] if cell.passed else "bold red"
        table.add_row(cell.claim.id, cell.device, f"[{style}]{verdict_mark(cell)}[/]",
                      cell.outcome.summary)
    console.print(table)
    failed = sum(not c.passed for c in cells)
    console.print(f"{len(cells)} cells, {failed} not as expected")


def print_profile_summaries(profiles: Sequence[Mapping[str, Any]],
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

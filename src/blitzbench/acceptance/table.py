"""The verdict table in the terminal (rich)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blitzbench.acceptance.rules import ACCEPTED, RuleResult, Status

__all__ = ["STATUS_STYLES", "print_verdict", "status_counts"]

#: Width when stdout is a file or a CI log: wide enough that rule and metric names do not
#: fold (rich would assume 80 columns).
LOG_WIDTH = 200

STATUS_STYLES = {Status.PASS: "green", Status.FAIL: "bold red", Status.MISSING: "bold red",
                 Status.NOISY: "yellow", Status.SKIPPED: "dim"}


def status_counts(rows: Sequence[RuleResult]) -> str:
    """``12 PASS, 1 FAIL, 3 SKIPPED``, in the order of the Status enum."""
    counts = Counter(r.status for r in rows)
    return ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])


def print_verdict(rows: Sequence[RuleResult], verdict: str, title: str,
                  console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    table = Table(title=title)
    # names are read whole (a metric folded mid-word is misread); prose columns fold
    for column in ("rule", "metric"):
        table.add_column(column, no_wrap=True)
    for column in ("device", "measured", "bound", "status", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = STATUS_STYLES[row.status]
        table.add_row(*map(escape, (row.rule.id, row.metric, row.device, row.shown,
                                    row.bound_text)),
                      f"[{style}]{row.status.value}[/]", escape(row.detail))
    console.print(table)
    style = "bold green" if verdict == ACCEPTED else "bold red"
    console.print(f"[{style}]{verdict}[/]: {status_counts(rows)}")
    noisy = [r for r in rows if r.status is Status.NOISY]
    if noisy:
        console.print(f"[yellow]{len(noisy)} figure(s) too noisy to judge[/]: they do not "
                      f"reject the machine; rerun on a quiet machine to decide them")

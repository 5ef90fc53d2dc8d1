"""The verdict table in the terminal (rich)."""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from blitzbench.acceptance.rules import ACCEPTED, INCONCLUSIVE, REJECTED, RuleResult, Status

__all__ = ["STATUS_STYLES", "print_verdict", "status_counts"]

#: Width when stdout is a file or a CI log (rich would assume 80 columns; a log is read
#: in a browser, where long lines wrap anyway).
LOG_WIDTH = 120
#: The status column: wide enough for INCONCLUSIVE and a space.
STATUS_WIDTH = 13
#: The metric and detail lines under a row: indented less than the row, so that a long
#: metric name still fits 80 columns whole.
BELOW_INDENT = 4

STATUS_STYLES = {Status.PASS: "green", Status.FAIL: "bold red", Status.MISSING: "bold red",
                 Status.NOISY: "yellow", Status.SKIPPED: "dim", Status.INCONCLUSIVE: "yellow"}
VERDICT_STYLES = {ACCEPTED: "bold green", REJECTED: "bold red", INCONCLUSIVE: "bold yellow"}


def status_counts(rows: Sequence[RuleResult]) -> str:
    """``12 PASS, 1 FAIL, 3 SKIPPED``, in the order of the Status enum."""
    counts = Counter(r.status for r in rows)
    return ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])


def print_verdict(rows: Sequence[RuleResult], verdict: str, title: str,
                  console: Console | None = None, notes: Sequence[str] = ()) -> None:
    """Every rule's row, status first, then the verdict and ``notes`` (how many figures
    were noisy, whether the machine was busy). A row is one line (status, rule, device,
    what was measured against the bound) and, when there is one, the metric and the
    detail on the lines below it, indented under the rule: readable at 80 columns."""
    console = console or Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    console.print(f"[bold]{escape(title)}[/]")
    width = max(40, console.width - STATUS_WIDTH)
    for row in rows:
        style = STATUS_STYLES[row.status]
        head = _wrap(f"{row.rule.id} on {row.device}: {row.shown} (bound {row.bound_text})",
                     width) or [""]
        console.print(f"[{style}]{row.status.value:<{STATUS_WIDTH}}[/]{escape(head[0])}",
                      highlight=False)
        for line in head[1:]:
            console.print(" " * STATUS_WIDTH + escape(line), highlight=False)
        for line in _wrap(_below(row), console.width - BELOW_INDENT):
            console.print(" " * BELOW_INDENT + escape(line), style="dim", highlight=False)
    console.print(f"[{VERDICT_STYLES.get(verdict, 'bold')}]{verdict}[/]: {status_counts(rows)}")
    for note in notes:
        console.print(escape(note), style="yellow", highlight=False)


def _below(row: RuleResult) -> str:
    """What goes under a row: the metric (whole, to copy into a spec or grep for) and the
    detail."""
    return " - ".join(part for part in (row.metric, row.detail) if part)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width``, a name longer than that kept whole on its own line."""
    return textwrap.wrap(text, max(20, width), break_long_words=False,
                         break_on_hyphens=False)

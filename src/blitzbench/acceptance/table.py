"""The verdict table in the terminal (rich), status first and readable at 80 columns."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from blitzbench.acceptance.rules import ACCEPTED, INCONCLUSIVE, REJECTED, RuleResult, Status
from blitzbench.textwidth import LOG_WIDTH, wrap_whole

__all__ = ["LOG_WIDTH", "STATUS_STYLES", "print_verdict", "status_counts", "wrap_whole"]

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
    detail on the lines below it, indented under the rule: readable at 80 columns, no
    name broken."""
    console = console or Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    width = console.width
    for line in wrap_whole(title, width):
        console.print(Text(line, style="bold"), no_wrap=True, crop=False)
    for row in rows:
        head = wrap_whole(f"{row.rule.id} on {row.device}: {row.shown} (bound "
                          f"{row.bound_text})", width, STATUS_WIDTH)
        beside = head.pop(0)[STATUS_WIDTH:] if head and head[0].startswith(
            " " * STATUS_WIDTH) else ""  # a name too long to sit beside: below the status
        status = Text(row.status.value, style=STATUS_STYLES[row.status])
        if beside:
            status += Text(" " * (STATUS_WIDTH - len(row.status.value)) + beside)
        console.print(status, no_wrap=True, crop=False)
        for line in head:
            console.print(Text(line), no_wrap=True, crop=False)
        for line in wrap_whole(_below(row), width, BELOW_INDENT):
            console.print(Text(line, style="dim"), no_wrap=True, crop=False)
    counts = wrap_whole(f"{verdict}: {status_counts(rows)}", width)
    console.print(Text(counts[0], style=VERDICT_STYLES.get(verdict, "bold")), no_wrap=True,
                  crop=False)
    for line in counts[1:] + [w for note in notes for w in wrap_whole(note, width)]:
        console.print(Text(line, style="yellow"), no_wrap=True, crop=False)


def _below(row: RuleResult) -> str:
    """What goes under a row: the metric (whole, to copy into a spec or grep for) and the
    detail."""
    return " - ".join(part for part in (row.metric, row.detail) if part)

"""The claim matrix as text: claim x device -> verdict and one line of evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blitzbench.claims.runner import MatrixCell

__all__ = ["matrix_lines", "matrix_markdown", "verdict_mark"]

SUMMARY_WIDTH = 90


def verdict_mark(cell: MatrixCell) -> str:
    """The verdict, flagged when it differs from the expected one."""
    verdict = cell.outcome.verdict.value
    return verdict if cell.passed else f"{verdict} (expected {cell.claim.expected.value})"


def matrix_lines(cells: Sequence[MatrixCell]) -> list[str]:
    """Plain lines, one per (claim, device), for the pytest summary."""
    width = max(len(c.claim.id) for c in cells)
    return [f"{c.claim.id:<{width}}  {c.device:<7} {verdict_mark(c):<26} "
            f"{c.outcome.summary[:SUMMARY_WIDTH]}" for c in cells]


def matrix_markdown(cells: Sequence[MatrixCell]) -> str:
    """A Markdown table: claim, where in the tutorial, one column per device."""
    devices = list(dict.fromkeys(c.device for c in cells))
    rows: dict[str, dict[str, MatrixCell]] = {}
    for cell in cells:
        rows.setdefault(cell.claim.id, {})[cell.device] = cell
    header = "| claim | expected | " + " | ".join(devices) + " | evidence |"
    lines = [header, "|" + " --- |" * (len(devices) + 3)]
    for claim_id, by_device in rows.items():
        first = next(iter(by_device.values()))
        verdicts = " | ".join(verdict_mark(by_device[d]) if d in by_device else "n/a"
                              for d in devices)
        evidence = first.outcome.summary.replace("|", "\\|")
        lines.append(f"| `{claim_id}` | {first.claim.expected.value} | {verdicts} | "
                     f"{evidence} |")
    return "\n".join(lines)

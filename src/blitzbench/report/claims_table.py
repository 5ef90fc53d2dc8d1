"""The claim matrix as text: claim x device -> verdict and one line of evidence."""

from __future__ import annotations

from collections.abc import Sequence

from blitzbench.results.records import ClaimCell

__all__ = ["by_claim", "matrix_lines", "matrix_markdown"]

SUMMARY_WIDTH = 90


def by_claim(cells: Sequence[ClaimCell]) -> tuple[list[str], dict[str, dict[str, ClaimCell]]]:
    """Devices in first-seen order, and claim id -> device -> cell, claims in stored order
    (in a torchrun job's folder a device is named with its rank: ``ClaimCell.site``)."""
    devices = list(dict.fromkeys(c.site for c in cells))
    rows: dict[str, dict[str, ClaimCell]] = {}
    for cell in cells:
        rows.setdefault(cell.claim, {})[cell.site] = cell
    return devices, rows


def matrix_lines(cells: Sequence[ClaimCell]) -> list[str]:
    """Plain lines, one per (claim, device), for the pytest summary; an ERROR (the judge
    broke, not a verdict) shows as ``ERROR (expected ...)`` since it never passes."""
    width = max(len(c.claim) for c in cells)
    return [f"{c.claim:<{width}}  {c.device:<7} {c.mark:<26} {c.summary[:SUMMARY_WIDTH]}"
            for c in cells]


def matrix_markdown(cells: Sequence[ClaimCell]) -> str:
    """A Markdown table: claim, expected verdict, one column per device, evidence."""
    devices, rows = by_claim(cells)
    header = "| claim | expected | " + " | ".join(devices) + " | evidence |"
    lines = [header, "|" + " --- |" * (len(devices) + 3)]
    for claim_id, by_device in rows.items():
        first = next(iter(by_device.values()))
        verdicts = " | ".join(by_device[d].mark if d in by_device else "n/a" for d in devices)
        covered = f" (covered: {first.coverage})" if first.coverage else ""
        evidence = (first.summary + covered).replace("|", "\\|")
        lines.append(f"| `{claim_id}` | {first.expected} | {verdicts} | {evidence} |")
    return "\n".join(lines)

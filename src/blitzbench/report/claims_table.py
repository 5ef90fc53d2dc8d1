"""The claim matrix as text: claim x device -> verdict and one line of evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blitzbench.claims.runner import MatrixCell

__all__ = ["StoredCell", "matrix_lines", "matrix_markdown", "stored_matrix", "verdict_mark"]

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


@dataclass(frozen=True)
class StoredCell:
    """A (claim, device) cell as results.json stores it (``MatrixCell.to_json()``)."""

    claim: str
    device: str
    verdict: str
    expected: str
    passed: bool
    summary: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredCell:
        verdict = str(data.get("verdict", "?"))
        expected = str(data.get("expected", verdict))
        passed = data.get("passed")
        return cls(str(data.get("claim") or data.get("id") or "?"), str(data.get("device", "?")),
                   verdict, expected,
                   bool(passed) if isinstance(passed, bool) else verdict in (expected, "SKIPPED"),
                   str(data.get("summary", "")))

    @property
    def mark(self) -> str:
        """Same wording as :func:`verdict_mark`."""
        return self.verdict if self.passed else f"{self.verdict} (expected {self.expected})"


def stored_matrix(entries: Sequence[Mapping[str, Any]],
                  ) -> tuple[list[str], dict[str, dict[str, StoredCell]]]:
    """Devices in first-seen order, and claim id -> device -> cell, claims in stored order:
    the layout of :func:`matrix_markdown`, for cells read back from results.json."""
    cells = [StoredCell.from_json(e) for e in entries if isinstance(e, Mapping)]
    devices = list(dict.fromkeys(c.device for c in cells))
    rows: dict[str, dict[str, StoredCell]] = {}
    for cell in cells:
        rows.setdefault(cell.claim, {})[cell.device] = cell
    return devices, rows

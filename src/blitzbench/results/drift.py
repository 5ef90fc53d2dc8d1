"""Verdicts across PyTorch releases: run folders merged into one table, release x claim
and release x tutorial block, marking where a verdict changes between consecutive releases.

A run folder holds what one release's tox environment wrote (tox.ini, ``torch29`` ...):

- ``claims.json``: ``blitzbench claims --format json`` (``{"data_source", "claims"}``);
- ``tutorial.json``: ``blitzbench tutorial --format json`` or ``--out RUN``
  (:class:`~blitzbench.results.tutorial.TutorialResults`, which names the torch and
  torchvision releases: the column's label).

Releases are ordered by torch version. A folder that is missing, lacks a file, holds
malformed JSON, or repeats a release is one :class:`~blitzbench.errors.UsageError` line.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.errors import UsageError
from blitzbench.results.checking import _object, _records
from blitzbench.results.records import ClaimCell
from blitzbench.results.tutorial import TutorialResults

__all__ = ["CLAIMS_FILE", "TUTORIAL_FILE", "DriftCell", "DriftTable", "ReleaseRun",
           "drift_table", "read_release_run"]

CLAIMS_FILE = "claims.json"
TUTORIAL_FILE = "tutorial.json"


@dataclass(frozen=True)
class ReleaseRun:
    """One release's verdicts: row name -> verdict, read from one run folder."""

    release: str  # "torch 2.9.1 / torchvision 0.24.1"
    torch: str
    verdicts: Mapping[str, str]

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", self.torch.split("+")[0])[:3])


def _load(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"run folder {path.parent} has no {path.name}: write it with the "
                         f"release's tox environment (tox -e torch29 ...)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON ({str(exc)[:80]}): run the release's "
                         f"tox environment again") from None


def _claim_rows(payload: Any, where: str) -> dict[str, str]:
    data = _object(payload, where)
    cells = _records(data, "claims", where, ClaimCell.from_json)
    if not cells:
        raise UsageError(f"{where} holds no claims: is it `blitzbench claims --format "
                         f"json` output?")
    return {f"claim {c.claim} [{c.device}]": c.verdict for c in cells}


def _tutorial_rows(results: TutorialResults) -> dict[str, str]:
    rows = {}
    for run in results.runs:
        name = Path(run.path).name
        where = "cell" if run.format == "notebook" else "line"
        if run.skipped:  # a device the release's machine did not have: said, not hidden
            rows[f"{name} (every block) [{run.device}]"] = "SKIPPED"
        for block in run.blocks:
            rows[f"{name} block {block.index} ({where} {block.line}) [{run.device}]"] = \
                block.verdict
    return rows


def read_release_run(folder: Path) -> ReleaseRun:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"run folder {folder} does not exist: give folders written by "
                         f"the release environments (reports/drift/<release>/)")
    tutorial = TutorialResults.from_json(_load(folder / TUTORIAL_FILE),
                                         str(folder / TUTORIAL_FILE))
    claims = _claim_rows(_load(folder / CLAIMS_FILE), str(folder / CLAIMS_FILE))
    return ReleaseRun(release=f"torch {tutorial.torch} / torchvision {tutorial.torchvision}",
                      torch=tutorial.torch, verdicts={**claims, **_tutorial_rows(tutorial)})


@dataclass(frozen=True)
class DriftCell:
    verdict: str
    previous: str | None  # the verdict of the release before, where it has this row

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.verdict


@dataclass(frozen=True)
class DriftTable:
    releases: tuple[str, ...]
    rows: tuple[str, ...]
    cells: Mapping[tuple[str, str], DriftCell]  # (row, release) -> cell

    def cell(self, row: str, release: str) -> DriftCell | None:
        return self.cells.get((row, release))

    @property
    def changes(self) -> list[str]:
        """"row: A -> B at release" for every change between consecutive releases."""
        return [f"{row}: {cell.previous} -> {cell.verdict} at {release}"
                for row in self.rows for release in self.releases
                if (cell := self.cell(row, release)) is not None and cell.changed]


def drift_table(runs: Sequence[ReleaseRun]) -> DriftTable:
    """Columns in release order; rows claims first, then blocks, each in first-seen order."""
    ordered = sorted(runs, key=lambda r: r.version_key)
    for before, after in itertools.pairwise(ordered):
        if before.version_key == after.version_key:
            raise UsageError(f"two run folders are for {after.release}: give one folder "
                             f"per release")
    rows = list(dict.fromkeys(k for r in ordered for k in r.verdicts))
    rows.sort(key=lambda k: not k.startswith("claim "))
    cells = {}
    for index, run in enumerate(ordered):
        previous = ordered[index - 1].verdicts if index else {}
        for row, verdict in run.verdicts.items():
            cells[(row, run.release)] = DriftCell(verdict, previous.get(row))
    return DriftTable(tuple(r.release for r in ordered), tuple(rows), cells)

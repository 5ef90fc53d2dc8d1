"""The one reader of run folders: report, acceptance, baseline, fleet and compare all load
results through :func:`read_run`.

A results folder may come from another machine, an older or newer blitzbench, or a
hand edit. Whatever is wrong with it is one line naming the file, the field and the fix:
:class:`~blitzbench.errors.UsageError` (exit 2) for a missing or malformed file,
:class:`~blitzbench.errors.ResultsFormatError` (exit 6) for a newer format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.errors import ResultsFormatError, UsageError
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import FORMAT_VERSION, OLDEST_FORMAT_VERSION, RunResults

__all__ = ["StoredRun", "read_json", "read_run", "run_folder_of"]

#: A results.json larger than this is not one blitzbench wrote (the full level with
#: every per-round time is a few MiB).
MAX_RESULTS_BYTES = 256 << 20
DAMAGED_FIX = "edited or damaged: run the command that wrote it again"


@dataclass(frozen=True)
class StoredRun:
    """A run folder and the checked records read from it."""

    folder: Path
    results: RunResults

    @property
    def name(self) -> str:
        return self.folder.name


def read_json(path: Path) -> Any:
    """Read a JSON file a user handed us; any defect is a one-line UsageError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise UsageError(f"{path}: larger than {MAX_RESULTS_BYTES >> 20} MiB: not a "
                             f"file blitzbench wrote")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None


def run_folder_of(path: Path, role: str = "run") -> Path:
    """A run folder, given the folder or its results.json; a missing one is a UsageError."""
    path = Path(path)
    folder = path.parent if path.name == RESULTS_FILE and path.is_file() else path
    if not folder.is_dir():
        raise UsageError(f"{role} folder {path} does not exist: pass a run folder "
                         f"(reports/runs/...) or a reference (reports/reference/<gpu>/...)")
    return folder


def read_run(path: Path, role: str = "run") -> StoredRun:
    """Load and check a run folder's results.json (format 1 or 2)."""
    folder = run_folder_of(path, role)
    file = folder / RESULTS_FILE
    where = f"{role} {file}" if role != "run" else str(file)
    data = read_json(file)
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object at the top")
    _check_version(data.get("format_version"), where)
    try:
        return StoredRun(folder, RunResults.from_json(data, where))
    except UsageError as exc:
        raise UsageError(f"{exc} ({DAMAGED_FIX})") from None


def _check_version(version: Any, where: str) -> None:
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{where}: missing or non-integer format_version")
    if version > FORMAT_VERSION:
        raise ResultsFormatError(
            f"{where} has format version {version}, newer than this blitzbench reads "
            f"({FORMAT_VERSION}): upgrade blitzbench")
    if version < OLDEST_FORMAT_VERSION:
        raise UsageError(f"{where}: format version {version} is not one blitzbench wrote "
                         f"(versions {OLDEST_FORMAT_VERSION}..{FORMAT_VERSION})")

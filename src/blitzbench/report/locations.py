"""Where a run's files are from the report's point of view, and how to name a path of the
measuring machine without printing it.

A report is read where it lands: in ``<reports>/runs/<id>/`` as written, in a committed
reference folder next to a renamed ``profiler/`` folder, or copied alone into a mail. So
every link is resolved against the files on disk when the report is rendered (a trace
folder that is not there gets no link, and the page says so), and every path is written
relative to the run folder, as ``~/...``, or by its last parts only: an absolute path of
the machine that measured (``/tmp/...``, ``/work/...``) means nothing to the reader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.results.names import PROFILER_FOLDER
from blitzbench.results.records import ProfileEntry

__all__ = ["COMPARISON_PAGES", "SUMMARY_FILE", "Place", "display_path", "relative_link"]

#: profiling/capture.py writes the capture's summary beside its trace under this name.
SUMMARY_FILE = "summary.json"
#: commands/compare.py names the page it writes into run B's folder so.
COMPARISON_PAGES = "compare-*.html"
#: The summary fields that identify one capture when its folder was renamed.
IDENTITY_FIELDS = ("device", "workload", "cpu_ms_per_step")
#: How many parts of a foreign absolute path are kept (``.../synthetic-cifar10``).
KEPT_PARTS = 2
PACKAGE = "blitzbench"
#: where an installed or checked-out blitzbench package lives
PACKAGE_PARENTS = frozenset({"src", "site-packages", "dist-packages"})


@dataclass(frozen=True)
class Place:
    """Where the report is written: the run folder (None: nowhere on disk, as in a test
    that builds blocks alone). Links and paths are resolved against it."""

    folder: Path | None = None

    def trace_href(self, trace_dir: str | None, entry: ProfileEntry | None = None) -> str | None:
        """The trace folder relative to the run folder, or None when it is not on disk."""
        if self.folder is None or not trace_dir:
            return None
        return _find_trace(trace_dir, entry, self.folder)

    def comparison_pages(self) -> list[str]:
        """The comparison pages beside the report (``compare-<BASELINE>.html``, written by
        ``compare --html`` or ``report --against``), by name."""
        if self.folder is None:
            return []
        return sorted(p.name for p in Path(self.folder).glob(COMPARISON_PAGES) if p.is_file())

    def show(self, path: str | None) -> str:
        """A path of the measuring machine as the reader should see it."""
        return display_path(path, self.folder or Path.cwd())


def display_path(path: str | None, run_folder: Path) -> str:
    """A path as a reader can use it: relative to the run folder when it is on this
    machine near the run, ``~/...`` under the home folder, else its last parts only."""
    if not path:
        return ""
    target = Path(path).expanduser()
    if not target.is_absolute():
        return str(path)
    home = Path.home()
    shipped = _shipped(target)
    if shipped:
        return shipped
    if target.exists() and _is_near(target, run_folder):
        return relative_link(target, run_folder)
    if target.is_relative_to(home) and home != Path("/"):
        return "~/" + str(target.relative_to(home))
    return ".../" + "/".join(target.parts[-KEPT_PARTS:])


def relative_link(target: Path, run_folder: Path) -> str:
    """``target`` relative to the run folder, with forward slashes."""
    return Path(os.path.relpath(target.resolve(), run_folder.resolve())).as_posix()


def _is_near(target: Path, run_folder: Path) -> bool:
    """Inside the reports folder that holds the run (``<reports>/runs/<id>``)."""
    return target.resolve().is_relative_to(run_folder.resolve().parent.parent)


def _shipped(target: Path) -> str:
    """A file of the blitzbench package (the default spec) by its place in the package:
    ``blitzbench/acceptance/default_spec.toml (shipped)``; "" for any other path."""
    parts = target.parts
    found = [i for i in range(1, len(parts) - 1)
             if parts[i] == PACKAGE and parts[i - 1] in PACKAGE_PARENTS]
    return "/".join(parts[found[-1]:]) + " (shipped)" if found else ""


def _find_trace(trace_dir: str, entry: ProfileEntry | None, run_folder: Path) -> str | None:
    """The recorded path under each folder above the run (``<reports>/runs/<id>`` keeps it
    two levels up), else a folder of a ``profiler/`` beside or above the run whose
    summary.json names the same capture (a kept copy, renamed)."""
    for root in _roots(run_folder):
        candidate = root / trace_dir
        if candidate.is_dir():
            return relative_link(candidate, run_folder)
    if entry is None:
        return None
    for root in _roots(run_folder):
        for folder in _summaries(root / PROFILER_FOLDER):
            if _same_capture(folder, entry):
                return relative_link(folder, run_folder)
    return None


def _roots(run_folder: Path) -> list[Path]:
    folder = run_folder.resolve()
    return [folder, folder.parent, folder.parent.parent]


def _summaries(profiler: Path) -> Iterator[Path]:
    if profiler.is_dir():
        yield from sorted(p.parent for p in profiler.rglob(SUMMARY_FILE))


def _same_capture(folder: Path, entry: ProfileEntry) -> bool:
    try:
        kept = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return False
    wanted: Mapping[str, Any] = {**entry.summary, "device": entry.device,
                                 "workload": entry.workload}
    return isinstance(kept, dict) and all(
        field in wanted and kept.get(field) == wanted[field] for field in IDENTITY_FIELDS)

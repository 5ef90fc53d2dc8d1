"""Baselines: an earlier run to test this run's figures against.

A baseline is a run folder (or its ``results.json``) written by ``blitzbench accept``, for
example a committed reference under ``reports/reference/<gpu>/``. It is read through the
one validating reader (results/reader.py), since a baseline is a file someone handed us.
A baseline recorded on other hardware or another torch is refused unless the user asks to
compare anyway.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from blitzbench.errors import UsageError
from blitzbench.results.names import BASELINES_FOLDER, RESULTS_FILE
from blitzbench.results.reader import StoredRun, read_run
from blitzbench.results.records import Environment, RunResults
from blitzbench.runs import write_json_atomic

__all__ = ["compatibility_problems", "describe", "load_baseline", "save_baseline"]


def describe(baseline: StoredRun) -> str:
    """``folder (host, GPUs, torch version)``: which run the figures were tested against."""
    env = baseline.results.environment
    gpus = ", ".join(env.gpu_names.values()) or "no GPU"
    return f"{baseline.folder} ({env.host}, {gpus}, torch {env.get('torch')})"


def load_baseline(path: Path) -> StoredRun:
    """Read and check a baseline run folder or results.json; a defect is a UsageError."""
    stored = read_run(Path(path), "baseline")
    if not stored.results.benchmarks:
        raise UsageError(f"baseline {stored.folder / RESULTS_FILE}: has no benchmark "
                         f"records: use a run of `blitzbench accept`")
    return stored


def compatibility_problems(baseline: StoredRun, environment: Environment) -> list[str]:
    """How the baseline's hardware and torch differ from this run's (empty: comparable)."""
    return environment.differences(baseline.results.environment)


def save_baseline(results: RunResults, reports: Path) -> Path:
    """Store a run's results as ``<reports>/baselines/<host>-<gpu or cpu>/results.json``."""
    env = results.environment
    hardware = next(iter(env.gpu_names.values()), "cpu")
    name = _slug(f"{env.host or socket.gethostname()}-{hardware}")
    folder = Path(reports) / BASELINES_FOLDER / name
    write_json_atomic(folder / RESULTS_FILE, results.to_json())
    return folder


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()[:80] or "baseline"

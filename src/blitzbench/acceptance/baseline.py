"""Baselines: an earlier run to compare medians with, loaded with suspicion.

A baseline is a run folder (or its ``results.json``) written by ``blitzbench accept``,
for example a committed reference under ``reports/reference/<gpu>/``. Everything read
from it is checked (types, finite numbers in range, no unknown keys in measurement
records), since a baseline is a file someone handed us. A baseline recorded on other
hardware or another torch is refused unless the user asks to compare anyway.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.errors import UsageError
from blitzbench.runs import RESULTS_FILE, load_results, write_json_atomic
from blitzbench.timing.measurement import Measurement

__all__ = ["BASELINES_FOLDER", "Baseline", "compatibility_problems", "load_baseline",
           "load_checked_run", "save_baseline"]

BASELINES_FOLDER = "baselines"
MAX_RECORDS = 100_000
MAX_SECONDS = 1e6  # a median above ~11 days is not a benchmark figure
MAX_FIGURE = 1e15  # above any rate blitzbench measures (images/s, GB/s, FLOP/s)
MAX_TEXT = 1000
#: The keys Measurement.to_json() writes; a record with others was not written by it.
RECORD_KEYS = frozenset(Measurement("x", "cpu").to_json())
PARAM_TYPES = (str, int, float, bool)
ENV_KEYS_COMPARED = ("torch", "cpu", "cpu_count")


@dataclass(frozen=True)
class Baseline:
    """A checked baseline run: where it is, its environment, its results."""

    path: Path
    results: Mapping[str, Any]

    @property
    def environment(self) -> Mapping[str, Any]:
        return self.results.get("environment") or {}

    def describe(self) -> str:
        env = self.environment
        gpus = ", ".join(str(g.get("name")) for g in env.get("gpus") or []) or "no GPU"
        return f"{self.path} ({env.get('host')}, {gpus}, torch {env.get('torch')})"


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline run folder or results.json; a defect is a UsageError."""
    folder, results = load_checked_run(path, "baseline")
    return Baseline(folder, results)


def load_checked_run(path: Path, role: str) -> tuple[Path, dict[str, Any]]:
    """A run folder (or its results.json) whose environment and measurement records have
    been checked; returns the folder and ``{"environment", "benchmarks", "claims"}``."""
    path = Path(path)
    folder = path.parent if path.is_file() and path.name == RESULTS_FILE else path
    if not folder.is_dir():
        raise UsageError(f"{role} {path} does not exist: pass a run folder (reports/runs/"
                         f"...) or a reference (reports/reference/<gpu>/...)")
    results = load_results(folder)
    where = f"{role} {folder / RESULTS_FILE}"
    env = results.get("environment")
    if not isinstance(env, dict):
        raise UsageError(f"{where}: missing or malformed 'environment' object")
    _check_environment(env, where)
    records = results.get("benchmarks")
    if not isinstance(records, list) or not records:
        raise UsageError(f"{where}: has no benchmark records: use a run of "
                         f"`blitzbench accept`")
    if len(records) > MAX_RECORDS:
        raise UsageError(f"{where}: {len(records)} benchmark records, more than "
                         f"{MAX_RECORDS}")
    for index, record in enumerate(records):
        _check_record(record, f"{where}: benchmarks[{index}]")
    claims = results.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
        raise UsageError(f"{where}: claims must be a list of objects")
    return folder, {"environment": env, "benchmarks": records, "claims": claims}


def compatibility_problems(baseline: Baseline, environment: Mapping[str, Any]) -> list[str]:
    """How the baseline's hardware and torch differ from this run's (empty: comparable)."""
    old = baseline.environment
    problems = [f"{key} {old.get(key)!r} there, {environment.get(key)!r} here"
                for key in ENV_KEYS_COMPARED if old.get(key) != environment.get(key)]
    old_gpus = [g.get("name") for g in old.get("gpus") or []]
    new_gpus = [g.get("name") for g in environment.get("gpus") or []]
    if old_gpus != new_gpus:
        problems.append(f"GPUs {old_gpus or 'none'} there, {new_gpus or 'none'} here")
    return problems


def save_baseline(results: Mapping[str, Any], reports: Path) -> Path:
    """Store a run's results as ``<reports>/baselines/<host>-<gpu or cpu>/results.json``."""
    env = results.get("environment") or {}
    gpus = env.get("gpus") or []
    hardware = str(gpus[0].get("name")) if gpus else "cpu"
    name = _slug(f"{env.get('host') or socket.gethostname()}-{hardware}")
    folder = Path(reports) / BASELINES_FOLDER / name
    write_json_atomic(folder / RESULTS_FILE, dict(results))
    return folder


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()[:80] or "baseline"


def _check_environment(env: Mapping[str, Any], where: str) -> None:
    for key in (*ENV_KEYS_COMPARED, "host"):
        value = env.get(key)
        if (value is not None and not isinstance(value, (str, int))) or isinstance(value, bool):
            raise UsageError(f"{where}: environment.{key} must be a string or integer")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise UsageError(f"{where}: environment.{key} is too long")
    gpus = env.get("gpus", [])
    if not isinstance(gpus, list) or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) for g in gpus):
        raise UsageError(f"{where}: environment.gpus must be a list of objects with a name")


def _check_record(record: Any, where: str) -> None:
    if not isinstance(record, dict):
        raise UsageError(f"{where}: expected an object, got {type(record).__name__}")
    unknown = sorted(set(record) - RECORD_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0][:40]!r}; a measurement record "
                         f"has {', '.join(sorted(RECORD_KEYS))}")
    for key in ("benchmark", "device"):
        if not isinstance(record.get(key), str) or not record[key] or \
                len(record[key]) > MAX_TEXT:
            raise UsageError(f"{where}: {key} must be a non-empty string")
    params = record.get("params", {})
    if not isinstance(params, dict) or not all(
            isinstance(v, PARAM_TYPES) and _finite_ok(v) for v in params.values()):
        raise UsageError(f"{where}: params must map names to strings or finite numbers")
    error = record.get("error")
    if error is not None and not isinstance(error, str):
        raise UsageError(f"{where}: error must be a string or null")
    if error is None:
        _check_number(record.get("median_s"), f"{where}: median_s", MAX_SECONDS, positive=True)
    for key in ("iqr_s", "wall_s"):
        if record.get(key) is not None:
            _check_number(record.get(key), f"{where}: {key}", MAX_SECONDS)
    if not isinstance(record.get("noisy", False), bool):
        raise UsageError(f"{where}: noisy must be true or false")
    extra = record.get("extra", {})
    if not isinstance(extra, dict):
        raise UsageError(f"{where}: extra must be an object")
    for key, value in extra.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_number(value, f"{where}: extra.{key[:40]}", MAX_FIGURE)


def _check_number(value: Any, where: str, limit: float, *, positive: bool = False) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise UsageError(f"{where} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or abs(value) > limit or value < 0 or \
            (positive and value == 0):
        raise UsageError(f"{where} = {value!r:.40} is out of range (0 "
                         f"{'<' if positive else '<='} value <= {limit:g})")


def _finite_ok(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_FIGURE
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= MAX_FIGURE
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    return True

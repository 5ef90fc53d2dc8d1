"""The import graph: records at the bottom, commands at the top, and the light paths of
the command line free of torch.

The arrows are read from the source (every ``import``, at module level or inside a
function), so a lazy import cannot hide one; torch's absence is checked in a fresh
interpreter, the way a user starts the command."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "blitzbench"
BOTTOM = {"errors", "results", "__init__"}
#: Which part of blitzbench each part may import (besides itself and BOTTOM).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "results": set(),
    "seeding": set(),
    "environment": set(),
    "options": set(),
    "devices": set(),
    # text wrapped whole for a terminal width (the verdict table and every other table)
    "textwidth": set(),
    # sensing the machine (load, busy processes, NVML): psutil and pynvml, never torch
    "machine": set(),
    "runs": {"environment"},
    "timing": {"devices"},
    "workloads": {"devices", "seeding", "timing", "runs"},
    "distributed": {"devices", "seeding", "timing", "workloads", "runs"},
    "claims": {"devices", "seeding", "workloads", "distributed"},
    "profiling": {"devices", "seeding", "runs", "workloads", "timing", "distributed"},
    "report": {"runs", "textwidth"},
    "tutorial": {"devices", "seeding", "workloads", "runs"},
    # the judge: spec, rules, metrics, baseline, fleet, verdict; reads records, runs nothing
    "acceptance": {"runs", "textwidth"},
    # how every run starts, steps and ends (accept, claims, profile, ab, torchrun ranks)
    "runner": {"devices", "environment", "options", "seeding", "runs", "timing", "workloads",
               "claims", "profiling", "distributed", "tutorial", "acceptance", "machine"},
}
TOP = {"commands", "cli", "__main__", "pytest_plugin", "benchmark_plugin", "benchmark_ab",
       "benchmark_compare", "benchmark_counts", "tutorial_plugin"}
HEAVY = ("torch", "torchvision")


def _part(path: Path) -> str:
    """``results`` for src/blitzbench/results/records.py, ``cli`` for cli.py."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "blitzbench":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def import_graph() -> dict[str, set[str]]:
    """part -> the parts it imports, over every module of the package."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        part = _part(path)
        graph.setdefault(part, set()).update(_imported_parts(path) - {part})
    return graph


def test_every_part_is_placed_in_the_layering():
    assert set(import_graph()) <= set(ALLOWED) | TOP | BOTTOM


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_arrows_point_down(part):
    wrong = import_graph().get(part, set()) - ALLOWED[part] - BOTTOM
    assert not wrong, f"{part} imports {sorted(wrong)}"


def test_the_results_model_imports_nothing_of_blitzbench_but_errors():
    assert import_graph()["results"] <= {"errors"}


def _modules_after(code: str) -> list[str]:
    """Top-level modules loaded by ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in " \
            f"sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=False)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_loads_no_torch():
    loaded = _modules_after("from blitzbench.cli import build_parser\nbuild_parser()")
    assert not set(HEAVY) & set(loaded)


def test_report_fleet_and_compare_load_no_torch(tmp_path):
    reference = Path(__file__).parents[1] / "reports" / "reference" / "h200" / "accept-quick"
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_bytes((reference / "results.json").read_bytes())
    code = ("from blitzbench.cli import main\n"
            f"assert main(['report', {str(run)!r}]) == 0\n"
            f"main(['fleet', {str(run)!r}, {str(reference)!r}])\n"
            f"main(['compare', {str(reference)!r}, {str(run)!r}])")
    loaded = _modules_after(code)
    assert "matplotlib" in loaded, "the report drew its plots"
    assert not set(HEAVY) & set(loaded)


def test_the_judge_loads_no_torch():
    """acceptance/ judges records (spec, rules, metrics, baseline, fleet, JUnit); running
    is runner/'s: importing every judging module must load neither torch nor torchvision."""
    modules = sorted(p.stem for p in (PACKAGE / "acceptance").glob("*.py"))
    code = "\n".join(f"import blitzbench.acceptance.{m}" for m in modules)
    assert not set(HEAVY) & set(_modules_after(code))

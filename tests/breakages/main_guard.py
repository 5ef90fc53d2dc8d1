"""Breakages for the ``data.main_guard`` claim (what the ``__main__`` guard does for a
loader's workers).

None of them is seen by the tutorial's own example, a guarded script under this Python's
default start method (fork on Linux before 3.14): each is wrong only under the other start
methods or in the unguarded script. The claim's scripts run in fresh interpreters, so the
first two name their patch in ``BLITZBENCH_SCRIPT_BREAKAGE`` and put ``in_scripts/`` on
``PYTHONPATH``, where its ``sitecustomize`` applies the patch as each interpreter starts
(as breakages/ddp.py does for the ranks). The third breaks the judge in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from breakages.in_scripts.sitecustomize import PATCHES, SCRIPT_BREAKAGE_ENV
from breakages.model import Breakage

SITE_DIR = Path(__file__).resolve().parent / "in_scripts"
CLAIM = frozenset({"data.main_guard"})


def _in_every_script(name: str) -> Callable[[], None]:
    """The breakage's ``apply``: export the patch's name and the site folder, so every
    interpreter the checks start from here on applies it."""
    assert name in PATCHES, name

    def apply() -> None:
        os.environ[SCRIPT_BREAKAGE_ENV] = name
        paths = [str(SITE_DIR), os.environ.get("PYTHONPATH", "")]
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return apply


def _judge_skips_spawn() -> None:
    """The judge never runs the scripts under spawn (the start method of Windows and
    macOS): fork and forkserver alone still show the guard needed somewhere."""
    from blitzbench.claims import data_guard

    original = data_guard.run_plans
    data_guard.run_plans = lambda methods: [p for p in original(methods)
                                            if p.method != "spawn"]


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("data_guard_loader_ignores_context",
             "DataLoader ignores multiprocessing_context: workers always start by fork",
             CLAIM, _in_every_script("data_guard_loader_ignores_context"), True),
    Breakage("data_guard_datasets_unpicklable",
             "data sets cannot be pickled: a spawned or fork-served worker cannot start",
             CLAIM, _in_every_script("data_guard_datasets_unpicklable"), True),
    Breakage("data_guard_judge_skips_spawn", "the main_guard judge never tries spawn",
             CLAIM, _judge_skips_spawn, True),
)

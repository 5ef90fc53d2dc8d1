"""Run ``pytest checks`` on the CPU once per breakage (or none), each in a child forked
from this one.

Usage: python run_broken.py OUT_DIR NAME|none [NAME|none ...]
writes OUT_DIR/NAME.xml (JUnit) and OUT_DIR/NAME.log (the run's output) for each name.

This interpreter imports torch and pytest once (3-8 s on the 2-core VM) and forks a child
per name, which applies its breakage before pytest starts, so every check (and every
DataLoader worker forked from it) sees the broken behaviour. Nothing here has run a torch
op, so the fork copies no OpenMP thread pool (the reason fork_judge.py forks from a fork
server). Each child is a whole ``pytest checks`` run of its own, PARALLEL at a time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Python puts this script's folder first on sys.path, where breakages/cuda.py would shadow
# the `cuda` package torch imports: put tests/ there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
#: Claims judged in fresh interpreters (the ddp claim's ranks, the main_guard claim's
#: scripts), each with the ``-k`` word that selects it.
FRESH_INTERPRETER_CLAIMS = {"ddp.replicas_identical": "ddp", "data.main_guard": "main_guard"}
#: Runs at a time. A run of the ddp or main_guard claim alone spends about half its time
#: waiting on the interpreters it starts (10 s wall for 6 s of CPU, 17 s for 15 s here,
#: 2026-12-06): two at once keep both cores busy.
PARALLEL = 2


def selection(name: str) -> list[str]:
    """The ``-k`` a breakage's run needs, after applying it.

    A breakage aimed at other claims cannot turn the fresh-interpreter claims red (a patch
    made here does not reach their interpreters; one exported to them patches only what
    its own claim uses): their jobs (tens of seconds) are skipped, not their proof. A
    breakage aimed only at them is judged on them alone: its run would judge the other
    claims in this process, with nothing of it applied but environment variables, which
    fork_judge.py's children judge too (tests/test_selftest.py, "together").
    """
    if name == "none":
        return []
    from breakages import BY_NAME

    breakage = BY_NAME[name]
    breakage.apply()
    if breakage.breaks <= FRESH_INTERPRETER_CLAIMS.keys():
        return ["-k", " or ".join(FRESH_INTERPRETER_CLAIMS[c] for c in sorted(breakage.breaks))]
    skipped = [word for claim, word in FRESH_INTERPRETER_CLAIMS.items()
               if claim not in breakage.breaks]
    return ["-k", " and ".join(f"not {word}" for word in skipped)] if skipped else []


def run_one(name: str, out_dir: Path) -> int:
    """In the child: output to NAME.log, apply the breakage, run ``pytest checks``."""
    log = os.open(out_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    import pytest

    return pytest.main(["checks", "--device", "cpu", "-q", "-p", "no:cacheprovider",
                        "-p", "no:randomly", f"--junitxml={out_dir / f'{name}.xml'}",
                        *selection(name)])


def start(name: str, out_dir: Path) -> int:
    """Fork the child that runs ``name``; its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = run_one(name, out_dir)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
    return pid


def main() -> int:
    out_dir, names = Path(sys.argv[1]), sys.argv[2:]
    # imported once, here, for every child: torch, the breakages, pytest and the plugin
    import pytest  # noqa: F401
    import torch  # noqa: F401

    import blitzbench.pytest_plugin  # noqa: F401
    import breakages  # noqa: F401

    worst, running = 0, set()
    for name in names:
        if len(running) == PARALLEL:
            pid, status = os.wait()
            running.discard(pid)
            worst = max(worst, os.waitstatus_to_exitcode(status))
        running.add(start(name, out_dir))
    for pid in running:
        worst = max(worst, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    return worst


if __name__ == "__main__":
    sys.exit(main())

"""Run ``pytest checks`` on the CPU with one breakage applied (or none).

Usage: python run_broken.py NAME|none JUNIT_XML [extra pytest args]
The patch is applied in this process before pytest starts, so every check (and every
DataLoader worker forked from it) sees the broken behaviour.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's folder first on sys.path, where breakages/cuda.py would shadow
# the `cuda` package torch imports: put tests/ there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
#: Claims judged in fresh interpreters (the ddp claim's ranks, the main_guard claim's
#: scripts), each with the ``-k`` word that deselects it.
FRESH_INTERPRETER_CLAIMS = {"ddp.replicas_identical": "ddp", "data.main_guard": "main_guard"}


def main() -> int:
    name, junit, *extra = sys.argv[1:]
    if name != "none":
        from breakages import BY_NAME

        breakage = BY_NAME[name]
        breakage.apply()
        # a breakage aimed at other claims cannot turn these red (a patch made here does
        # not reach their interpreters; one exported to them patches only what its own
        # claim uses): skip their jobs (tens of seconds each), not their proof
        skipped = [word for claim, word in FRESH_INTERPRETER_CLAIMS.items()
                   if claim not in breakage.breaks]
        if skipped:
            extra = ["-k", " and ".join(f"not {word}" for word in skipped), *extra]
    import pytest

    return pytest.main(["checks", "--device", "cpu", "-q", "-p", "no:cacheprovider",
                        "-p", "no:randomly", f"--junitxml={junit}", *extra])


if __name__ == "__main__":
    sys.exit(main())

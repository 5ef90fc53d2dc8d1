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
#: Breakages applied inside the ddp claim's ranks (breakages/ddp.py) start with this.
RANK_BREAKAGE_PREFIX = "ddp_"


def main() -> int:
    name, junit, *extra = sys.argv[1:]
    if name != "none":
        from breakages import BY_NAME

        BY_NAME[name].apply()
        if not name.startswith(RANK_BREAKAGE_PREFIX):
            # a patch in this process cannot reach the ddp claim's ranks (a fresh
            # interpreter's), so that claim cannot turn red here: skip its job, not its proof
            extra = ["-k", "not ddp", *extra]
    import pytest

    return pytest.main(["checks", "--device", "cpu", "-q", "-p", "no:cacheprovider",
                        "-p", "no:randomly", f"--junitxml={junit}", *extra])


if __name__ == "__main__":
    sys.exit(main())

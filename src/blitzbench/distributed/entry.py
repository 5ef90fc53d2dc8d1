"""The worker :func:`blitzbench.distributed.local.run_local` starts on each rank.

``python -m blitzbench.distributed.entry MODULE:FUNCTION OUTDIR [ARGS...]``: join the
process group, call ``FUNCTION(world, *ARGS)``, write its JSON-able result to
``OUTDIR/rank-<rank>.json`` (written whole, then renamed: never half a file), leave.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from blitzbench.distributed.local import rank_file
from blitzbench.distributed.world import close_world, open_world, world_from_env


def main(argv: list[str]) -> int:
    target, outdir, *args = argv
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    world = world_from_env()
    open_world(world)
    try:
        result = function(world, *args)
    finally:
        close_world()
    path = rank_file(Path(outdir), world.rank)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result))
    os.replace(partial, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

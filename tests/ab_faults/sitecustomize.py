"""Faults planted in one side of ``blitzbench ab``, for tests/test_ab.py. Python imports
``sitecustomize`` from its path as an interpreter starts; this folder is on the side's
PYTHONPATH only in those tests (``"PYTHONPATH=tests/ab_faults AB_FAULT=... python"``).

``AB_FAULT`` holds ``;``-separated faults, each ``KIND:REGEX`` over case keys
(``tensor_ops.add_out[scale=tutorial,size=5x3]@cpu``):
- ``drop``: the side has no such case (its catalog leaves it out);
- ``crash``: the worker process dies (exit 3) when asked to prepare it;
- ``hang``: the worker sleeps for an hour when asked to prepare it.
"""

from __future__ import annotations

import os
import re
import time

FAULTS = [tuple(item.split(":", 1)) for item in os.environ.get("AB_FAULT", "").split(";")
          if ":" in item]


def _matching(kind: str, key: str) -> bool:
    return any(k == kind and re.search(pattern, key) for k, pattern in FAULTS)


def _plant() -> None:
    from blitzbench.results.names import metric_prefix
    from blitzbench.runner import ab_worker
    from blitzbench.workloads import catalog

    original_cases, original_prepare = catalog.cases, ab_worker.Worker.prepare

    def cases(*args, **kwargs):
        return [c for c in original_cases(*args, **kwargs)
                if not _matching("drop", f"{metric_prefix(c.benchmark, c.params)}@{c.device}")]

    def prepare(self, request):
        if _matching("crash", request["key"]):
            os._exit(3)
        if _matching("hang", request["key"]):
            time.sleep(3600)
        return original_prepare(self, request)

    catalog.cases = cases
    ab_worker.Worker.prepare = prepare


if FAULTS:
    _plant()

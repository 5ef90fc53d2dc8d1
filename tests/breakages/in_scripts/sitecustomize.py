"""Applies the script breakage that breakages/main_guard.py exported, as this interpreter
starts (Python imports ``sitecustomize`` from its path at start-up): the data.main_guard
claim runs its loader script in fresh interpreters, which a patch in the pytest process
cannot reach. This folder is on ``PYTHONPATH`` only while such a breakage is applied.

The patches live here, not in breakages/main_guard.py, so that each interpreter (the
script, a spawned worker) imports only torch, not every breakage module and torchvision.
"""

from __future__ import annotations

import os

SCRIPT_BREAKAGE_ENV = "BLITZBENCH_SCRIPT_BREAKAGE"


def _loader_ignores_context() -> None:
    """DataLoader drops its multiprocessing_context: workers start by the default method
    whatever the script asks for."""
    from torch.utils.data import DataLoader

    original = DataLoader.__init__

    def init(self, *args, multiprocessing_context=None, **kwargs):
        original(self, *args, **kwargs)

    DataLoader.__init__ = init


def _datasets_unpicklable() -> None:
    """Data sets refuse to be pickled (as one holding an open file or a lambda does): a
    worker started by fork needs no pickling, one started by spawn or forkserver gets its
    data set pickled and cannot start."""
    from torch.utils.data import Dataset

    def refuse(self, protocol):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    Dataset.__reduce_ex__ = refuse


PATCHES = {
    "data_guard_loader_ignores_context": _loader_ignores_context,
    "data_guard_datasets_unpicklable": _datasets_unpicklable,
}

if os.environ.get(SCRIPT_BREAKAGE_ENV) in PATCHES:
    PATCHES[os.environ[SCRIPT_BREAKAGE_ENV]]()

"""Breakages for the 'ddp' claims.

The claim is judged in torchrun's rank processes, which a patch made in the pytest process
cannot reach (torchrun starts them afresh, it does not fork). A breakage here therefore
names its patch in ``BLITZBENCH_RANK_BREAKAGE`` and puts ``in_ranks/`` on ``PYTHONPATH``:
the ``sitecustomize`` there applies the patch when each of the job's interpreters starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from breakages.model import Breakage

RANK_BREAKAGE_ENV = "BLITZBENCH_RANK_BREAKAGE"
SITE_DIR = Path(__file__).resolve().parent / "in_ranks"
TESTS_DIR = SITE_DIR.parent.parent


def _forward_without_sync() -> None:
    """Every DDP forward runs as inside ``no_sync()``: backward keeps each rank's own
    gradient, no all-reduce."""
    original = DistributedDataParallel.forward

    def forward(self, *inputs, **kwargs):
        with self.no_sync():
            return original(self, *inputs, **kwargs)

    DistributedDataParallel.forward = forward


def _all_reduce_sum(_state, bucket):
    """A DDP communication hook: the bucket's gradients summed over the ranks. Left
    unannotated: DDP checks a hook's annotations and rejects the strings that
    ``from __future__ import annotations`` makes of them."""
    work = dist.all_reduce(bucket.buffer(), async_op=True)
    return work.get_future().then(lambda future: future.value()[0])


def _gradients_summed() -> None:
    """Every DDP model gets a communication hook that sums the ranks' gradients and does
    not divide by the world size: the replicas stay equal, the gradient is not the mean."""
    original = DistributedDataParallel.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register_comm_hook(None, _all_reduce_sum)

    DistributedDataParallel.__init__ = init


#: Applied in each rank by in_ranks/sitecustomize.py.
RANK_PATCHES: dict[str, Callable[[], None]] = {
    "ddp_forward_without_sync": _forward_without_sync,
    "ddp_gradients_summed": _gradients_summed,
}


def apply_exported_patch() -> None:
    """In a rank: apply the patch the pytest process exported."""
    RANK_PATCHES[os.environ[RANK_BREAKAGE_ENV]]()


def _in_every_rank(name: str) -> Callable[[], None]:
    """The breakage's ``apply``: export the patch's name and the site folder, so every
    process the checks start from here on applies it."""
    def apply() -> None:
        os.environ[RANK_BREAKAGE_ENV] = name
        paths = [str(SITE_DIR), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return apply


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("ddp_forward_without_sync",
             "DistributedDataParallel never all-reduces (every step as under no_sync)",
             frozenset({"ddp.replicas_identical"}), _in_every_rank("ddp_forward_without_sync")),
    Breakage("ddp_gradients_summed",
             "DistributedDataParallel sums the ranks' gradients instead of averaging them",
             frozenset({"ddp.replicas_identical"}), _in_every_rank("ddp_gradients_summed")),
)

"""Breakages for the 'ddp' claims.

The claim is judged in rank processes that a patch made in the pytest process cannot
reach: on the CPU they are forked from a fork server, a fresh interpreter (on GPUs torchrun
starts them afresh). A breakage here therefore names its patch in
``BLITZBENCH_RANK_BREAKAGE`` and puts ``in_ranks/`` on ``PYTHONPATH``: the ``sitecustomize``
there applies the patch when an interpreter starts, the fork server's (whose ranks inherit
it) or each of torchrun's. The pytest plugin starts the server after collection, so after
run_broken.py has exported the breakage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

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


# --- beyond the step the tutorial shows (one step; replicas compared once) ---------------


def _synced_first_step_only() -> None:
    """DDP all-reduces the first backward only; later steps keep each rank's own gradient
    (as under ``no_sync``). One step looks right: the replicas part from step 2."""
    original = DistributedDataParallel.forward

    def forward(self, *inputs, **kwargs):
        steps = getattr(self, "_steps_seen", 0)
        self._steps_seen = steps + 1
        if steps == 0:
            return original(self, *inputs, **kwargs)
        with self.no_sync():
            return original(self, *inputs, **kwargs)

    DistributedDataParallel.forward = forward


def _sampler_same_shard() -> None:
    """DistributedSampler hands every rank rank 0's share: the ranks train on the same
    images, so their replicas agree without DDP averaging anything different. Equal
    replicas alone cannot show it; the claim's different-batches condition does."""
    original = DistributedSampler.__iter__

    def iterate(self):
        rank, self.rank = self.rank, 0
        try:
            return original(self)
        finally:
            self.rank = rank

    DistributedSampler.__iter__ = iterate


#: Applied in each rank by in_ranks/sitecustomize.py.
RANK_PATCHES: dict[str, Callable[[], None]] = {
    "ddp_forward_without_sync": _forward_without_sync,
    "ddp_gradients_summed": _gradients_summed,
    "ddp_synced_first_step_only": _synced_first_step_only,
    "ddp_sampler_same_shard": _sampler_same_shard,
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
    Breakage("ddp_synced_first_step_only",
             "DistributedDataParallel all-reduces the first step's gradients only",
             frozenset({"ddp.replicas_identical"}),
             _in_every_rank("ddp_synced_first_step_only"), True),
    Breakage("ddp_sampler_same_shard",
             "DistributedSampler gives every rank rank 0's share of the data",
             frozenset({"ddp.replicas_identical"}), _in_every_rank("ddp_sampler_same_shard"),
             True),
)

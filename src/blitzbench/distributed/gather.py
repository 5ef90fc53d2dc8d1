"""Moving Python records between the ranks of a job: torch.distributed's object
collectives (``all_gather_object``, ``gather_object``) on a gloo group.

Why gloo even when the job measures with NCCL: an object collective pickles the object
into a byte tensor and moves it with the group's backend; on NCCL that tensor must live on
the rank's GPU (torch copies it there and back), the pickles of a whole run's records
would occupy GPU memory beside the measurement, and an NCCL collective cannot time out on
the host side as gloo does. A gloo group of the same ranks costs a few sockets.
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch.distributed as dist

from blitzbench.distributed.world import World

__all__ = ["all_gather", "barrier", "gather_to_leader", "object_group"]

T = TypeVar("T")


def object_group(world: World) -> Any:
    """The group object collectives run on: the default group under gloo, else a new
    gloo group of every rank (a collective call: every rank makes it, in the same order)."""
    return None if world.backend == "gloo" else dist.new_group(backend="gloo")


def all_gather(obj: T, group: Any = None) -> list[T]:
    """Every rank's ``obj``, in rank order, on every rank."""
    gathered: list[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(gathered, obj, group=group)
    return gathered


def gather_to_leader(obj: T, world: World, group: Any = None) -> list[T] | None:
    """Every rank's ``obj``, in rank order, on rank 0; None on the other ranks."""
    gathered: list[Any] | None = [None] * world.world_size if world.leader else None
    dist.gather_object(obj, gathered, dst=0, group=group)
    return gathered


def barrier(group: Any = None) -> None:
    dist.barrier(group=group)

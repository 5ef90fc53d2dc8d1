"""Who this process is in a torchrun job, and the process group it joins.

torchrun (``torch.distributed.run``) exports ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``GROUP_RANK`` (the node's rank) and ``MASTER_ADDR``/``MASTER_PORT``
to every worker (torch.distributed.elastic docs, "Environment variables"). Each rank takes
``cuda:LOCAL_RANK`` with NCCL where the node has GPUs, else the CPU with gloo. Outside
torchrun none of this is set and :func:`launched` is False: every command then runs as one
process, as before.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from blitzbench.errors import DeviceError

__all__ = ["DEFAULT_TIMEOUT_S", "ENV_KEYS", "World", "close_world", "launched", "open_world",
           "world_from_env"]

#: The process-group timeout: a collective that waits longer on a dead rank raises.
#: torch's own default is 30 min for gloo (10 min for NCCL); a rank that died must end the
#: job within a minute, not half an hour.
DEFAULT_TIMEOUT_S = 60
ENV_KEYS = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


@dataclass(frozen=True)
class World:
    """This rank's place in the job; ``device`` is a label (``cpu``, ``cuda:1``)."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    node_rank: int
    host: str
    device: str
    backend: str

    @property
    def leader(self) -> bool:
        """Rank 0 gathers every rank's records and writes the run folder."""
        return self.rank == 0

    def to_json(self) -> dict[str, object]:
        return {"rank": self.rank, "local_rank": self.local_rank,
                "world_size": self.world_size, "local_world_size": self.local_world_size,
                "node_rank": self.node_rank, "host": self.host, "device": self.device,
                "backend": self.backend}


def launched(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a torchrun worker (all of RANK, LOCAL_RANK and WORLD_SIZE set)."""
    environ = os.environ if environ is None else environ
    return all(key in environ for key in ENV_KEYS)


def world_from_env(environ: Mapping[str, str] | None = None, *,
                   gpu_count: int | None = None) -> World:
    """Read torchrun's variables; pick the device and backend for this rank.

    ``gpu_count`` is the number of CUDA devices this node has (asked of torch when None).
    More ranks on a node than it has GPUs is a :class:`DeviceError` naming both numbers.
    """
    environ = os.environ if environ is None else environ
    rank, local_rank, world_size = (_int(environ, key) for key in ENV_KEYS)
    local_world_size = _int(environ, "LOCAL_WORLD_SIZE", default=world_size)
    if gpu_count is None:
        gpu_count = _gpu_count()
    if gpu_count > 0 and local_world_size > gpu_count:
        raise DeviceError(f"--nproc-per-node={local_world_size} but this node has "
                          f"{gpu_count} GPU(s): start at most {gpu_count} ranks per node")
    device, backend = (f"cuda:{local_rank}", "nccl") if gpu_count > 0 else ("cpu", "gloo")
    return World(rank, local_rank, world_size, local_world_size,
                 _int(environ, "GROUP_RANK", default=0), socket.gethostname(), device, backend)


def open_world(world: World, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Join the process group (env:// rendezvous, as torchrun set it up)."""
    import torch
    import torch.distributed as dist

    if world.device.startswith("cuda"):
        torch.cuda.set_device(torch.device(world.device))
    dist.init_process_group(world.backend, rank=world.rank, world_size=world.world_size,
                            timeout=timedelta(seconds=timeout_s))


def close_world() -> None:
    """Leave the process group if one is open (safe to call twice)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _int(environ: Mapping[str, str], key: str, default: int | None = None) -> int:
    text = environ.get(key)
    if text is None:
        if default is None:
            raise DeviceError(f"torchrun variable {key} is not set: launch with torchrun")
        return default
    try:
        return int(text)
    except ValueError:
        raise DeviceError(f"torchrun variable {key}={text!r} is not a number") from None


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0

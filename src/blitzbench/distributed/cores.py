"""CPU cores for the ranks that share a host, so that they do not measure each other.

Several ranks on one host share its cores: each with torch's default intra-op thread
count (every core) would oversubscribe the host and time the contention. Each rank gets an
equal, disjoint slice of the cores the host lets it use, in rank order among the ranks on
that host (not LOCAL_RANK: two torchrun agents on one host, as in the two-"node" test on
one machine, each count local ranks from 0), and as many torch threads as cores in its
slice. More ranks than cores: one core each, shared round-robin. The slices are a pure
function of what every rank reported, so rank 0 knows every rank's cores without asking.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

__all__ = ["available_cores", "pin", "quietest_cores", "share_cores"]


def available_cores() -> tuple[int, ...]:
    """The cores this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def share_cores(hosts: Mapping[int, str], cores: Mapping[int, Sequence[int]]
                ) -> dict[int, tuple[int, ...]]:
    """rank -> its slice of its host's cores, given every rank's host and usable cores."""
    shares: dict[int, tuple[int, ...]] = {}
    for host in dict.fromkeys(hosts.values()):
        ranks = sorted(r for r, h in hosts.items() if h == host)
        for index, rank in enumerate(ranks):
            usable = tuple(cores[rank]) or (0,)
            size = max(1, len(usable) // len(ranks))
            start = (index * size) % len(usable)
            shares[rank] = usable[start:start + size]
    return shares


def pin(cores: Sequence[int]) -> int:
    """Run this process (and the DataLoader workers it starts) on ``cores``, with as many
    torch intra-op threads; returns the thread count."""
    import torch

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    torch.set_num_threads(len(cores))
    return len(cores)


#: How long the cores' idle time is watched to pick the quietest (a neighbour's load on
#: a shared VM moves on a scale of seconds; a quarter second finds the busy core).
QUIET_WINDOW_S = 0.25


def quietest_cores(count: int, window_s: float = QUIET_WINDOW_S) -> tuple[int, ...]:
    """The ``count`` usable cores that were idle longest over ``window_s`` (by
    /proc/stat's per-core idle and iowait ticks; the lowest numbered without /proc)."""
    import time

    usable = available_cores()
    before = _idle_ticks()
    if before:
        time.sleep(window_s)
    after = _idle_ticks()
    idle = {core: after.get(core, 0) - before.get(core, 0) for core in usable}
    ranked = sorted(usable, key=lambda core: (-idle[core], core))
    return tuple(sorted(ranked[:max(1, min(count, len(usable)))]))


def _idle_ticks() -> dict[int, int]:
    """Core -> idle + iowait ticks so far ({} where /proc/stat cannot be read)."""
    try:
        with open("/proc/stat") as stat:
            lines = [line.split() for line in stat if line.startswith("cpu")]
    except OSError:
        return {}
    return {int(fields[0][3:]): int(fields[4]) + int(fields[5])
            for fields in lines if fields[0] != "cpu" and len(fields) > 5}

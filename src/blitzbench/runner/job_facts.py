"""What the ranks of a torchrun job tell each other at start (who and where they are,
on what hardware, with which versions), and the one lines the job prints about them: a
version mismatch naming both versions and their ranks, and a failure naming the dead rank.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from blitzbench.distributed.cores import available_cores
from blitzbench.distributed.world import World
from blitzbench.results.job import Placement, RankEntry
from blitzbench.results.records import Environment

__all__ = [
    "VERSION_KEYS",
    "RankFacts",
    "describe_failure",
    "first_sentence",
    "mismatched_versions",
    "own_facts",
]

#: What must agree on every rank: figures from different torch builds, blitzbench
#: versions or Pythons are not one job's figures.
VERSION_KEYS = ("torch", "blitzbench", "python")


@dataclass(frozen=True)
class RankFacts:
    """What every rank tells the others at start."""

    placement: Placement
    device: str
    hardware: str
    gpu_names: Mapping[str, str]
    cores: tuple[int, ...]
    versions: Mapping[str, str]


def own_facts(world: World, environment: Environment) -> RankFacts:
    """This rank's facts (``environment`` is its fingerprint: it names the hardware)."""
    from blitzbench import __version__

    versions = {"torch": torch.__version__, "blitzbench": __version__,
                "python": sys.version.split()[0]}
    placement = Placement(world.host, world.rank, world.local_rank, world.node_rank)
    return RankFacts(placement, world.device, environment.hardware(world.device),
                     environment.gpu_names, available_cores(), versions)


def mismatched_versions(facts: Sequence[RankFacts]) -> str:
    """One line naming the first version the ranks disagree on, each value with its
    ranks and hosts; "" when they all agree."""
    for key in VERSION_KEYS:
        ranks: dict[str, list[RankFacts]] = {}
        for fact in facts:
            ranks.setdefault(str(fact.versions.get(key)), []).append(fact)
        if len(ranks) > 1:
            found = "; ".join(f"{key} {version} on {_ranks_text(group)}"
                              for version, group in ranks.items())
            return (f"the ranks of this job run different versions ({found}): install "
                    f"the same torch, blitzbench and Python on every node")
    return ""


def _ranks_text(facts: Sequence[RankFacts]) -> str:
    hosts = ", ".join(dict.fromkeys(f.placement.host for f in facts))
    return f"rank {_span([f.placement.rank for f in facts])} ({hosts})"


def _span(ranks: Sequence[int]) -> str:
    """``0-3, 8``: ranks as runs of consecutive numbers."""
    runs: list[list[int]] = []
    for rank in sorted(ranks):
        if runs and rank == runs[-1][-1] + 1:
            runs[-1].append(rank)
        else:
            runs.append([rank])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def first_sentence(exc: BaseException) -> str:
    """A backend's error without its source location and advice (gloo's ``[.../pair.cc:561]
    Connection closed by peer [127.0.0.1]:9450. This is typically caused by ...``)."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip())
    return text.split(". ", 1)[0][:200]


def describe_failure(entries: Sequence[RankEntry], reason: str) -> str:
    """One line: the dead (or failed) ranks by host, device and node, and what rank 0
    saw."""
    dead = [e for e in entries if e.state == "dead"]
    failed = [e for e in entries if e.state == "failed"]
    if dead:
        names = "; ".join(f"rank {e.rank} on {e.placement.host} ({e.device}, node "
                          f"{e.placement.node_rank})" for e in dead)
        return f"{names} died before rank 0 gathered its records ({reason})"
    if failed:
        names = "; ".join(f"rank {e.rank} on {e.placement.host} failed: {e.detail}"
                          for e in failed)
        return f"{names} ({reason})"
    return f"the job stopped before rank 0 gathered every rank's records ({reason})"

"""Claim records and the verdicts that judge them.

A claim is data: the report, the CLI and pytest all read the same records. A check passes
when the verdict observed on this install equals the record's expected verdict, so a
PyTorch release that changes a behaviour the tutorial relies on turns the check red.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from blitzbench.workloads.cifar import DataSource

__all__ = ["Claim", "ClaimContext", "InputSpace", "Outcome", "Scope", "Verdict"]


class Verdict(str, enum.Enum):
    """What a claim's judge observed."""

    HOLDS = "HOLDS"  # true on this install and device
    CONDITIONAL = "CONDITIONAL"  # true only for some inputs; evidence names the condition
    OUTDATED = "OUTDATED"  # the tutorial's API is gone or deprecated; the modern form works
    FAILS = "FAILS"  # contradicted on this install
    SKIPPED = "SKIPPED"  # device or data absent; evidence says why
    ERROR = "ERROR"  # the judge itself broke on this input: not a verdict on the tutorial


class Scope(str, enum.Enum):
    """On which devices a claim is judged."""

    EACH_DEVICE = "each device"  # judged on the CPU and on every CUDA device
    CUDA = "cuda"  # only meaningful with a GPU (CPU-vs-CUDA agreement, device mixing)


@dataclass(frozen=True)
class Outcome:
    """A judge's verdict, a one-line summary, and the observed values behind it.

    ``inputs_tried`` counts the generated inputs a property was judged on (None for a judge
    that looks at fixed examples only): with the claim's :class:`InputSpace` it gives the
    coverage line.
    """

    verdict: Verdict
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    inputs_tried: int | None = None


@dataclass(frozen=True)
class InputSpace:
    """The inputs a claim's statement speaks of, as its judge generates them.

    Each field lists the values one dimension of the space takes (empty: the dimension does
    not apply). ``examples`` is the example budget at the quick depth (the deep depth
    multiplies it, claims/properties.py). ``facets`` names further dimensions a section
    needs, as (name, values) pairs: ``("batch sizes", (1, 4))``.
    """

    subject: str
    operands: tuple[str, ...] = ()
    ranks: tuple[int, ...] = ()
    layouts: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    epochs: tuple[int, ...] = ()
    workers: tuple[int, ...] = ()
    seeds: tuple[int, ...] = ()
    examples: int = 0
    facets: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def dimensions(self) -> list[str]:
        """One phrase per dimension that applies: ``6 dtypes``, ``ranks 0-4``."""
        counted = (("dtype", self.dtypes), ("layout", self.layouts), ("device", self.devices),
                   ("epoch", self.epochs), ("seed", self.seeds))
        parts = [_counted(name, values) for name, values in counted if values]
        if self.ranks:
            low, high = min(self.ranks), max(self.ranks)
            parts.append(f"rank {low}" if low == high else f"ranks {low}-{high}")
        if self.workers:
            parts.append("workers " + ", ".join(str(w) for w in self.workers))
        parts += [f"{name} {', '.join(str(v) for v in values)}" for name, values in self.facets]
        if self.operands:
            parts.append(f"{_joined(self.operands)} operands")
        return parts

    def coverage(self, tried: int | None = None) -> str:
        """``add_ in place: 240 inputs over 6 dtypes, 4 layouts, tensor and scalar
        operands``; without ``tried``, the budget is named instead."""
        count = f"{tried:,} inputs" if tried is not None else f"up to {self.examples:,} inputs"
        dimensions = self.dimensions()
        return f"{self.subject}: {count}" + (f" over {', '.join(dimensions)}"
                                             if dimensions else "")


def _counted(name: str, values: tuple[Any, ...]) -> str:
    """``float32`` for one value, ``6 dtypes`` for several."""
    return str(values[0]) if len(values) == 1 else f"{len(values)} {name}s"


def _joined(words: tuple[str, ...]) -> str:
    """``tensor``, ``tensor and scalar``, ``tensor, scalar and 0-d``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@dataclass(frozen=True)
class ClaimContext:
    """What a judge may use: the device, the data source and the seed."""

    device: torch.device
    data: DataSource
    seed: int = 0


@dataclass(frozen=True)
class Claim:
    """One statement of the tutorial, in blitzbench's words, and how to judge it.

    ``where`` points to the tutorial section and the code or sentence that makes the claim.
    ``inputs`` declares the input space the judge generates over (None: fixed examples).
    ``warm(device)`` starts slow set-up in the background (a fork server importing torch for
    a claim that needs processes of its own); whoever runs a set of claims calls it for
    each cell before judging the first, so that the set-up overlaps the other claims.

    A claim about a world of ranks (DDP) also says how to judge it on a world that already
    exists: ``world_part(world, data, seed)`` is every rank's share (a JSON-able report),
    ``world_verdict(reports, data)`` rank 0's verdict on all of them. A torchrun job
    judges it so, once, on its own ranks, instead of each rank starting a world inside
    the job (runner/job.py); alone, ``judge`` starts a world of its own.
    """

    id: str
    section: str
    statement: str
    where: str
    expected: Verdict
    judge: Callable[[ClaimContext], Outcome]
    scope: Scope = Scope.EACH_DEVICE
    inputs: InputSpace | None = None
    warm: Callable[[torch.device], None] | None = None
    world_part: Callable[[Any, DataSource, int], Mapping[str, Any]] | None = None
    world_verdict: Callable[[Sequence[Mapping[str, Any]], DataSource], Outcome] | None = None

    @property
    def needs_world(self) -> bool:
        """Judged on a world of ranks (a job judges it once, on its own ranks)."""
        return self.world_part is not None

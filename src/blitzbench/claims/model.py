"""Claim records and the verdicts that judge them.

A claim is data: the report, the CLI and pytest all read the same records. A check passes
when the verdict observed on this install equals the record's expected verdict, so a
PyTorch release that changes a behaviour the tutorial relies on turns the check red.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from blitzbench.workloads.cifar import DataSource

__all__ = ["Claim", "ClaimContext", "Outcome", "Scope", "Verdict"]


class Verdict(str, enum.Enum):
    """What a claim's judge observed."""

    HOLDS = "HOLDS"  # true on this install and device
    CONDITIONAL = "CONDITIONAL"  # true only for some inputs; evidence names the condition
    OUTDATED = "OUTDATED"  # the tutorial's API is gone or deprecated; the modern form works
    FAILS = "FAILS"  # contradicted on this install
    SKIPPED = "SKIPPED"  # device or data absent; evidence says why


class Scope(str, enum.Enum):
    """On which devices a claim is judged."""

    EACH_DEVICE = "each device"  # judged on the CPU and on every CUDA device
    CUDA = "cuda"  # only meaningful with a GPU (CPU-vs-CUDA agreement, device mixing)


@dataclass(frozen=True)
class Outcome:
    """A judge's verdict, a one-line summary, and the observed values behind it."""

    verdict: Verdict
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


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
    """

    id: str
    section: str
    statement: str
    where: str
    expected: Verdict
    judge: Callable[[ClaimContext], Outcome]
    scope: Scope = Scope.EACH_DEVICE

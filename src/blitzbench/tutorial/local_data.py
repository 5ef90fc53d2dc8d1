"""The data shim's half in the worker: torchvision's ``CIFAR10`` made to read blitzbench's
local CIFAR-10 (the synthetic set or ``--data-root``) whatever root and download flag the
tutorial passes, so a tutorial block never downloads.

The classes are defined at module level so a DataLoader worker started by spawn or
forkserver can unpickle the data set.
"""

from __future__ import annotations

from typing import Any

import torchvision

from blitzbench.workloads.cifar import SyntheticCIFAR10

__all__ = ["LocalCIFAR10", "LocalSyntheticCIFAR10", "redirect_cifar10"]

_ROOT = {"path": ""}
_ORIGINAL = torchvision.datasets.CIFAR10


class LocalCIFAR10(_ORIGINAL):
    """The real CIFAR-10 under --data-root, MD5-checked as torchvision does."""

    def __init__(self, root: Any = None, train: bool = True, transform: Any = None,
                 target_transform: Any = None, download: bool = False) -> None:
        super().__init__(_ROOT["path"], train=train, transform=transform,
                         target_transform=target_transform, download=False)


class LocalSyntheticCIFAR10(SyntheticCIFAR10):
    """blitzbench's synthetic CIFAR-10 (its existence test instead of the MD5s)."""

    def __init__(self, root: Any = None, train: bool = True, transform: Any = None,
                 target_transform: Any = None, download: bool = False) -> None:
        super().__init__(_ROOT["path"], train=train, transform=transform,
                         target_transform=target_transform, download=False)


def redirect_cifar10(kind: str, root: str) -> None:
    """Point ``torchvision.datasets.CIFAR10`` at the local set for the blocks to come."""
    _ROOT["path"] = root
    local = LocalSyntheticCIFAR10 if kind == "synthetic" else LocalCIFAR10
    torchvision.datasets.CIFAR10 = local
    torchvision.datasets.cifar.CIFAR10 = local

"""The record of one planted defect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Breakage:
    """``apply`` patches torch/numpy/torchvision in the current process (before pytest
    starts); ``breaks`` names every claim id whose CPU check must then fail, and no other
    claim may fail."""

    name: str
    description: str
    breaks: frozenset[str]
    apply: Callable[[], None]

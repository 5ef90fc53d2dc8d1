"""The record of one planted defect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Breakage:
    """``apply`` patches torch/numpy/torchvision in the current process (before any claim
    is judged); ``breaks`` names every claim id whose CPU check must then fail, and no other
    claim may fail.

    ``beyond_example`` says the tutorial's own example would not reveal the defect (add_
    broken only for a non-contiguous output, rand biased in a way only its law shows): the
    proof that a claim is judged over its input space, not on its example alone.
    """

    name: str
    description: str
    breaks: frozenset[str]
    apply: Callable[[], None]
    beyond_example: bool = False

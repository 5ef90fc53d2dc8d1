"""Breakages for the 'inplace' claims.

Each patch is on a method no other section relies on (exp_, sqrt_, map_), so it breaks
the underscore claims and nothing else: add_ or t_ would also break tensors.* claims,
and add_, mul_, sub_, div_ run inside SGD and torchvision's Normalize.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from breakages.model import Breakage

SWEEP = "inplace.underscore_sweep"
INVENTORY = "inplace.underscore_inventory"


def _exp_returns_new_tensor() -> None:
    torch.Tensor.exp_ = lambda self: torch.exp(self)  # leaves self alone, returns a new one


def _sqrt_writes_wrong_values() -> None:
    original = torch.Tensor.sqrt_

    def sqrt_(self: torch.Tensor) -> torch.Tensor:
        return original(self).mul_(1.001)  # still in place, 0.1% off its twin

    torch.Tensor.sqrt_ = sqrt_


def _map_works_on_a_copy() -> None:
    original = torch.Tensor.map_

    def map_(self: torch.Tensor, other: torch.Tensor,
             fn: Callable[[float, float], float]) -> torch.Tensor:
        return original(self.clone(), other, fn)

    torch.Tensor.map_ = map_


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("inplace-exp-returns-new-tensor",
             "Tensor.exp_ computes exp out of place and returns the new tensor",
             frozenset({SWEEP, INVENTORY}), _exp_returns_new_tensor),
    Breakage("inplace-sqrt-wrong-values",
             "Tensor.sqrt_ stays in place but writes sqrt * 1.001",
             frozenset({SWEEP}), _sqrt_writes_wrong_values),
    Breakage("inplace-map-on-copy",
             "Tensor.map_ (no out-of-place twin) applies its function to a copy and "
             "returns that copy",
             frozenset({INVENTORY}), _map_works_on_a_copy),
)

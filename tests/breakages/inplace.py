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


# --- beyond the tutorial's example: only a tensor in another memory layout shows these ---


def _patch(method: str, when, wrong) -> None:
    """Tensor.<method> that returns ``wrong(original, self, *args)`` when ``when(self)``."""
    original = getattr(torch.Tensor, method)

    def patched(self, *args, **kwargs):
        if when(self):
            return wrong(original, self, *args, **kwargs)
        return original(self, *args, **kwargs)

    setattr(torch.Tensor, method, patched)


def _exp_noncontiguous_out_of_place() -> None:
    _patch("exp_", lambda t: not t.is_contiguous(), lambda original, t: torch.exp(t))


def _sqrt_offset_wrong_values() -> None:
    _patch("sqrt_", lambda t: t.storage_offset() > 0,
           lambda original, t: original(t).mul_(1.001))


def _clamp_transposed_wrong_values() -> None:
    _patch("clamp_", lambda t: t.dim() == 2 and t.stride(0) < t.stride(1),
           lambda original, t, *a, **k: original(t, *a, **k).add_(0.01))


def _map_noncontiguous_on_copy() -> None:
    _patch("map_", lambda t: not t.is_contiguous(),
           lambda original, t, *a, **k: original(t.clone(), *a, **k))


def _exponential_stepped_copy() -> None:
    _patch("exponential_", lambda t: t.dim() == 2 and t.stride(-1) > 1,
           lambda original, t, *a, **k: original(t.clone(), *a, **k))


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
    Breakage("inplace-exp-noncontiguous-out-of-place",
             "Tensor.exp_ on a non-contiguous tensor returns a new tensor",
             frozenset({SWEEP, INVENTORY}), _exp_noncontiguous_out_of_place, True),
    Breakage("inplace-sqrt-offset-wrong-values",
             "Tensor.sqrt_ on a slice that starts at an offset writes sqrt * 1.001",
             frozenset({SWEEP}), _sqrt_offset_wrong_values, True),
    Breakage("inplace-clamp-transposed-wrong-values",
             "Tensor.clamp_ on a transposed matrix writes 0.01 too much",
             frozenset({SWEEP}), _clamp_transposed_wrong_values, True),
    Breakage("inplace-map-noncontiguous-on-copy",
             "Tensor.map_ on a non-contiguous tensor works on a copy",
             frozenset({INVENTORY}), _map_noncontiguous_on_copy, True),
    Breakage("inplace-exponential-stepped-copy",
             "Tensor.exponential_ on a stepped view fills a copy and returns it",
             frozenset({INVENTORY}), _exponential_stepped_copy, True),
)

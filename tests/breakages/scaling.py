"""Breakages for the 'scaling' claims (the doubling loop and its 1024)."""

from __future__ import annotations

import torch

from breakages.model import Breakage


def _rand_skewed() -> None:
    """torch.rand returning the square root of uniform draws: still in [0, 1), no longer
    uniform (density 2u), so larger norms and k = 10 become more frequent."""
    original = torch.rand

    def rand(*args, **kwargs):
        out = original(*args, **kwargs)
        with torch.no_grad():
            out.sqrt_()
        return out

    torch.rand = rand


def _threshold_inclusive() -> None:
    """Tensor.__lt__ behaving as <= when comparing with the number 1000: the loop keeps
    doubling when the norm equals the threshold exactly."""
    original = torch.Tensor.__lt__

    def less_than(self, other):
        if isinstance(other, (int, float)) and other == 1000:
            return self.__le__(other)
        return original(self, other)

    torch.Tensor.__lt__ = less_than


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("scaling_rand_skewed", "torch.rand draws sqrt(uniform) instead of uniform",
             frozenset({"scaling.always_1024", "tensors.rand_unit_interval"}), _rand_skewed),
    Breakage("scaling_threshold_inclusive", "y < 1000 acts as y <= 1000",
             frozenset({"scaling.loop_exponent"}), _threshold_inclusive),
)

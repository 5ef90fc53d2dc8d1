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


# --- beyond the tutorial's example (x = torch.rand(3), v = (0.1, 1, 0.0001)) ------------


def _tiny_norm_stops_loop() -> None:
    """A 0-d norm below 0.01 compares as not < 1000: the loop stops at once for tiny x."""
    original = torch.Tensor.__lt__

    def less_than(self, other):
        if isinstance(other, (int, float)) and other == 1000 and self.dim() == 0 \
                and bool(original(self, 0.01)):
            return torch.tensor(False)
        return original(self, other)

    torch.Tensor.__lt__ = less_than


def _doubling_flushes_tiny() -> None:
    """x * 2 flushes a 1-d tensor of tiny values (all below 1e-3) to zero."""
    original = torch.Tensor.__mul__

    def mul(self, other):
        result = original(self, other)
        if isinstance(other, int) and other == 2 and self.dim() == 1 and self.numel() \
                and bool((self.detach().abs() < 1e-3).all()):
            return result * 0
        return result

    torch.Tensor.__mul__ = mul


def _backward_gradient(change) -> None:
    original = torch.Tensor.backward

    def backward(self, gradient=None, *args, **kwargs):
        if gradient is not None and gradient.dim() == 1:
            gradient = change(gradient)
        return original(self, gradient, *args, **kwargs)

    torch.Tensor.backward = backward


def _backward_abs_gradient() -> None:
    _backward_gradient(lambda v: v.abs())


def _backward_drops_tail() -> None:
    _backward_gradient(lambda v: torch.cat([v[:3], torch.zeros_like(v[3:])]))


def _default_rand3(change) -> None:
    """torch.rand(3) through the default generator, ``change``d."""
    original = torch.rand

    def rand(*args, **kwargs):
        out = original(*args, **kwargs)
        if kwargs.get("generator") is None and tuple(out.shape) == (3,):
            return change(out)
        return out

    torch.rand = rand


def _rand3_equal_components() -> None:
    _default_rand3(lambda x: x[:1].expand(3).clone())


def _rand3_last_halved() -> None:
    _default_rand3(lambda x: x * torch.tensor([1.0, 1.0, 0.5]))


def _to_64ths_when_large(values: torch.Tensor) -> torch.Tensor:
    """``values`` with every entry of magnitude 512 or more rounded to a multiple of 1/64,
    as if held with 15 significant bits."""
    return torch.where(values.abs() >= 512, torch.round(values * 64) / 64, values)


def _doubling_coarse_when_large() -> None:
    """float32 results of ``tensor * number`` lose precision where their magnitude is 512
    or more. A run of the tutorial prints some y that nobody can check; only a known
    answer (the printed y, replayed from y/1024) shows it. The result is rounded in place,
    out of autograd's sight: the graph and the gradients are untouched."""
    original = torch.Tensor.__mul__

    def mul(self, other):
        result = original(self, other)
        if isinstance(other, (int, float)) and result.dtype == torch.float32:
            with torch.no_grad():
                if bool((result.abs() >= 512).any()):
                    result.copy_(_to_64ths_when_large(result))
        return result

    torch.Tensor.__mul__ = mul


def _halving_coarse_when_large() -> None:
    """``tensor / number`` divides a float32 dividend whose entries of magnitude 512 or
    more lost precision first: the quotient of the printed y by 1024 is no longer the x
    that reproduces it, while every quotient of smaller numbers is exact."""
    original = torch.Tensor.__truediv__

    def truediv(self, other):
        if isinstance(other, (int, float)) and self.dtype == torch.float32 \
                and bool((self.detach().abs() >= 512).any()):
            self = _to_64ths_when_large(self)
        return original(self, other)

    torch.Tensor.__truediv__ = truediv


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("scaling_rand_skewed", "torch.rand draws sqrt(uniform) instead of uniform",
             frozenset({"scaling.always_1024", "tensors.rand_unit_interval"}), _rand_skewed),
    Breakage("scaling_threshold_inclusive", "y < 1000 acts as y <= 1000",
             frozenset({"scaling.loop_exponent"}), _threshold_inclusive),
    Breakage("scaling_tiny_norm_stops_loop", "the loop stops at once when ||y|| < 0.01",
             frozenset({"scaling.loop_exponent"}), _tiny_norm_stops_loop, True),
    Breakage("scaling_doubling_flushes_tiny", "x * 2 flushes a vector of tiny values to 0",
             frozenset({"scaling.loop_exponent", "scaling.backward_scale"}),
             _doubling_flushes_tiny, True),
    Breakage("scaling_backward_abs_gradient", "y.backward(v) uses |v|",
             frozenset({"scaling.backward_scale"}), _backward_abs_gradient, True),
    Breakage("scaling_backward_drops_tail", "y.backward(v) ignores v beyond its 3rd entry",
             frozenset({"scaling.backward_scale"}), _backward_drops_tail, True),
    Breakage("scaling_rand3_equal_components",
             "default-generator torch.rand(3) repeats one draw three times",
             frozenset({"scaling.always_1024"}), _rand3_equal_components, True),
    Breakage("scaling_doubling_coarse_when_large",
             "tensor * number rounds float32 results of magnitude >= 512 to 1/64",
             frozenset({"scaling.loop_exponent", "scaling.backward_scale",
                        "scaling.always_1024", "scaling.printed_example"}),
             _doubling_coarse_when_large, True),
    Breakage("scaling_halving_coarse_when_large",
             "tensor / number rounds a float32 dividend's entries of magnitude >= 512 to 1/64",
             frozenset({"scaling.backward_scale", "scaling.printed_example"}),
             _halving_coarse_when_large, True),
    Breakage("scaling_rand3_last_halved",
             "default-generator torch.rand(3) draws its last entry from [0, 0.5)",
             frozenset({"scaling.always_1024"}), _rand3_last_halved, True),
)

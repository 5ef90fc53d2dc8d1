"""Breakages for the 'autograd' claims."""

from __future__ import annotations

import torch

from breakages.model import Breakage


class _LegacyVariable(torch.Tensor):
    """A Tensor subclass standing in for the pre-0.4 Variable wrapper."""


def _variable_wraps() -> None:
    """torch.autograd.Variable returning a wrapper type instead of a plain Tensor."""

    def variable(data, requires_grad=False, volatile=False):
        return data.detach().as_subclass(_LegacyVariable).requires_grad_(requires_grad)

    torch.autograd.Variable = variable


def _creator_restored() -> None:
    """The pre-0.4 attribute y.creator, back as an alias of grad_fn."""
    torch.Tensor.creator = property(lambda self: self.grad_fn)


def _mean_unbiased() -> None:
    """Tensor.mean dividing by n - 1 instead of n (as if it were an unbiased variance)."""
    original = torch.Tensor.mean

    def mean(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        count = self.numel() // max(result.numel(), 1)
        return result * count / (count - 1) if count > 1 else result

    torch.Tensor.mean = mean


def _backward_scaled() -> None:
    """Tensor.backward doubling the gradient it starts from (implicit 1 or explicit v)."""
    original = torch.Tensor.backward

    def backward(self, gradient=None, *args, **kwargs):
        if gradient is None:
            gradient = torch.ones_like(self)
        return original(self, gradient * 2, *args, **kwargs)

    torch.Tensor.backward = backward


def _norm_l1() -> None:
    """Tensor.norm computing the L1 norm (sum of magnitudes) by default instead of L2."""
    original = torch.Tensor.norm

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        if p in ("fro", 2, 2.0):
            p = 1
        return original(self, p, dim, keepdim, dtype)

    torch.Tensor.norm = norm


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("autograd_variable_wraps", "autograd.Variable returns a Tensor subclass",
             frozenset({"autograd.variable"}), _variable_wraps),
    Breakage("autograd_creator_restored", "y.creator exists again (alias of grad_fn)",
             frozenset({"autograd.grad_fn"}), _creator_restored),
    Breakage("autograd_mean_unbiased", "Tensor.mean divides by n - 1",
             frozenset({"autograd.forward_values", "autograd.backward"}), _mean_unbiased),
    Breakage("autograd_backward_scaled", "Tensor.backward doubles the starting gradient",
             frozenset({"autograd.backward", "scaling.backward_scale",
                        "scaling.printed_example"}), _backward_scaled),
    Breakage("autograd_norm_l1", "Tensor.norm computes the L1 norm",
             frozenset({"autograd.data_norm", "scaling.loop_exponent",
                        "scaling.backward_scale", "scaling.always_1024",
                        "scaling.printed_example"}), _norm_l1),
)

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


# --- beyond the tutorial's example (2x2 float32 ones, requires_grad=True, y = x + 2) -----


def _variable_forces_grad() -> None:
    """Variable(t, requires_grad=False) still requires grad."""
    original = torch.autograd.Variable

    def variable(data, requires_grad=False, volatile=False):
        return original(data, requires_grad=True)

    torch.autograd.Variable = variable


def _variable_wraps_double() -> None:
    """Variable(float64 t) returns the legacy subclass (float32 ones stay plain)."""
    original = torch.autograd.Variable

    def variable(data, requires_grad=False, volatile=False):
        if data.dtype == torch.float64:
            return data.detach().as_subclass(_LegacyVariable).requires_grad_(requires_grad)
        return original(data, requires_grad=requires_grad)

    torch.autograd.Variable = variable


def _creator_on_products() -> None:
    """y.creator exists again, but only on products (the example's y = x + 2 is a sum)."""
    def creator(self):
        if self.grad_fn is not None and type(self.grad_fn).__name__.startswith("Mul"):
            return self.grad_fn
        raise AttributeError("'Tensor' object has no attribute 'creator'")

    torch.Tensor.creator = property(creator)


def _grad_fn_hidden_double() -> None:
    """y.grad_fn reads None on float64 results."""
    original = torch.Tensor.grad_fn

    torch.Tensor.grad_fn = property(
        lambda self: None if self.dtype == torch.float64 else original.__get__(self))


class _OffForward(torch.autograd.Function):
    """Forward multiplied by ``factor``, gradient of the exact function passed through."""

    @staticmethod
    def forward(ctx, value, factor):
        return value * factor

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _mean_forward_off_high_rank() -> None:
    """mean() of a 3-d or higher tensor comes out 1% high; its gradient is right."""
    original = torch.Tensor.mean

    def mean(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if self.dim() >= 3 and not args and not kwargs:
            return _OffForward.apply(result, 1.01)
        return result

    torch.Tensor.mean = mean


def _double_product_off() -> None:
    """A float64 tensor times a tensor comes out 1e-6 high; its gradient is right."""
    original = torch.Tensor.__mul__

    def mul(self, other):
        result = original(self, other)
        if isinstance(other, torch.Tensor) and self.dtype == torch.float64:
            return _OffForward.apply(result, 1 + 1e-6)
        return result

    torch.Tensor.__mul__ = mul


class _MeanOverFour(torch.autograd.Function):
    """The right mean, with the gradient of a mean over 4 elements (the example's 2x2)."""

    @staticmethod
    def forward(ctx, value):
        ctx.shape = value.shape
        return value.sum() / max(value.numel(), 1)

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape) / 4


def _mean_grad_over_four() -> None:
    original = torch.Tensor.mean

    def mean(self, *args, **kwargs):
        if self.requires_grad and not args and not kwargs:
            return _MeanOverFour.apply(self)
        return original(self, *args, **kwargs)

    torch.Tensor.mean = mean


def _backward_off_double() -> None:
    """Tensor.backward from a float64 output starts 0.1% high."""
    original = torch.Tensor.backward

    def backward(self, gradient=None, *args, **kwargs):
        if self.dtype == torch.float64:
            gradient = (torch.ones_like(self) if gradient is None else gradient) * 1.001
        return original(self, gradient, *args, **kwargs)

    torch.Tensor.backward = backward


def _norm_when(wrong) -> None:
    original = torch.Tensor.norm

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        if dim is None and p in ("fro", 2, 2.0):
            changed = wrong(self)
            if changed is not None:
                return changed
        return original(self, p, dim, keepdim, dtype)

    torch.Tensor.norm = norm


def _norm_drops_negatives() -> None:
    _norm_when(lambda t: torch.linalg.vector_norm(t.clamp(min=0))
               if bool((t < 0).any()) else None)


def _norm_largest_row() -> None:
    _norm_when(lambda t: torch.linalg.vector_norm(t.flatten(1), dim=1).max()
               if t.dim() >= 2 and t.numel() else None)


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("autograd_variable_wraps", "autograd.Variable returns a Tensor subclass",
             frozenset({"autograd.variable"}), _variable_wraps),
    Breakage("autograd_creator_restored", "y.creator exists again (alias of grad_fn)",
             frozenset({"autograd.grad_fn"}), _creator_restored),
    Breakage("autograd_mean_unbiased", "Tensor.mean divides by n - 1",
             frozenset({"autograd.forward_values", "autograd.backward", "autograd.grad_fn"}),
             _mean_unbiased),
    Breakage("autograd_backward_scaled", "Tensor.backward doubles the starting gradient",
             frozenset({"autograd.backward", "scaling.backward_scale",
                        "scaling.printed_example"}), _backward_scaled),
    Breakage("autograd_norm_l1", "Tensor.norm computes the L1 norm",
             frozenset({"autograd.data_norm", "scaling.loop_exponent",
                        "scaling.backward_scale", "scaling.always_1024",
                        "scaling.printed_example"}), _norm_l1),
    Breakage("autograd_variable_forces_grad", "Variable(t, requires_grad=False) requires grad",
             frozenset({"autograd.variable"}), _variable_forces_grad, True),
    Breakage("autograd_variable_wraps_double", "Variable(float64 t) returns a subclass",
             frozenset({"autograd.variable"}), _variable_wraps_double, True),
    Breakage("autograd_creator_on_products", "y.creator is back on products only",
             frozenset({"autograd.grad_fn"}), _creator_on_products, True),
    Breakage("autograd_grad_fn_hidden_double", "y.grad_fn reads None on float64 results",
             frozenset({"autograd.grad_fn"}), _grad_fn_hidden_double, True),
    Breakage("autograd_mean_forward_off_high_rank",
             "mean() of a 3-d tensor is 1% high (gradient right)",
             frozenset({"autograd.forward_values"}), _mean_forward_off_high_rank, True),
    # grad_fn sees it too: the product's grad_fn is no longer MulBackward0
    Breakage("autograd_double_product_off", "float64 tensor * tensor is 1e-6 high",
             frozenset({"autograd.forward_values", "autograd.grad_fn"}), _double_product_off,
             True),
    Breakage("autograd_mean_grad_over_four",
             "mean()'s gradient divides by 4 whatever the size (forward right)",
             frozenset({"autograd.backward", "autograd.forward_values", "autograd.grad_fn"}),
             _mean_grad_over_four, True),
    Breakage("autograd_backward_off_double", "backward from a float64 output starts 0.1% high",
             frozenset({"autograd.backward"}), _backward_off_double, True),
    Breakage("autograd_norm_drops_negatives", "Tensor.norm ignores negative entries",
             frozenset({"autograd.data_norm"}), _norm_drops_negatives, True),
    Breakage("autograd_norm_largest_row", "Tensor.norm of a matrix is its largest row's norm",
             frozenset({"autograd.data_norm"}), _norm_largest_row, True),
)

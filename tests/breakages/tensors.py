"""Breakages for the 'tensors' claims."""

from __future__ import annotations

import functools

import torch

from breakages.model import Breakage


def _zeroing_constructor() -> None:
    """torch.Tensor(5, 3) that hands out zeroed memory instead of uninitialized memory."""
    original_new = torch.Tensor.__new__

    @functools.wraps(original_new)  # torch._dynamo checks __new__'s signature at import
    def new(cls, *args, **kwargs):
        if cls is torch.Tensor and args and all(isinstance(a, int) for a in args):
            return torch.zeros(*args)
        return original_new(cls, *args, **kwargs)

    torch.Tensor.__new__ = new


def _rand_reaching_one() -> None:
    """A torch.rand whose large draws include the excluded upper end, 1.0."""
    original = torch.rand

    def rand(*args, **kwargs):
        out = original(*args, **kwargs)
        if out.numel() >= 1000:
            out.view(-1)[0] = 1.0
        return out

    torch.rand = rand


def _add_out_ignored() -> None:
    """torch.add(..., out=r) that returns a fresh tensor and leaves r untouched."""
    original = torch.add

    def add(*args, out=None, **kwargs):
        return original(*args, **kwargs)

    torch.add = add


def _add_inplace_copies() -> None:
    """An add_ that leaves self alone and returns a new tensor."""
    torch.Tensor.add_ = lambda self, *args, **kwargs: self.add(*args, **kwargs)


def _transpose_inplace_copies() -> None:
    """A t_ that returns a transposed copy and leaves self as it was."""
    torch.Tensor.t_ = lambda self: self.t().contiguous()


def _column_index_copies() -> None:
    """x[:, i] returning a copy instead of a view."""
    original = torch.Tensor.__getitem__

    def getitem(self, key):
        result = original(self, key)
        if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None) \
                and isinstance(key[1], int):
            return result.clone()
        return result

    torch.Tensor.__getitem__ = getitem


# --- defects the tutorial's own example (5x3 float32, contiguous, tensor operands) would
# not reveal: each must be caught by the claim judged over its input space ---------------


def _constructor(when, make) -> None:
    """torch.Tensor(*sizes) that calls ``make(sizes)`` when ``when(sizes)`` holds."""
    original_new = torch.Tensor.__new__

    @functools.wraps(original_new)
    def new(cls, *args, **kwargs):
        if cls is torch.Tensor and args and all(isinstance(a, int) for a in args) \
                and when(args):
            return make(args)
        return original_new(cls, *args, **kwargs)

    torch.Tensor.__new__ = new


def _constructor_ignores_default_dtype() -> None:
    _constructor(lambda sizes: torch.get_default_dtype() != torch.float32,
                 lambda sizes: torch.empty(*sizes, dtype=torch.float32))


def _constructor_zeroes_high_rank() -> None:
    _constructor(lambda sizes: len(sizes) >= 3, lambda sizes: torch.zeros(*sizes))


def _rand_low_precision_rounds() -> None:
    """float16/bfloat16 rand drawn in float32 and rounded to nearest: 1.0 can come out."""
    original = torch.rand

    def rand(*args, dtype=None, **kwargs):
        if dtype in (torch.float16, torch.bfloat16):
            return original(*args, dtype=torch.float32, **kwargs).to(dtype)
        return original(*args, dtype=dtype, **kwargs)

    torch.rand = rand


def _default_rand(transform) -> None:
    """torch.rand through the default generator, float32, 1,000+ draws: ``transform``d."""
    original = torch.rand

    def rand(*args, **kwargs):
        out = original(*args, **kwargs)
        if kwargs.get("generator") is None and out.dtype == torch.float32 \
                and out.numel() >= 1000:
            with torch.no_grad():
                out.copy_(transform(out))
        return out

    torch.rand = rand


def _rand_symmetric_bias() -> None:
    """Draws pulled toward 0.5, symmetrically: same range, same mean, another law."""
    _default_rand(lambda u: 0.5 + 0.5 * torch.sign(2 * u - 1) * (2 * u - 1).abs() ** 1.25)


def _rand_coarse() -> None:
    """Draws rounded down to multiples of 1/64: in [0, 1), mean ~0.49, a staircase law."""
    _default_rand(lambda u: torch.floor(u * 64) / 64)


def _add_out_ignored_if_strided() -> None:
    """torch.add(..., out=r) that ignores a non-contiguous r (returns a fresh tensor)."""
    original = torch.add

    def add(*args, out=None, **kwargs):
        if out is not None and not out.is_contiguous():
            return original(*args, **kwargs)
        return original(*args, out=out, **kwargs) if out is not None \
            else original(*args, **kwargs)

    torch.add = add


def _int_plus_float_truncates() -> None:
    """An integer tensor + a Python float adds the float truncated to an int."""
    original = torch.Tensor.__add__

    def add(self, other):
        if isinstance(other, float) and not self.is_floating_point():
            return original(self, int(other))
        return original(self, other)

    torch.Tensor.__add__ = add


def _patch_add_(wrong) -> None:
    """Tensor.add_ that returns ``wrong(self, other)`` when it is not None."""
    original = torch.Tensor.add_

    def add_(self, other, *args, **kwargs):
        result = wrong(self, other)
        return result if result is not None else original(self, other, *args, **kwargs)

    torch.Tensor.add_ = add_


def _add_inplace_ignores_0d() -> None:
    _patch_add_(lambda self, other: self if isinstance(other, torch.Tensor)
                and other.dim() == 0 and self.dim() > 0 else None)


def _add_inplace_scalar_half_copies() -> None:
    _patch_add_(lambda self, other: self + other if isinstance(other, (int, float))
                and self.dtype in (torch.float16, torch.bfloat16) else None)


def _add_inplace_noncontiguous_copies() -> None:
    _patch_add_(lambda self, other: self + other if not self.is_contiguous() else None)


def _patch_t_(wrong) -> None:
    original = torch.Tensor.t_

    def t_(self):
        return wrong(self) if wrong(self) is not None else original(self)

    torch.Tensor.t_ = t_


def _transpose_1d_copies() -> None:
    _patch_t_(lambda self: self.clone() if self.dim() == 1 else None)


def _transpose_int_copies() -> None:
    _patch_t_(lambda self: self.t().clone() if not self.is_floating_point() else None)


def _column_copies_when(when) -> None:
    original = torch.Tensor.__getitem__

    def getitem(self, key):
        result = original(self, key)
        if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None) \
                and isinstance(key[1], int) and when(self, key[1]):
            return result.clone()
        return result

    torch.Tensor.__getitem__ = getitem


def _column_negative_copies() -> None:
    _column_copies_when(lambda tensor, index: index < 0)


def _column_high_rank_copies() -> None:
    _column_copies_when(lambda tensor, index: tensor.dim() >= 3)


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("tensors_zeroed_constructor", "torch.Tensor(5,3) returns zeroed memory",
             frozenset({"tensors.uninitialized"}), _zeroing_constructor),
    Breakage("tensors_rand_closed_interval", "torch.rand can return 1.0",
             frozenset({"tensors.rand_unit_interval"}), _rand_reaching_one),
    Breakage("tensors_add_out_ignored", "torch.add ignores out=",
             frozenset({"tensors.add_forms"}), _add_out_ignored),
    # SGD's CPU update and the .numpy() sharing check call add_ too: they must fail with it.
    Breakage("tensors_add_inplace_copies", "Tensor.add_ returns a new tensor",
             frozenset({"tensors.add_inplace", "inplace.underscore_sweep",
                        "inplace.underscore_inventory", "numpy_bridge.numpy_shares_memory",
                        "lenet.learns"}), _add_inplace_copies),
    Breakage("tensors_transpose_inplace_copies", "Tensor.t_ returns a transposed copy",
             frozenset({"tensors.transpose_inplace", "inplace.underscore_sweep",
                        "inplace.underscore_inventory"}), _transpose_inplace_copies),
    Breakage("tensors_column_copies", "x[:, i] copies instead of viewing",
             frozenset({"tensors.column_view"}), _column_index_copies),
    # beyond the tutorial's example
    Breakage("tensors_constructor_ignores_default_dtype",
             "torch.Tensor(*sizes) is float32 whatever the default dtype",
             frozenset({"tensors.uninitialized"}), _constructor_ignores_default_dtype, True),
    Breakage("tensors_constructor_zeroes_high_rank",
             "torch.Tensor(*sizes) hands out zeroed memory for 3-d and higher",
             frozenset({"tensors.uninitialized"}), _constructor_zeroes_high_rank, True),
    Breakage("tensors_rand_low_precision_rounds",
             "float16/bfloat16 rand rounds float32 draws to nearest (1.0 can come out)",
             frozenset({"tensors.rand_unit_interval"}), _rand_low_precision_rounds, True),
    Breakage("tensors_rand_symmetric_bias",
             "default-generator rand pulled toward 0.5 (same range and mean)",
             frozenset({"tensors.rand_unit_interval"}), _rand_symmetric_bias, True),
    Breakage("tensors_rand_coarse", "default-generator rand on a grid of 1/64",
             frozenset({"tensors.rand_unit_interval"}), _rand_coarse, True),
    Breakage("tensors_add_out_ignored_if_strided",
             "torch.add ignores a non-contiguous out=",
             frozenset({"tensors.add_forms"}), _add_out_ignored_if_strided, True),
    Breakage("tensors_int_plus_float_truncates",
             "an integer tensor + a Python float adds int(float)",
             frozenset({"tensors.add_forms"}), _int_plus_float_truncates, True),
    Breakage("tensors_add_inplace_ignores_0d", "y.add_(0-d tensor) leaves y unchanged",
             frozenset({"tensors.add_inplace"}), _add_inplace_ignores_0d, True),
    Breakage("tensors_add_inplace_scalar_half_copies",
             "float16/bfloat16 y.add_(python number) returns a new tensor",
             frozenset({"tensors.add_inplace"}), _add_inplace_scalar_half_copies, True),
    Breakage("tensors_add_inplace_noncontiguous_copy",
             "add_ on a non-contiguous tensor returns a new tensor",
             frozenset({"tensors.add_inplace", "inplace.underscore_sweep",
                        "inplace.underscore_inventory"}),
             _add_inplace_noncontiguous_copies, True),
    Breakage("tensors_transpose_1d_copies", "t_ on a 1-d tensor returns a copy",
             frozenset({"tensors.transpose_inplace"}), _transpose_1d_copies, True),
    Breakage("tensors_transpose_int_copies", "t_ on an integer tensor returns a copy",
             frozenset({"tensors.transpose_inplace"}), _transpose_int_copies, True),
    Breakage("tensors_column_negative_copies", "x[:, -i] copies instead of viewing",
             frozenset({"tensors.column_view"}), _column_negative_copies, True),
    Breakage("tensors_column_high_rank_copies", "x[:, i] copies for 3-d and higher",
             frozenset({"tensors.column_view"}), _column_high_rank_copies, True),
)

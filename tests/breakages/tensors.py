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
)

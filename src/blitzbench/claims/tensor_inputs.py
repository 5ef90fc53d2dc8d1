"""Generated tensors for claims judged as properties: dtype, shape and memory layout.

A tutorial's example tensor is contiguous, float32 and 2-D; the statements it illustrates
speak of any tensor. A :class:`TensorSpec` names one input (dtype, shape, layout, seed) so a
failing input reads as ``bfloat16 (3, 1) transposed``; ``build`` makes it with
``torch.testing.make_tensor`` in the named layout, over a larger storage where the layout
needs one (a slice starting at an offset, every other element, a broadcast row).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch.testing import make_tensor

__all__ = ["ARITHMETIC_DTYPES", "FLOAT_DTYPES", "LAYOUTS", "READ_LAYOUTS", "TensorSpec",
           "dtype_names", "relaid", "shapes", "tensor_specs"]

#: Every floating dtype torch.rand and make_tensor support on the CPU.
FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
#: Dtypes of the arithmetic claims: the floats and the common integers.
ARITHMETIC_DTYPES = (*FLOAT_DTYPES, torch.int64, torch.int32)
#: Layouts a tensor written in place may have (each its own memory, no overlap).
LAYOUTS = ("contiguous", "transposed", "sliced", "stepped")
#: Layouts an operand that is only read may have: a broadcast (stride 0) view too.
READ_LAYOUTS = (*LAYOUTS, "expanded")
#: Values stay small so float16/bfloat16 sums stay exact enough to compare bitwise.
VALUE_RANGE = (-8, 8)


@dataclass(frozen=True)
class TensorSpec:
    """One generated tensor: ``build`` gives the same tensor every time."""

    dtype: torch.dtype
    shape: tuple[int, ...]
    layout: str = "contiguous"
    seed: int = 0

    def describe(self) -> str:
        return f"{str(self.dtype).removeprefix('torch.')} {self.shape} {self.layout}"

    def __repr__(self) -> str:
        return self.describe()

    def build(self, device: torch.device | str = "cpu") -> torch.Tensor:
        torch.manual_seed(self.seed)
        return _in_layout(self.layout, self.shape, lambda s: make_tensor(
            s, dtype=self.dtype, device=device, low=VALUE_RANGE[0], high=VALUE_RANGE[1]))


def _in_layout(layout: str, shape: tuple[int, ...], make) -> torch.Tensor:
    """A tensor of ``shape`` laid out as named (a 0-d or 1-d tensor has no transpose)."""
    if layout == "transposed" and len(shape) >= 2:
        return make((*shape[:-2], shape[-1], shape[-2])).transpose(-1, -2)
    if layout == "sliced":
        if not shape:
            return make((3,))[1]
        return make((shape[0] + 2, *shape[1:]))[1:1 + shape[0]]
    if layout == "stepped":
        if not shape:
            return make((3,))[2]
        return make((*shape[:-1], shape[-1] * 2))[..., ::2]
    if layout == "expanded" and shape:
        return make((1, *shape[1:])).expand(shape)
    return make(shape)


def relaid(tensor: torch.Tensor, layout: str) -> torch.Tensor:
    """A copy of ``tensor`` with the same values in its own memory, laid out as named."""
    return _in_layout(layout, tuple(tensor.shape),
                      lambda shape: torch.empty(shape, dtype=tensor.dtype,
                                                device=tensor.device)).copy_(tensor) \
        if layout != "expanded" else tensor.clone()


def shapes(min_rank: int = 0, max_rank: int = 4, max_side: int = 5,
           min_side: int = 0) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes from 0-d to ``max_rank``-d, sides ``min_side``..``max_side`` (0: empty)."""
    return st.lists(st.integers(min_side, max_side), min_size=min_rank,
                    max_size=max_rank).map(tuple)


def tensor_specs(dtypes: tuple[torch.dtype, ...] = ARITHMETIC_DTYPES,
                 layouts: tuple[str, ...] = LAYOUTS,
                 shape: st.SearchStrategy[tuple[int, ...]] | None = None,
                 ) -> st.SearchStrategy[TensorSpec]:
    """Specs over the given dtypes, layouts and shapes (default: 0-d to 4-d, empty too)."""
    return st.builds(TensorSpec, st.sampled_from(dtypes),
                     shape if shape is not None else shapes(),
                     st.sampled_from(layouts), st.integers(0, 2**16))


def dtype_names(dtypes: tuple[torch.dtype, ...]) -> tuple[str, ...]:
    """``("float32", ...)`` for an InputSpace."""
    return tuple(str(d).removeprefix("torch.") for d in dtypes)

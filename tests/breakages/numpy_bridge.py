"""Breakages for the 'numpy_bridge' claims: conversions that copy where they should share,
accept what they should refuse, or refuse what they should accept."""

from __future__ import annotations

import numpy as np
import torch

from breakages.model import Breakage

TO_NUMPY = "numpy_bridge.numpy_shares_memory"
FROM_NUMPY = "numpy_bridge.from_numpy_shares_memory"
BOUNDARIES = "numpy_bridge.conversion_boundaries"
DTYPES = "numpy_bridge.dtype_coverage"


def _numpy_copies() -> None:
    original = torch.Tensor.numpy

    def numpy(self: torch.Tensor, *, force: bool = False) -> np.ndarray:
        return original(self, force=force).copy()

    torch.Tensor.numpy = numpy


def _from_numpy_copies() -> None:
    original = torch.from_numpy
    torch.from_numpy = lambda array: original(array).clone()


def _from_numpy_accepts_negative_strides() -> None:
    original = torch.from_numpy
    torch.from_numpy = lambda array: original(
        array.copy() if any(s < 0 for s in array.strides) else array)


def _numpy_converts_bfloat16() -> None:
    original = torch.Tensor.numpy

    def numpy(self: torch.Tensor, *, force: bool = False) -> np.ndarray:
        if self.dtype == torch.bfloat16:
            return original(self.float(), force=force)
        return original(self, force=force)

    torch.Tensor.numpy = numpy


def _from_numpy_refuses_uint16() -> None:
    original = torch.from_numpy

    def from_numpy(array: np.ndarray) -> torch.Tensor:
        if array.dtype == np.uint16:
            raise TypeError("can't convert np.ndarray of type numpy.uint16")
        return original(array)

    torch.from_numpy = from_numpy


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("numpy-copies", "Tensor.numpy returns a copy instead of a view of the tensor",
             frozenset({TO_NUMPY, BOUNDARIES, DTYPES}), _numpy_copies),
    Breakage("from-numpy-copies", "torch.from_numpy returns a copy of the array",
             frozenset({FROM_NUMPY, BOUNDARIES, DTYPES}), _from_numpy_copies),
    Breakage("from-numpy-accepts-negative-strides",
             "torch.from_numpy silently copies arrays with negative strides instead of "
             "raising ValueError",
             frozenset({BOUNDARIES}), _from_numpy_accepts_negative_strides),
    Breakage("numpy-converts-bfloat16",
             "Tensor.numpy converts bfloat16 through float32 instead of raising TypeError",
             frozenset({BOUNDARIES, DTYPES}), _numpy_converts_bfloat16),
    Breakage("from-numpy-refuses-uint16", "torch.from_numpy raises TypeError for uint16",
             frozenset({DTYPES}), _from_numpy_refuses_uint16),
)

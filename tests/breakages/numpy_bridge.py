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


# --- beyond the tutorial's example (float32 ones(5) / float64 ones(5), contiguous) -------


def _numpy_copies_when(when) -> None:
    original = torch.Tensor.numpy

    def numpy(self: torch.Tensor, *, force: bool = False) -> np.ndarray:
        array = original(self, force=force)
        return array.copy() if when(self) else array

    torch.Tensor.numpy = numpy


def _numpy_copies_offset() -> None:
    """t.numpy() copies a tensor that starts at an offset into its storage (a slice)."""
    _numpy_copies_when(lambda t: t.storage_offset() > 0)


def _numpy_copies_0d() -> None:
    _numpy_copies_when(lambda t: t.dim() == 0)


def _from_numpy_copies_when(when) -> None:
    original = torch.from_numpy
    torch.from_numpy = lambda array: original(array.copy() if when(array) else array)


def _from_numpy_copies_fortran() -> None:
    """torch.from_numpy copies a Fortran-ordered (transposed) array."""
    _from_numpy_copies_when(lambda a: a.ndim >= 2 and not a.flags.c_contiguous
                            and a.flags.f_contiguous)


def _from_numpy_copies_integers() -> None:
    _from_numpy_copies_when(lambda a: a.dtype.kind in "iu" and a.dtype.itemsize == 2)


def _as_tensor_copies() -> None:
    original = torch.as_tensor

    def as_tensor(data, *args, **kwargs):
        if isinstance(data, np.ndarray):
            data = data.copy()
        return original(data, *args, **kwargs)

    torch.as_tensor = as_tensor


def _from_numpy_read_only_silent_copy() -> None:
    _from_numpy_copies_when(lambda a: not a.flags.writeable)


def _from_numpy_accepts_longdouble() -> None:
    original = torch.from_numpy
    torch.from_numpy = lambda array: original(
        array.astype(np.float64) if array.dtype == np.longdouble else array)


def _numpy_converts_float8() -> None:
    original = torch.Tensor.numpy

    def numpy(self: torch.Tensor, *, force: bool = False) -> np.ndarray:
        if self.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
            return original(self.float(), force=force)
        return original(self, force=force)

    torch.Tensor.numpy = numpy


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
             frozenset({DTYPES, FROM_NUMPY}), _from_numpy_refuses_uint16),
    Breakage("numpy-copies-offset", "t.numpy() copies a tensor that starts at an offset",
             frozenset({TO_NUMPY}), _numpy_copies_offset, True),
    Breakage("numpy-copies-0d", "t.numpy() copies a 0-d tensor",
             frozenset({TO_NUMPY}), _numpy_copies_0d, True),
    Breakage("from-numpy-copies-fortran", "torch.from_numpy copies a Fortran-ordered array",
             frozenset({FROM_NUMPY}), _from_numpy_copies_fortran, True),
    Breakage("from-numpy-copies-16-bit-integers",
             "torch.from_numpy copies int16/uint16 arrays",
             frozenset({FROM_NUMPY, DTYPES}), _from_numpy_copies_integers, True),
    Breakage("as-tensor-copies", "torch.as_tensor copies an ndarray instead of sharing",
             frozenset({BOUNDARIES}), _as_tensor_copies, True),
    Breakage("from-numpy-read-only-silent-copy",
             "torch.from_numpy copies a read-only array without a warning",
             frozenset({BOUNDARIES}), _from_numpy_read_only_silent_copy, True),
    Breakage("from-numpy-accepts-longdouble",
             "torch.from_numpy accepts longdouble by converting to float64",
             frozenset({DTYPES}), _from_numpy_accepts_longdouble, True),
    Breakage("numpy-converts-float8", "Tensor.numpy converts float8 through float32",
             frozenset({DTYPES}), _numpy_converts_float8, True),
)

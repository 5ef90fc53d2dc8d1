"""make_grid's layout rule, written out and judged on generated batches.

The tutorial shows one grid: 4 CIFAR-10 images, the default 8 per row and 2 pixels of
padding. The rule behind it: a batch of B images goes into rows of min(nrow, B) images,
ceil(B / that) rows; image k sits at row k // per_row, column k % per_row, ``padding``
pixels from its neighbours and from the border; every pixel that is not an image's is
``pad_value``. A grid wrong only when nrow does not divide the batch, or only for a pad
value other than the default 0, is invisible on the tutorial's example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torchvision
from hypothesis import strategies as st

__all__ = ["GRID_BATCHES", "GridCase", "expected_grid", "grid_cases", "grid_problem",
           "tile_slot"]

GRID_BATCHES = (2, 10)  # batch sizes generated (a batch of one is judged apart)
ROW_LENGTHS = (1, 10)
PADDINGS = (0, 4)
PAD_VALUES = (0.0, 0.5, 1.0, -1.0)  # the default, and values a normalized image can take
SIDES = (1, 8)  # small images keep each case to a fraction of a millisecond
VALUE_RANGE = (-1.0, 1.0)  # the tutorial's normalized images


@dataclass(frozen=True)
class GridCase:
    """One generated batch and the make_grid arguments it is laid out with."""

    batch: int
    nrow: int
    padding: int
    pad_value: float
    height: int
    width: int
    seed: int

    def describe(self) -> str:
        return (f"{self.batch} images of 3x{self.height}x{self.width}, nrow {self.nrow}, "
                f"padding {self.padding}, pad_value {self.pad_value:g}, seed {self.seed}")


def grid_cases() -> st.SearchStrategy[GridCase]:
    return st.builds(GridCase, batch=st.integers(*GRID_BATCHES),
                     nrow=st.integers(*ROW_LENGTHS), padding=st.integers(*PADDINGS),
                     pad_value=st.sampled_from(PAD_VALUES), height=st.integers(*SIDES),
                     width=st.integers(*SIDES), seed=st.integers(0, 2**16))


def tile_slot(k: int, per_row: int, height: int, width: int,
              padding: int) -> tuple[slice, slice]:
    """Rows and columns of image k in the grid."""
    top = padding + (k // per_row) * (height + padding)
    left = padding + (k % per_row) * (width + padding)
    return slice(top, top + height), slice(left, left + width)


def expected_grid(images: torch.Tensor, nrow: int, padding: int,
                  pad_value: float) -> torch.Tensor:
    """The grid the layout rule gives for a (B, C, H, W) batch."""
    count, channels, height, width = images.shape
    per_row = min(nrow, count)
    rows = math.ceil(count / per_row)
    grid = torch.full((channels, rows * (height + padding) + padding,
                       per_row * (width + padding) + padding), pad_value, dtype=images.dtype)
    for k in range(count):
        grid[(slice(None), *tile_slot(k, per_row, height, width, padding))] = images[k]
    return grid


def grid_problem(case: GridCase, device: torch.device) -> str | None:
    """None when make_grid lays ``case`` out by the rule; else what differs first."""
    torch.manual_seed(case.seed)
    images = torch.testing.make_tensor((case.batch, 3, case.height, case.width),
                                       dtype=torch.float32, device=device,
                                       low=VALUE_RANGE[0], high=VALUE_RANGE[1])
    grid = torchvision.utils.make_grid(images, nrow=case.nrow, padding=case.padding,
                                       pad_value=case.pad_value).cpu()
    images = images.cpu()
    expected = expected_grid(images, case.nrow, case.padding, case.pad_value)
    if grid.shape != expected.shape:
        return f"grid is {tuple(grid.shape)}, the rule gives {tuple(expected.shape)}"
    per_row = min(case.nrow, case.batch)
    for k in range(case.batch):
        rows, columns = tile_slot(k, per_row, case.height, case.width, case.padding)
        if not torch.equal(grid[:, rows, columns], images[k]):
            return f"image {k} is not at row {k // per_row}, column {k % per_row}"
    if not torch.equal(grid, expected):
        wrong = (grid != expected).nonzero()[0].tolist()
        return (f"padding pixel {tuple(wrong)} is {float(grid[tuple(wrong)]):g}, not "
                f"pad_value {case.pad_value:g}")
    return None

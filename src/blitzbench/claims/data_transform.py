"""The tutorial's transform judged per channel and per pixel against its definition.

ToTensor then Normalize((0.5,) * 3, (0.5,) * 3) is defined pixel by pixel: channel c of
pixel (y, x) with value v becomes (v / 255 - mean_c) / std_c, so 0 goes to -1 and 255 to 1
exactly, and the tutorial's ``img / 2 + 0.5`` gives v / 255 back. The tutorial shows it on
whole CIFAR images, where a transform wrong for one channel's order, or only for images of
another size, would pass unseen; here it is judged on every channel and pixel of generated
images of any size (claims/properties.py draws them) and of fixed ones.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from blitzbench.workloads.cifar import (
    NORMALIZE_MEAN,
    NORMALIZE_STD,
    tutorial_transform,
    unnormalize,
)

__all__ = ["IMAGE_SIDES", "defined", "describe_pixels", "fixed_problem", "pixel_images",
           "ramp_image", "transform_problem"]

PIXEL_LEVELS = 256  # every uint8 value, 0..255
CHANNEL_SHIFT = 85  # the ramp image's channels hold the levels rolled by 0, 85, 170
VALUE_ATOL = 1e-6  # float32 rounding of v/255 and of the normalization
IMAGE_SIDES = (1, 8)  # generated images for the transform: any size, square or not


def pixel_images() -> st.SearchStrategy[np.ndarray]:
    """H x W x 3 uint8 images of any content; Hypothesis shrinks toward 1x1 black."""
    return hnp.arrays(np.uint8, st.tuples(st.integers(*IMAGE_SIDES),
                                          st.integers(*IMAGE_SIDES), st.just(3)))


def defined(pixels: np.ndarray) -> torch.Tensor:
    """(v / 255 - mean_c) / std_c for every channel c and pixel, in float64."""
    values = torch.from_numpy(pixels).permute(2, 0, 1).double() / 255
    mean = torch.tensor(NORMALIZE_MEAN, dtype=torch.float64).view(3, 1, 1)
    std = torch.tensor(NORMALIZE_STD, dtype=torch.float64).view(3, 1, 1)
    return (values - mean) / std


def transform_problem(pixels: np.ndarray) -> str | None:
    """None when the tutorial's transform maps this H x W x 3 uint8 image as its
    definition says (per channel, per pixel; 0 to -1 and 255 to 1 exactly; img/2 + 0.5
    gives v/255 back); else the first pixel where it does not."""
    out = tutorial_transform()(Image.fromarray(pixels))
    if tuple(out.shape) != (3, *pixels.shape[:2]) or out.dtype != torch.float32:
        return f"gave {out.dtype} of shape {tuple(out.shape)}"
    expected = defined(pixels)
    error = (out.double() - expected).abs()
    ends = np.moveaxis(pixels, -1, 0)
    exact = torch.from_numpy((ends == 0) | (ends == 255))
    recovered = (unnormalize(out).double() - expected / 2 - 0.5).abs()
    for name, bad in (("value", error > VALUE_ATOL), ("end point", exact & (error > 0)),
                      ("img/2 + 0.5", recovered > VALUE_ATOL)):
        if bool(bad.any()):
            c, y, x = bad.nonzero()[0].tolist()
            return (f"{name} wrong at channel {c}, pixel ({y}, {x}): {int(pixels[y, x, c])} "
                    f"became {float(out[c, y, x]):.6f}, defined {float(expected[c, y, x]):.6f}")
    return None


def describe_pixels(pixels: np.ndarray) -> str:
    """The image's size and every value, for the evidence (clipped there)."""
    return f"{pixels.shape[0]}x{pixels.shape[1]} RGB image {pixels.tolist()}"


def ramp_image() -> np.ndarray:
    """A 16 x 16 image holding all 256 levels in each channel, the channels rolled apart."""
    levels = np.arange(PIXEL_LEVELS, dtype=np.uint8)
    return np.stack([np.roll(levels, CHANNEL_SHIFT * c).reshape(16, 16) for c in range(3)],
                    axis=-1)


def fixed_problem(images: list[np.ndarray]) -> str | None:
    """The first of the fixed images the transform gets wrong, and how."""
    for number, pixels in enumerate(images):
        problem = transform_problem(pixels)
        if problem is not None:
            return f"{problem} on fixed image {number} ({describe_pixels(pixels)[:60]}...)"
    return None

"""Breakages for the 'lenet' claims.

The first two are seen by the tutorial's own example (a missing bias changes the parameter
count; an optimizer that never steps never learns). The others are not: each is wrong only
away from the tutorial's one forward pass of a batch of 4 images of 32x32 (a second image in
the batch, a non-square image, a negative input to the pooling, a batch of odd size), or
only after the first few optimizer steps, or only for batch sizes other than 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from breakages.model import Breakage

CONV_SHIFT = 0.01  # added to every image after the first: 100x the layer check's tolerance
STEPS_BEFORE_STALL = 10  # SGD.step updates this many times, then does nothing
TUTORIAL_BATCH = 4


def _linear_without_bias() -> None:
    """nn.Linear ignoring bias=True: LeNet loses its 214 fully connected biases."""
    original = nn.Linear.__init__

    def init(self, in_features, out_features, bias=True, device=None, dtype=None):
        original(self, in_features, out_features, False, device, dtype)

    nn.Linear.__init__ = init


def _sgd_step_noop() -> None:
    """torch.optim.SGD.step doing nothing: the weights never change."""
    torch.optim.SGD.step = lambda self, closure=None: None


def _conv2d_wrong_after_first_image() -> None:
    """F.conv2d right for the first image of a batch, off by CONV_SHIFT for the others:
    shapes and a batch of one are untouched."""
    original = F.conv2d

    def conv2d(input, *args, **kwargs):
        out = original(input, *args, **kwargs)
        if out.dim() == 4 and out.shape[0] > 1:
            out = torch.cat([out[:1], out[1:] + CONV_SHIFT])
        return out

    F.conv2d = conv2d


def _conv2d_flipped_on_non_square() -> None:
    """F.conv2d flipping its kernel left-right on non-square images (LeNet's are square)."""
    original = F.conv2d

    def conv2d(input, weight, *args, **kwargs):
        if input.shape[-1] != input.shape[-2]:
            weight = weight.flip(-1)
        return original(input, weight, *args, **kwargs)

    F.conv2d = conv2d


def _max_pool_clamps_negatives() -> None:
    """F.max_pool2d never returning a negative maximum: invisible in LeNet, whose pooling
    always follows a ReLU."""
    original = F.max_pool2d

    def max_pool2d(input, *args, **kwargs):
        out = original(input, *args, **kwargs)
        return out.clamp_min(0) if isinstance(out, torch.Tensor) else out

    F.max_pool2d = max_pool2d


def _linear_drops_bias_for_odd_batches() -> None:
    """F.linear dropping the bias for batches of odd size above one (not 1, 4, 64 or 32)."""
    original = F.linear

    def linear(input, weight, bias=None):
        rows = input.shape[0] if input.dim() > 1 else 1
        return original(input, weight, None if rows > 1 and rows % 2 else bias)

    F.linear = linear


def _sgd_stalls_after_a_few_steps() -> None:
    """SGD.step updating STEPS_BEFORE_STALL times per optimizer, then nothing."""
    original = torch.optim.SGD.step

    def step(self, closure=None):
        taken = getattr(self, "_breakage_steps", 0)
        self._breakage_steps = taken + 1
        return original(self, closure) if taken < STEPS_BEFORE_STALL else None

    torch.optim.SGD.step = step


def _cross_entropy_shifts_targets() -> None:
    """CrossEntropyLoss scoring against the next class for batch sizes other than the
    tutorial's 4: the network learns a consistently wrong mapping."""
    original = nn.CrossEntropyLoss.forward

    def forward(self, input, target):
        if target.dim() == 1 and target.shape[0] != TUTORIAL_BATCH:
            target = (target + 1) % input.shape[-1]
        return original(self, input, target)

    nn.CrossEntropyLoss.forward = forward


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("lenet_linear_without_bias", "nn.Linear builds no bias",
             frozenset({"lenet.architecture"}), _linear_without_bias),
    Breakage("lenet_sgd_step_noop", "SGD.step does not update the parameters",
             frozenset({"lenet.learns"}), _sgd_step_noop),
    Breakage("lenet_conv2d_wrong_after_first_image",
             "F.conv2d is off for every image after the first of a batch",
             frozenset({"lenet.architecture"}), _conv2d_wrong_after_first_image,
             beyond_example=True),
    Breakage("lenet_conv2d_flipped_on_non_square",
             "F.conv2d flips its kernel on non-square images",
             frozenset({"lenet.architecture"}), _conv2d_flipped_on_non_square,
             beyond_example=True),
    Breakage("lenet_max_pool_clamps_negatives", "F.max_pool2d never returns a negative",
             frozenset({"lenet.architecture"}), _max_pool_clamps_negatives,
             beyond_example=True),
    Breakage("lenet_linear_drops_bias_for_odd_batches",
             "F.linear drops the bias for odd batch sizes above one",
             frozenset({"lenet.architecture"}), _linear_drops_bias_for_odd_batches,
             beyond_example=True),
    Breakage("lenet_sgd_stalls_after_a_few_steps",
             f"SGD.step stops updating after {STEPS_BEFORE_STALL} steps",
             frozenset({"lenet.learns"}), _sgd_stalls_after_a_few_steps,
             beyond_example=True),
    Breakage("lenet_cross_entropy_shifts_targets",
             "CrossEntropyLoss scores the next class for batch sizes other than 4",
             frozenset({"lenet.learns"}), _cross_entropy_shifts_targets,
             beyond_example=True),
)

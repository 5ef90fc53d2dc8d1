"""Helpers behind the LeNet claims: the vectorized conversion matches the tutorial's
transform, and the learning verdict follows its thresholds."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from blitzbench.claims.lenet import (
    MAX_LOSS_RATIO,
    MIN_ACCURACY,
    TrainingRun,
    as_tutorial_tensors,
)
from blitzbench.workloads.cifar import tutorial_transform


def test_vectorized_conversion_equals_totensor_then_normalize() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    pixels[0] = 0
    pixels[1] = 255
    expected = torch.stack([tutorial_transform()(Image.fromarray(p)) for p in pixels])
    torch.testing.assert_close(as_tutorial_tensors(pixels), expected, rtol=0, atol=1e-6)


def test_learned_needs_both_a_loss_drop_and_accuracy_above_the_threshold() -> None:
    def run(final_loss: float, accuracy: float) -> TrainingRun:
        return TrainingRun(100, 2.3, final_loss, 0.1, accuracy)

    good_loss = 2.3 * MAX_LOSS_RATIO * 0.99
    assert run(good_loss, MIN_ACCURACY + 0.01).learned
    assert not run(2.3 * MAX_LOSS_RATIO, MIN_ACCURACY + 0.01).learned
    assert not run(good_loss, MIN_ACCURACY).learned

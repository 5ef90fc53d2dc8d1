"""Helpers behind the LeNet claims: the vectorized conversion matches the tutorial's
transform, the learning verdict follows its thresholds, the layer definitions are what
they say (checked by hand), and the layer judge names a layer that departs from its own."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from PIL import Image

from blitzbench.claims import claim_by_id
from blitzbench.claims.lenet import (
    MAX_LOSS_RATIO,
    MIN_ACCURACY,
    TrainingRun,
    as_tutorial_tensors,
)
from blitzbench.claims.lenet_layers import (
    LayerCase,
    LayerJudge,
    conv2d_reference,
    linear_reference,
    max_pool_reference,
    relu_reference,
)
from blitzbench.workloads.cifar import tutorial_transform
from blitzbench.workloads.lenet import LeNet


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


def test_conv_reference_is_the_direct_sum() -> None:
    x = torch.arange(2 * 2 * 4 * 5, dtype=torch.float64).reshape(2, 2, 4, 5)
    w = torch.arange(3 * 2 * 2 * 3, dtype=torch.float64).reshape(3, 2, 2, 3) - 10
    b = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    out = conv2d_reference(x, w, b)
    assert out.shape == (2, 3, 3, 3)
    for n, o, i, j in itertools.product(range(2), range(3), range(3), range(3)):
        direct = b[o] + sum(x[n, c, i + u, j + v] * w[o, c, u, v]
                            for c in range(2) for u in range(2) for v in range(3))
        assert float(out[n, o, i, j]) == float(direct)


def test_pool_relu_and_linear_references_by_hand() -> None:
    x = torch.tensor([[[[-4.0, -3.0, 1.0], [-2.0, -5.0, 1.0], [7.0, 7.0, 9.0]]]])
    assert max_pool_reference(x).flatten().tolist() == [-2.0]  # negative window, edge dropped
    assert relu_reference(torch.tensor([-1.5, 0.0, 2.0])).tolist() == [0.0, 0.0, 2.0]
    weight, bias = torch.tensor([[1.0, 2.0], [0.0, -1.0]]), torch.tensor([10.0, 20.0])
    assert linear_reference(torch.tensor([[3.0, 4.0]]), weight, bias).tolist() == [[21.0, 16.0]]


def test_layer_judge_accepts_lenet_and_names_the_layer_that_differs() -> None:
    torch.manual_seed(0)
    model = LeNet().eval()
    case = LayerCase(batch=2, height=6, width=7, ties=True, seed=3)
    assert LayerJudge(model, torch.device("cpu"), tf32=False)(case) is None
    with torch.no_grad():
        model.pool = torch.nn.Sequential(model.pool, torch.nn.ReLU())  # pooling never < 0
    problem = LayerJudge(model, torch.device("cpu"), tf32=False)(case)
    assert problem is not None and problem.startswith("pool differs")


def test_architecture_declares_what_it_covers() -> None:
    claim = claim_by_id("lenet.architecture")
    assert claim.inputs is not None
    line = claim.inputs.coverage(25)
    assert line.startswith("LeNet's layers against their definitions: 25 inputs over")
    assert "conv1" in line and "forward" in line and "ties and zeros" in line

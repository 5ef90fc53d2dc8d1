"""LeNet's layers judged by what they compute, not only by their shapes.

Each layer of the tutorial's network is set beside its functional definition, written here
without the torch function that implements it: a convolution as an explicit sum over
unfolded patches (einsum), max-pooling as the maximum over each 2x2 window, ReLU as
max(x, 0), a linear layer as x @ W.T + b, the flatten as a C-order reshape, and the whole
forward as the composition of those definitions. The definitions run in float64 on the
layer's own parameters; the layer runs as the network runs it (float32).

The inputs are generated (claims/properties.py draws them): batch sizes beyond the
tutorial's, non-square images, negative values and exact ties (values on a half-integer
grid), since a convolution wrong only for a batch of more than one, or a pooling wrong only
on negative inputs, is invisible on the tutorial's one forward pass of 32x32 images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch import nn

__all__ = ["BATCH_SIZES", "LAYERS", "SIDES", "LayerCase", "LayerJudge", "conv2d_reference",
           "layer_cases", "linear_reference", "max_pool_reference", "relu_reference"]

BATCH_SIZES = (1, 6)  # smallest and largest generated batch (the tutorial shows one batch)
SIDES = (5, 12)  # image sides for the per-layer cases: a 5x5 kernel needs at least 5
FORWARD_SIDE = 32  # the whole network needs CIFAR's 32x32 (16 * 5 * 5 features into fc1)
VALUE_RANGE = (-3.0, 3.0)  # inputs of both signs, as a layer sees before a ReLU
TIE_STEP = 0.5  # the "ties" values lie on this grid: equal maxima and exact zeros abound
POOL = 2  # nn.MaxPool2d(2, 2)
# float32 layer against its float64 definition: the sums have at most 400 terms of size
# < 3 x 0.12 (LeNet's default init), so rounding stays near 1e-6 (measured worst: 2.5e-6,
# conv1, over the 25 quick inputs on torch 2.14.1); 1e-4 leaves margin and is still 100x
# below the smallest planted defect (1e-2). TF32 (CUDA convolutions by default) rounds
# inputs to a 10-bit mantissa: ~1e-3 of scale, hence 1e-2 there.
ATOL = 1e-4
TF32_ATOL = 1e-2
LAYERS = ("conv1", "relu", "pool", "conv2", "flatten", "fc1", "fc2", "fc3", "forward")


@dataclass(frozen=True)
class LayerCase:
    """One generated input: a batch size, an image size, a value kind and a seed."""

    batch: int
    height: int
    width: int
    ties: bool  # values on a TIE_STEP grid (ties, zeros) instead of continuous ones
    seed: int

    def describe(self) -> str:
        kind = "ties/zeros" if self.ties else "continuous"
        return (f"batch {self.batch}, images {self.height}x{self.width}, {kind} values, "
                f"seed {self.seed}")


def layer_cases() -> st.SearchStrategy[LayerCase]:
    """The generated inputs; Hypothesis shrinks toward batch 1, 5x5 images, seed 0."""
    return st.builds(LayerCase, batch=st.integers(*BATCH_SIZES), height=st.integers(*SIDES),
                     width=st.integers(*SIDES), ties=st.booleans(),
                     seed=st.integers(0, 2**16))


def conv2d_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """out[n, o, i, j] = b[o] + sum over c, u, v of x[n, c, i+u, j+v] * w[o, c, u, v]."""
    kh, kw = weight.shape[-2:]
    patches = x.unfold(2, kh, 1).unfold(3, kw, 1)  # (n, c, i, j, u, v)
    return torch.einsum("ncijuv,ocuv->noij", patches, weight) + bias.view(1, -1, 1, 1)


def max_pool_reference(x: torch.Tensor, size: int = POOL) -> torch.Tensor:
    """The maximum over each non-overlapping size x size window (a ragged edge dropped)."""
    return x.unfold(2, size, size).unfold(3, size, size).amax(dim=(-2, -1))


def relu_reference(x: torch.Tensor) -> torch.Tensor:
    """max(x, 0)."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def linear_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x @ W.T + b."""
    return x @ weight.T + bias


def _double(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    return layer.weight.detach().double(), layer.bias.detach().double()


def forward_reference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The tutorial's forward written with the definitions above, in float64."""
    x = max_pool_reference(relu_reference(conv2d_reference(x, *_double(model.conv1))))
    x = max_pool_reference(relu_reference(conv2d_reference(x, *_double(model.conv2))))
    x = x.reshape(x.shape[0], -1)
    x = relu_reference(linear_reference(x, *_double(model.fc1)))
    x = relu_reference(linear_reference(x, *_double(model.fc2)))
    return linear_reference(x, *_double(model.fc3))


class LayerJudge:
    """Checks one generated case against every definition; keeps the worst error seen per
    layer for the evidence."""

    def __init__(self, model: nn.Module, device: torch.device, tf32: bool) -> None:
        self.model, self.device = model, device
        self.atol = TF32_ATOL if tf32 else ATOL
        self.worst: dict[str, float] = dict.fromkeys(LAYERS, 0.0)

    def _values(self, *shape: int, ties: bool) -> torch.Tensor:
        x = torch.testing.make_tensor(shape, dtype=torch.float32, device=self.device,
                                      low=VALUE_RANGE[0], high=VALUE_RANGE[1])
        return torch.round(x / TIE_STEP) * TIE_STEP if ties else x

    def _pairs(self, case: LayerCase) -> list[tuple[str, Callable[[], torch.Tensor],
                                                     Callable[[], torch.Tensor]]]:
        m, n = self.model, case.batch
        image = self._values(n, 3, case.height, case.width, ties=case.ties)
        maps = self._values(n, 6, case.height, case.width, ties=case.ties)
        pooled = self._values(n, 16, 5, 5, ties=case.ties)
        full = self._values(n, 3, FORWARD_SIDE, FORWARD_SIDE, ties=case.ties)
        flat = {k: self._values(n, m.get_submodule(k).in_features, ties=case.ties)
                for k in ("fc1", "fc2", "fc3")}
        pairs = [("conv1", lambda: m.conv1(image), lambda: conv2d_reference(
                     image.double(), *_double(m.conv1))),
                 ("relu", lambda: torch.nn.functional.relu(maps),
                  lambda: relu_reference(maps.double())),
                 ("pool", lambda: m.pool(maps), lambda: max_pool_reference(maps.double())),
                 ("conv2", lambda: m.conv2(maps), lambda: conv2d_reference(
                     maps.double(), *_double(m.conv2))),
                 ("flatten", lambda: torch.flatten(pooled, 1),
                  lambda: pooled.double().reshape(n, -1))]
        pairs += [(k, lambda k=k: m.get_submodule(k)(flat[k]), lambda k=k: linear_reference(
                      flat[k].double(), *_double(m.get_submodule(k)))) for k in flat]
        return [*pairs, ("forward", lambda: m(full),
                         lambda: forward_reference(m, full.double()))]

    def __call__(self, case: LayerCase) -> str | None:
        """None when every layer equals its definition on ``case``; else the first that
        does not, with its error."""
        torch.manual_seed(case.seed)
        with torch.no_grad():
            for name, layer, definition in self._pairs(case):
                out, expected = layer(), definition()
                if out.shape != expected.shape:
                    return f"{name} gave shape {tuple(out.shape)}, its definition " \
                           f"{tuple(expected.shape)}"
                error = float((out.double() - expected).abs().max()) if out.numel() else 0.0
                self.worst[name] = max(self.worst[name], error)
                if not error <= self.atol:
                    return f"{name} differs from its definition by {error:.2e} " \
                           f"(tolerance {self.atol:.0e})"
        return None

"""Breakages for the 'lenet' claims."""

from __future__ import annotations

import torch
from torch import nn

from breakages.model import Breakage


def _linear_without_bias() -> None:
    """nn.Linear ignoring bias=True: LeNet loses its 214 fully connected biases."""
    original = nn.Linear.__init__

    def init(self, in_features, out_features, bias=True, device=None, dtype=None):
        original(self, in_features, out_features, False, device, dtype)

    nn.Linear.__init__ = init


def _sgd_step_noop() -> None:
    """torch.optim.SGD.step doing nothing: the weights never change."""
    torch.optim.SGD.step = lambda self, closure=None: None


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("lenet_linear_without_bias", "nn.Linear builds no bias",
             frozenset({"lenet.architecture"}), _linear_without_bias),
    Breakage("lenet_sgd_step_noop", "SGD.step does not update the parameters",
             frozenset({"lenet.learns"}), _sgd_step_noop),
)

"""Breakages: deliberate defects planted in torch/numpy/torchvision to prove each claim
check can fail. One module per claim section; each lists ``BREAKAGES``."""

from __future__ import annotations

from breakages import (
    autograd,
    cuda,
    data,
    ddp,
    inplace,
    lenet,
    main_guard,
    numpy_bridge,
    scaling,
    tensors,
)
from breakages.model import Breakage

ALL_BREAKAGES: tuple[Breakage, ...] = tuple(
    b for m in (tensors, inplace, numpy_bridge, cuda, autograd, scaling, data, main_guard,
                lenet, ddp)
    for b in m.BREAKAGES)

BY_NAME = {b.name: b for b in ALL_BREAKAGES}

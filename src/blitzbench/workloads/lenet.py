"""The tutorial's LeNet and its training step: the one copy every part of blitzbench uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LEARNING_RATE", "MOMENTUM", "LeNet", "TrainStep", "make_train_step",
           "parameter_count", "synthetic_batch"]

LEARNING_RATE = 0.001  # the blitz's SGD settings
MOMENTUM = 0.9
NUM_CLASSES = 10


class LeNet(nn.Module):
    """conv 3->6 (5x5), max-pool 2, conv 6->16 (5x5), max-pool 2, fc 400->120->84->10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def synthetic_batch(batch_size: int, device: torch.device | str,
                    generator: torch.Generator | None = None,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalized-range image batch and int64 labels, made on the CPU for repeatability."""
    images = torch.rand(batch_size, 3, 32, 32, generator=generator) * 2 - 1
    labels = torch.randint(0, NUM_CLASSES, (batch_size,), generator=generator)
    return images.to(device), labels.to(device)


@dataclass(frozen=True)
class TrainStep:
    """A model, its optimizer and loss, and the callable that does one step."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_train_step(device: torch.device | str, *, lr: float = LEARNING_RATE,
                    momentum: float = MOMENTUM, seed: int = 0,
                    model: nn.Module | None = None) -> TrainStep:
    """The blitz's step: zero grads, forward, CrossEntropyLoss, backward, SGD update.
    Returns the loss tensor without reading it, so CUDA work stays asynchronous."""
    if model is None:
        torch.manual_seed(seed)
        model = LeNet()
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = nn.CrossEntropyLoss()

    def step(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    return TrainStep(model, optimizer, step)

"""Seeding: one place that fixes every random generator a run draws from."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["DEFAULT_SEED", "seed_everything"]

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Python, NumPy and torch (all devices) generators, so every run draws the same data."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

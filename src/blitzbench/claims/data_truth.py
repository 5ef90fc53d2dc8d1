"""CIFAR-10 as torchvision reads it, set against what the synthetic set's generator says
every image and label is (workloads/cifar.py: synthetic_truth).

The tutorial prints the train split's length; the statement behind it is that the reader
hands back the data set's own images with their own labels. Every label of both splits is
compared, and the raw images and the items (``split[i]``: image through the tutorial's
transform, label) of each file's first and last image and of a seeded sample.
"""

from __future__ import annotations

import re

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from blitzbench.claims.properties import budget
from blitzbench.workloads.cifar import (
    SYNTHETIC_MARKER,
    SYNTHETIC_SEED,
    TRAIN_FILES,
    DataSource,
    synthetic_truth,
    tutorial_transform,
)

__all__ = ["TRUTH_SAMPLE", "synthetic_seed", "truth_problem"]

TRUTH_SAMPLE = 64  # seeded images per split compared with the regenerated truth
SEED_IN_MARKER = re.compile(r"seed (\d+)")  # write_synthetic_cifar10's marker line


def synthetic_seed(source: DataSource) -> int:
    """The seed the synthetic set was written with, as its marker file states it."""
    marker = SEED_IN_MARKER.search((source.root / SYNTHETIC_MARKER).read_text())
    return int(marker.group(1)) if marker else SYNTHETIC_SEED


def truth_indices(count: int, files: int, rng: np.random.Generator) -> list[int]:
    """Every file's first and last image, and a seeded sample of the rest."""
    ends = [int(i) for part in np.array_split(np.arange(count), files) if len(part)
            for i in (part[0], part[-1])]
    sample = rng.choice(count, size=min(budget(TRUTH_SAMPLE), count), replace=False).tolist()
    return sorted(set(ends + sample))


def split_problem(split: Dataset, wanted: list[int], pixels: np.ndarray,
                   labels: np.ndarray) -> str | None:
    """None when the split's labels, raw images and items equal the regenerated ones."""
    read = np.asarray(split.targets)
    if read.shape != labels.shape or not np.array_equal(read, labels):
        first = int(np.flatnonzero(read[:len(labels)] != labels[:len(read)])[:1].sum())
        return f"labels differ from the generator's (first at image {first})"
    for index, truth in zip(wanted, pixels, strict=True):
        image, label = split[index]
        if not np.array_equal(split.data[index], truth):
            return f"image {index} is not the generator's"
        if label != labels[index] or not torch.equal(
                image, tutorial_transform()(Image.fromarray(truth))):
            return f"item {index} (image, label) is not the generator's"
    return None


def truth_problem(source: DataSource, seed: int,
                  splits: dict[bool, Dataset]) -> tuple[str | None, int]:
    """Both splits against synthetic_truth (images sampled with ``seed``); the problem and
    how many images were compared."""
    rng = np.random.default_rng(seed)
    wanted = {train: truth_indices(len(split), TRAIN_FILES if train else 1, rng)
              for train, split in splits.items()}
    truth = synthetic_truth(wanted, seed=synthetic_seed(source),
                            train_count=len(splits[True]), test_count=len(splits[False]))
    compared = sum(map(len, wanted.values()))
    for train, split in splits.items():
        problem = split_problem(split, wanted[train], *truth[train])
        if problem is not None:
            return f"{'train' if train else 'test'} split: {problem}", compared
    return None, compared

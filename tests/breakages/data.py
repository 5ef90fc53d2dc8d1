"""Breakages for the 'data' claims (transform, CIFAR-10, DataLoader, make_grid)."""

from __future__ import annotations

import torch
import torchvision
import torchvision.transforms as T
from torch.utils.data import RandomSampler
from torch.utils.data.dataloader import _BaseDataLoaderIter

from breakages.model import Breakage


def _normalize_wrong_std() -> None:
    """transforms.Normalize using twice the std it is given: pixels land in [-0.5, 0.5]."""
    original = T.Normalize.__init__

    def init(self, mean, std, inplace=False):
        original(self, mean, [2 * s for s in std], inplace)

    T.Normalize.__init__ = init


def _cifar_drops_batch() -> None:
    """torchvision's CIFAR10 reader skipping the last training batch file (40,000 images)."""
    torchvision.datasets.CIFAR10.train_list = torchvision.datasets.CIFAR10.train_list[:-1]


def _sampler_with_replacement() -> None:
    """The shuffling sampler drawing indices with replacement: some images twice per
    epoch, others never."""

    def draw(self):
        n = len(self.data_source)
        generator = self.generator or torch.Generator().manual_seed(0)
        yield from torch.randint(n, (self.num_samples,), generator=generator).tolist()

    RandomSampler.__iter__ = draw


def _iterator_next_restored() -> None:
    """DataLoader iterators growing the Python 2 style .next() method again."""
    _BaseDataLoaderIter.next = lambda self: next(self)


def _make_grid_unpadded() -> None:
    """torchvision.utils.make_grid defaulting to no padding between images."""
    original = torchvision.utils.make_grid

    def make_grid(tensor, *args, **kwargs):
        kwargs.setdefault("padding", 0)
        return original(tensor, *args, **kwargs)

    torchvision.utils.make_grid = make_grid


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("data_normalize_wrong_std", "Normalize uses twice the given std",
             frozenset({"data.normalize"}), _normalize_wrong_std),
    Breakage("data_cifar_drops_batch", "CIFAR10 reads only 4 of the 5 training batches",
             frozenset({"data.cifar_layout"}), _cifar_drops_batch),
    Breakage("data_sampler_with_replacement", "shuffling samples with replacement",
             frozenset({"data.loader"}), _sampler_with_replacement),
    Breakage("data_iterator_next_restored", "DataLoader iterators have .next() again",
             frozenset({"data.dataiter_next"}), _iterator_next_restored),
    Breakage("data_make_grid_unpadded", "make_grid defaults to padding 0",
             frozenset({"data.make_grid"}), _make_grid_unpadded),
)

"""Breakages for the 'data' claims (transform, CIFAR-10, DataLoader, make_grid).

The first five are seen by the tutorial's own example. The others are not: each is wrong
only away from it (one channel's order, odd-width images, a training file the example
never opens, the test split's labels, a second epoch, a batch after the first one shown,
a single-process or unshuffled loader's iterator, a grid whose last row is not full, a pad
value other than the default).
"""

from __future__ import annotations

import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from torch.utils.data._utils import collate as collate_module
from torch.utils.data.dataloader import (
    _BaseDataLoaderIter,
    _MultiProcessingDataLoaderIter,
    _SingleProcessDataLoaderIter,
)

from breakages.model import Breakage

TUTORIAL_BATCH = 4


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


def _to_tensor_bgr() -> None:
    """ToTensor returning colour images with their channels in BGR order (a grey image, or
    any one channel alone, looks right)."""
    original = TF.to_tensor

    def to_tensor(pic):
        out = original(pic)
        return out.flip(0) if out.dim() == 3 and out.shape[0] == 3 else out

    TF.to_tensor = to_tensor


def _to_tensor_odd_width() -> None:
    """ToTensor dividing by 256 instead of 255 for images of odd width (CIFAR's are 32)."""
    original = TF.to_tensor

    def to_tensor(pic):
        out = original(pic)
        return out * (255 / 256) if out.shape[-1] % 2 else out

    TF.to_tensor = to_tensor


def _cifar_reads_a_file_twice() -> None:
    """torchvision's CIFAR10 reading data_batch_5 in place of data_batch_4: still 50,000
    images with labels, 10,000 of them twice and 10,000 never."""
    files = torchvision.datasets.CIFAR10.train_list
    torchvision.datasets.CIFAR10.train_list = [*files[:3], files[4], files[4]]


def _cifar_test_labels_shifted() -> None:
    """CIFAR10 items of the test split carrying the next image's label (the raw arrays stay
    right; the tutorial only prints the train split's length)."""
    original = torchvision.datasets.CIFAR10.__getitem__

    def getitem(self, index):
        image, label = original(self, index)
        return (image, label) if self.train else (image, self.targets[(index + 1) % len(self)])

    torchvision.datasets.CIFAR10.__getitem__ = getitem


def _sampler_repeats_in_second_epoch() -> None:
    """The shuffling sampler right in its first epoch; from its second on, the last index
    drawn repeats the first (one image twice, another never)."""
    original = RandomSampler.__iter__

    def draw(self):
        epoch = getattr(self, "_breakage_epochs", 0)
        self._breakage_epochs = epoch + 1
        drawn = list(original(self))
        if epoch >= 1 and len(drawn) > 1:
            drawn[-1] = drawn[0]
        yield from drawn

    RandomSampler.__iter__ = draw


def _workers_swap_first_batches() -> None:
    """With workers, the first two batches of an epoch delivered in swapped order: every
    image still comes once, just not in the order the sampler drew."""
    original = _MultiProcessingDataLoaderIter._next_data

    def next_data(self):
        held = getattr(self, "_breakage_held", None)
        if held is not None:
            self._breakage_held = None
            return held
        first = original(self)
        if getattr(self, "_breakage_swapped", False):
            return first
        self._breakage_swapped = True
        try:
            second = original(self)
        except StopIteration:
            return first
        self._breakage_held = first
        return second

    _MultiProcessingDataLoaderIter._next_data = next_data


def _collate_rolls_labels_off_batch_4() -> None:
    """The loader's collate pairing each image with its neighbour's label in batches of any
    size but the tutorial's 4 (a batch of 4 is untouched)."""
    original = collate_module.default_collate

    def collate(batch):
        images, labels, *rest = original(batch)
        if len(labels) not in (1, TUTORIAL_BATCH):
            labels = labels.roll(1)
        return (images, labels, *rest)

    collate_module.default_collate = collate


def _next_restored_single_process() -> None:
    """.next() back on single-process loader iterators only (the tutorial's has 2 workers)."""
    _SingleProcessDataLoaderIter.next = lambda self: next(self)


def _next_restored_unshuffled() -> None:
    """.next() back on iterators of unshuffled loaders (the tutorial's testloader)."""
    original = DataLoader._get_iterator

    def get_iterator(self):
        iterator = original(self)
        if isinstance(self.sampler, SequentialSampler):
            iterator.next = iterator.__next__
        return iterator

    DataLoader._get_iterator = get_iterator


def _make_grid_last_tile_misplaced() -> None:
    """make_grid putting the last image in the last column when the last row is not full
    (the tutorial's 4 images fill their row)."""
    original = torchvision.utils.make_grid

    def make_grid(tensor, nrow=8, padding=2, *args, **kwargs):
        grid = original(tensor, nrow, padding, *args, **kwargs)
        count = len(tensor)
        per_row = min(nrow, count)
        if count > 1 and count % per_row:
            height, width = tensor.shape[-2] + padding, tensor.shape[-1] + padding
            top = padding + (count - 1) // per_row * height
            left = padding + (per_row - 1) * width
            grid[:, top:top + height - padding, left:left + width - padding] = tensor[-1]
        return grid

    torchvision.utils.make_grid = make_grid


def _make_grid_ignores_pad_value() -> None:
    """make_grid padding with 0 whatever pad_value says (the tutorial uses the default 0)."""
    original = torchvision.utils.make_grid

    def make_grid(tensor, *args, **kwargs):
        kwargs["pad_value"] = 0.0
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
    Breakage("data_to_tensor_bgr", "ToTensor returns colour channels in BGR order",
             frozenset({"data.normalize"}), _to_tensor_bgr,
             beyond_example=True),
    Breakage("data_to_tensor_odd_width", "ToTensor divides by 256 on odd-width images",
             frozenset({"data.normalize"}), _to_tensor_odd_width,
             beyond_example=True),
    Breakage("data_cifar_reads_a_file_twice", "CIFAR10 reads data_batch_5 in place of 4",
             frozenset({"data.cifar_layout"}), _cifar_reads_a_file_twice,
             beyond_example=True),
    Breakage("data_cifar_test_labels_shifted", "test items carry the next image's label",
             frozenset({"data.cifar_layout"}), _cifar_test_labels_shifted,
             beyond_example=True),
    Breakage("data_sampler_repeats_in_second_epoch",
             "the sampler repeats an index from its second epoch on",
             frozenset({"data.loader"}), _sampler_repeats_in_second_epoch,
             beyond_example=True),
    Breakage("data_workers_swap_first_batches",
             "with workers, an epoch's first two batches come swapped",
             frozenset({"data.loader"}), _workers_swap_first_batches,
             beyond_example=True),
    Breakage("data_collate_rolls_labels_off_batch_4",
             "collate pairs images with a neighbour's label unless the batch is 4",
             frozenset({"data.loader"}), _collate_rolls_labels_off_batch_4,
             beyond_example=True),
    Breakage("data_next_restored_single_process",
             "single-process loader iterators have .next() again",
             frozenset({"data.dataiter_next"}), _next_restored_single_process,
             beyond_example=True),
    Breakage("data_next_restored_unshuffled", "unshuffled loaders' iterators have .next()",
             frozenset({"data.dataiter_next"}), _next_restored_unshuffled,
             beyond_example=True),
    Breakage("data_make_grid_last_tile_misplaced",
             "make_grid puts the last image in the last column of a partial row",
             frozenset({"data.make_grid"}), _make_grid_last_tile_misplaced,
             beyond_example=True),
    Breakage("data_make_grid_ignores_pad_value", "make_grid pads with 0 whatever pad_value",
             frozenset({"data.make_grid"}), _make_grid_ignores_pad_value,
             beyond_example=True),
)

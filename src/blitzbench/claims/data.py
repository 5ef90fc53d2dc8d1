"""Claims of the tutorial's CIFAR-10 section: the transform, the data set, the loader,
``dataiter.next()`` and ``make_grid``.

These are claims about data, the same on every device; on CUDA each judge also moves its
tensors to the device (from pinned memory, as a GPU training loop would) and checks they
arrive intact. Every summary names the data set used: synthetic or real CIFAR-10.

The data set objects are cached per data source for the life of the process: reading the
train split through torchvision takes ~0.4 s, and five judges use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.data import Dataset

from blitzbench.claims.model import Claim, ClaimContext, Outcome, Verdict
from blitzbench.claims.verdicts import judged
from blitzbench.workloads.cifar import (
    CLASSES,
    IMAGE_SHAPE,
    TEST_COUNT,
    TRAIN_COUNT,
    DataSource,
    make_loader,
    tutorial_split,
    tutorial_transform,
    unnormalize,
)

__all__ = ["CLAIMS", "SECTION", "IndexedSubset", "data_label"]

SECTION = "data"
WHERE = "LeNet / 显示CIFAR数据集图片"
BATCH_SIZE = 4  # the tutorial's loader settings
NUM_WORKERS = 2
PIXEL_LEVELS = 256  # every uint8 value, 0..255
VALUE_ATOL = 1e-6  # float32 rounding of v/255 and of the normalization
BATCHES_MOVED = 3  # batches copied to the device and back on CUDA
EPOCH_SUBSET = 500  # images in the once-per-epoch test: 125 batches, ~1 CPU-second in all
GRID_SHAPE = (3, 36, 138)  # 4 images in one row, padding 2: 32 + 2*2 high, 4*(32+2) + 2 wide
GRID_PADDING = 2  # make_grid's default


class IndexedSubset(Dataset):
    """A subset of a data set whose items also carry their index in the full set, so a
    loader's epoch can be checked for each image appearing exactly once."""

    def __init__(self, dataset: Dataset, indices: list[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[Any, Any, int]:
        index = self.indices[position]
        image, label = self.dataset[index]
        return image, label, index


def data_label(source: DataSource) -> str:
    """Which CIFAR-10 a summary speaks of, short enough for the claim matrix's column."""
    return "synthetic CIFAR-10" if source.synthetic else f"real CIFAR-10 at {source.root}"


def _arrives_intact(tensor: torch.Tensor, device: torch.device) -> bool:
    """Copy a (pinned, on CUDA) host tensor to ``device`` and back; true if unchanged."""
    if device.type != "cuda":
        return True
    moved = tensor.to(device, non_blocking=True)
    torch.cuda.synchronize(device)  # the copy is asynchronous from pinned memory
    return torch.equal(moved.cpu(), tensor)


def judge_normalize(ctx: ClaimContext) -> Outcome:
    levels = np.arange(PIXEL_LEVELS, dtype=np.uint8).reshape(16, 16)
    picture = Image.fromarray(np.stack([levels] * 3, axis=-1))
    normalized = tutorial_transform()(picture)
    values = normalized[0].flatten()
    expected = torch.arange(PIXEL_LEVELS, dtype=torch.float32) * 2 / 255 - 1
    recovered = unnormalize(normalized.to(ctx.device)).cpu()
    channels_equal = all(torch.equal(normalized[c], normalized[0]) for c in range(3))
    ok = (channels_equal and float(values[0]) == -1.0 and float(values[-1]) == 1.0
          and bool((values[1:] > values[:-1]).all())
          and torch.allclose(values, expected, rtol=0, atol=VALUE_ATOL)
          and torch.allclose(recovered[0].flatten(), (expected + 1) / 2, rtol=0,
                             atol=VALUE_ATOL)
          and _arrives_intact(normalized, ctx.device))
    return judged(ok, Verdict.HOLDS,
                  f"pixels 0..255 map to [{float(values[0]):g}, {float(values[-1]):g}], "
                  f"strictly increasing; img/2 + 0.5 gives back v/255 (max error "
                  f"{float((recovered[0].flatten() - (expected + 1) / 2).abs().max()):.1e})",
                  first=float(values[0]), last=float(values[-1]),
                  pixel_128=float(values[128]),
                  max_error=float((values - expected).abs().max()),
                  strictly_increasing=bool((values[1:] > values[:-1]).all()))


def judge_layout(ctx: ClaimContext) -> Outcome:
    train, test = tutorial_split(ctx.data, True), tutorial_split(ctx.data, False)
    image, _ = train[0]
    sizes = (len(train), len(test))
    raw_shape = tuple(train.data.shape)
    labels = {split: sorted(set(np.asarray(d.targets).tolist()))
              for split, d in (("train", train), ("test", test))}
    order_ok = tuple(train.classes) == CLASSES and tuple(test.classes) == CLASSES
    ok = (sizes == (TRAIN_COUNT, TEST_COUNT) and raw_shape == (TRAIN_COUNT, 32, 32, 3)
          and tuple(image.shape) == IMAGE_SHAPE and image.dtype == torch.float32
          and order_ok and all(v == list(range(len(CLASSES))) for v in labels.values())
          and _arrives_intact(image, ctx.device))
    return judged(ok, Verdict.HOLDS,
                  f"{data_label(ctx.data)}: {sizes[0]:,} train / {sizes[1]:,} test images "
                  f"of {'x'.join(map(str, image.shape))}, classes in the tutorial's order: "
                  f"{order_ok}",
                  data_set=ctx.data.describe(), data_kind=ctx.data.kind,
                  train_images=sizes[0], test_images=sizes[1], raw_shape=list(raw_shape),
                  image_shape=list(image.shape), classes=list(train.classes),
                  labels_seen=labels)


def _loader(dataset: Dataset, ctx: ClaimContext) -> torch.utils.data.DataLoader:
    """The tutorial's loader (batch 4, shuffled, 2 workers); pinned on CUDA."""
    return make_loader(dataset, BATCH_SIZE, shuffle=True, num_workers=NUM_WORKERS,
                       pin_memory=ctx.device.type == "cuda", seed=ctx.seed)


@dataclass(frozen=True)
class EpochObservation:
    """One epoch of the tutorial's loader over a seeded subset of the train split."""

    chosen: list[int]  # the subset's indices into the train split, sorted
    seen: list[int]  # the indices in the order the loader delivered them
    shapes: frozenset[tuple[int, ...]]  # image batch shapes (EPOCH_SUBSET is a multiple of 4)
    dtypes: frozenset[tuple[str, str]]  # (images, labels)
    labels_match: bool  # every label is the data set's label for that image
    arrived_intact: bool  # the first batches survive the copy to the device (CUDA)

    @property
    def each_once(self) -> bool:
        return sorted(self.seen) == self.chosen

    @property
    def shuffled(self) -> bool:
        return self.seen != self.chosen


def _epoch(ctx: ClaimContext) -> EpochObservation:
    """One epoch over EPOCH_SUBSET seeded train indices through the tutorial's loader.

    A subset keeps the check to about a second: with 2 workers each batch of 4 costs a few
    milliseconds of inter-process traffic, so all 50,000 images would take over 30 s."""
    train = tutorial_split(ctx.data, True)
    rng = np.random.default_rng(ctx.seed)
    chosen = sorted(rng.choice(len(train), size=EPOCH_SUBSET, replace=False).tolist())
    targets = np.asarray(train.targets)
    seen: list[int] = []
    shapes, dtypes = set(), set()
    labels_match = intact = True
    for number, (images, labels, indices) in enumerate(
            _loader(IndexedSubset(train, chosen), ctx)):
        shapes.add(tuple(images.shape))
        dtypes.add((str(images.dtype), str(labels.dtype)))
        labels_match &= bool((labels.numpy() == targets[indices.numpy()]).all())
        if number < BATCHES_MOVED:
            intact &= _arrives_intact(images, ctx.device)
        seen += indices.tolist()
    return EpochObservation(chosen, seen, frozenset(shapes), frozenset(dtypes),
                            labels_match, intact)


def judge_loader(ctx: ClaimContext) -> Outcome:
    epoch = _epoch(ctx)
    batch_ok = (epoch.shapes == {(BATCH_SIZE, *IMAGE_SHAPE)}
                and epoch.dtypes == {("torch.float32", "torch.int64")})
    ok = (batch_ok and epoch.labels_match and epoch.arrived_intact and epoch.each_once
          and epoch.shuffled)
    return judged(ok, Verdict.HOLDS,
                  f"{data_label(ctx.data)}: batches {sorted(epoch.shapes)} float32 with "
                  f"int64 labels; over an epoch of {EPOCH_SUBSET:,} images each came once: "
                  f"{epoch.each_once}, shuffled: {epoch.shuffled}",
                  data_set=ctx.data.describe(),
                  batch_shapes=sorted(list(s) for s in epoch.shapes),
                  dtypes=sorted(epoch.dtypes), epoch_subset=EPOCH_SUBSET,
                  epoch_items=len(epoch.seen), distinct_items=len(set(epoch.seen)),
                  each_once=epoch.each_once, shuffled=epoch.shuffled,
                  first_indices=epoch.seen[:8], labels_match_data_set=epoch.labels_match,
                  pinned=ctx.device.type == "cuda",
                  arrived_intact_on_device=epoch.arrived_intact,
                  note=f"a seeded Subset of {EPOCH_SUBSET:,} train images (not all 50,000, "
                       f"to stay fast) through make_loader with the tutorial's settings")


def judge_dataiter_next(ctx: ClaimContext) -> Outcome:
    dataiter = iter(_loader(tutorial_split(ctx.data, True), ctx))
    try:
        try:
            legacy = dataiter.next()
        except AttributeError as exc:
            legacy_error = str(exc)
        else:
            return Outcome(Verdict.HOLDS, "dataiter.next() works again: the tutorial's "
                           "legacy method is back",
                           {"returned": type(legacy).__name__,
                            "iterator": type(dataiter).__name__})
        images, labels = next(dataiter)
    finally:
        del dataiter  # shuts the two workers down now rather than at garbage collection
    ok = tuple(images.shape) == (BATCH_SIZE, *IMAGE_SHAPE) and labels.dtype == torch.int64
    return judged(ok, Verdict.OUTDATED,
                  f"dataiter.next() raises AttributeError; next(dataiter) gives images "
                  f"{tuple(images.shape)} and labels {tuple(labels.shape)} "
                  f"({data_label(ctx.data)})",
                  legacy_error=legacy_error, images_shape=list(images.shape),
                  labels=labels.tolist(), data_set=ctx.data.describe(),
                  modern_form="next(dataiter)")


def judge_make_grid(ctx: ClaimContext) -> Outcome:
    train = tutorial_split(ctx.data, True)
    images = torch.stack([train[i][0] for i in range(BATCH_SIZE)]).to(ctx.device)
    grid = torchvision.utils.make_grid(images).cpu()
    images = images.cpu()
    step = IMAGE_SHAPE[2] + GRID_PADDING
    size = IMAGE_SHAPE[1]
    placed = [torch.equal(grid[:, GRID_PADDING:GRID_PADDING + size,
                               GRID_PADDING + j * step:GRID_PADDING + j * step + size],
                          images[j]) for j in range(BATCH_SIZE)]
    ok = tuple(grid.shape) == GRID_SHAPE and all(placed)
    return judged(ok, Verdict.HOLDS,
                  f"make_grid of {BATCH_SIZE} images ({data_label(ctx.data)}) is "
                  f"{'x'.join(map(str, grid.shape))}; each image at its padded slot: "
                  f"{all(placed)}",
                  grid_shape=list(grid.shape), expected_shape=list(GRID_SHAPE),
                  images_placed=placed, data_set=ctx.data.describe())


CLAIMS: tuple[Claim, ...] = (
    Claim("data.normalize", SECTION,
          "ToTensor followed by Normalize with mean 0.5 and std 0.5 per channel maps pixel "
          "values 0..255 onto [-1, 1] (0 to -1, 255 to 1, in order), and img / 2 + 0.5 "
          "undoes the normalization.",
          f"{WHERE}: the transform (ToTensor, Normalize) and imshow's unnormalize line",
          Verdict.HOLDS, judge_normalize),
    Claim("data.cifar_layout", SECTION,
          "CIFAR-10 as torchvision reads it has 50,000 training and 10,000 test images of "
          "3x32x32 in 10 classes, named in the tutorial's order.",
          f"{WHERE}: CIFAR10(root, train=...), print(len(trainset)) and the classes tuple",
          Verdict.HOLDS, judge_layout),
    Claim("data.loader", SECTION,
          "The tutorial's DataLoader (batch 4, shuffled, 2 workers) yields float batches of "
          "4x3x32x32 with int64 labels and visits each image once per epoch.",
          f"{WHERE}: torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True, "
          f"num_workers=2)", Verdict.HOLDS, judge_loader),
    Claim("data.dataiter_next", SECTION,
          "The tutorial's dataiter.next() no longer exists on DataLoader iterators "
          "(AttributeError); the built-in next(dataiter) gives the batch.",
          f"{WHERE}: images, labels = dataiter.next()", Verdict.OUTDATED,
          judge_dataiter_next),
    Claim("data.make_grid", SECTION,
          "torchvision.utils.make_grid lays 4 CIFAR-10 images in one row with 2-pixel "
          "padding: a 3x36x138 image.",
          f"{WHERE}: imshow(torchvision.utils.make_grid(images))", Verdict.HOLDS,
          judge_make_grid),
)

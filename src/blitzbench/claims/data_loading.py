"""What a DataLoader did over several epochs, set against what its sampler drew.

The tutorial shows one batch of a shuffled loader. The statement behind it speaks of every
epoch: each is a permutation of the data set (every image exactly once), a new one each
epoch, delivered in the order the sampler drew it whatever the worker count, and each
batch holds exactly the images (and labels) of the indices drawn for it. To see what was
drawn, the loader's batch sampler reads its indices through a recorder that passes them on
unchanged; the delivered items carry their index (IndexedSubset) and are compared with the
data set's own item at that index, fetched in this process.

A DataLoader worker killed from outside (a ConnectionResetError while a batch is handed
over, or torch's "killed by signal: Killed") says nothing about the tutorial: it is raised
as JudgeError, which the runner reports as ERROR, "could not judge". A worker that crashed
on its own (a segmentation fault, an abort) is left to the runner as an observation.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st
from torch.utils.data import Dataset, Sampler

from blitzbench.claims.faults import JudgeError
from blitzbench.workloads.cifar import make_loader, stop_workers

__all__ = ["EpochRun", "IndexedSubset", "LoaderCase", "epoch_problem", "loader_cases",
           "observe_epochs", "unless_worker_lost", "worker_lost"]

#: Signals that only something outside the loader sends (kill, the OOM killer, Ctrl-C).
EXTERNAL_SIGNALS = ("Killed", "Terminated", "Interrupt", "Hangup")
WORKER_DEATH = re.compile(r"DataLoader worker \(pid.*(exited unexpectedly|killed by signal"
                          r": (\w+)|died while sending)")
SUBSET_SIZES = (12, 40)  # 12! = 4.8e8 orders: two honest epochs coincide with p ~ 2e-9
BATCH_SIZES = (1, 8)
EPOCHS = 2
LOADED_DTYPES = ("torch.float32", "torch.int64")  # images, labels


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


class RecordingSampler(Sampler[int]):
    """Passes a sampler's indices on unchanged and keeps each epoch's list."""

    def __init__(self, inner: Sampler[int]) -> None:
        self.inner = inner
        self.epochs: list[list[int]] = []

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[int]:
        drawn: list[int] = []
        self.epochs.append(drawn)
        for index in self.inner:
            drawn.append(index)
            yield index


@dataclass(frozen=True)
class LoaderCase:
    """One loader to judge: worker count, seed, batch size and the train indices used."""

    workers: int
    seed: int
    batch_size: int
    indices: tuple[int, ...]

    def describe(self) -> str:
        shown = ", ".join(map(str, self.indices[:6])) + (", ..." if len(self.indices) > 6
                                                          else "")
        return (f"{self.workers} workers, seed {self.seed}, batch {self.batch_size}, "
                f"{len(self.indices)} images [{shown}]")


def loader_cases(workers: int, dataset_size: int) -> st.SearchStrategy[LoaderCase]:
    """Seeds, batch sizes and index sets for a given worker count."""
    return st.builds(LoaderCase, workers=st.just(workers), seed=st.integers(0, 2**31 - 1),
                     batch_size=st.integers(*BATCH_SIZES),
                     indices=st.lists(st.integers(0, dataset_size - 1), unique=True,
                                      min_size=min(SUBSET_SIZES[0], dataset_size),
                                      max_size=min(SUBSET_SIZES[1], dataset_size)
                                      ).map(tuple))


def worker_lost(exc: BaseException) -> bool:
    """True when ``exc`` says a DataLoader worker vanished for reasons outside the loader:
    the connection broke mid-batch, or a signal only the outside sends ended it."""
    if isinstance(exc, (ConnectionError, EOFError)):
        return True
    match = WORKER_DEATH.search(str(exc)) if isinstance(exc, RuntimeError) else None
    if match is None:
        return False
    return match.group(2) is None or match.group(2) in EXTERNAL_SIGNALS


@contextlib.contextmanager
def unless_worker_lost(example: str) -> Iterator[None]:
    """Run a loader; a worker lost from outside becomes JudgeError on ``example`` (ERROR,
    could not judge) instead of reaching the runner as torch's exception (FAILS)."""
    try:
        yield
    except Exception as exc:
        if worker_lost(exc):
            raise JudgeError(example, exc) from exc
        raise


@dataclass(frozen=True)
class EpochRun:
    """Per epoch: the positions the sampler drew, and per batch the delivered indices,
    whether images and labels equal the data set's items there, shapes and dtypes."""

    drawn: list[list[int]]
    delivered: list[list[list[int]]]
    items_match: list[list[bool]]
    shapes: frozenset[tuple[int, ...]]
    dtypes: frozenset[tuple[str, str]]


def _batch_matches(dataset: Dataset, images: torch.Tensor, labels: torch.Tensor,
                   indices: Sequence[int]) -> bool:
    items = [dataset[i] for i in indices]
    expected_images = torch.stack([image for image, _ in items])
    expected_labels = torch.tensor([label for _, label in items])
    return torch.equal(images, expected_images) and torch.equal(labels, expected_labels)


def observe_epochs(dataset: Dataset, case: LoaderCase, epochs: int = EPOCHS) -> EpochRun:
    """``epochs`` epochs of make_loader(shuffle=True) over ``case``'s subset."""
    subset = IndexedSubset(dataset, list(case.indices))
    loader = make_loader(subset, case.batch_size, shuffle=True, num_workers=case.workers,
                         seed=case.seed)
    recorder = RecordingSampler(loader.batch_sampler.sampler)
    loader.batch_sampler.sampler = recorder
    delivered, matches, shapes, dtypes = [], [], set(), set()
    for _ in range(epochs):
        delivered.append([])
        matches.append([])
        iterator = iter(loader)
        try:
            with unless_worker_lost(case.describe()):
                for images, labels, indices in iterator:
                    delivered[-1].append(indices.tolist())
                    matches[-1].append(_batch_matches(dataset, images, labels,
                                                      indices.tolist()))
                    shapes.add(tuple(images.shape))
                    dtypes.add((str(images.dtype), str(labels.dtype)))
        finally:
            stop_workers(iterator)
    return EpochRun(recorder.epochs, delivered, matches, frozenset(shapes), frozenset(dtypes))


def epoch_problem(case: LoaderCase, run: EpochRun) -> str | None:
    """None when every epoch is a fresh permutation delivered as drawn, batch by batch,
    with the data set's own images and labels; else the first thing that was not."""
    chosen, size = list(case.indices), case.batch_size
    if len(run.drawn) != len(run.delivered):
        return f"the sampler was read {len(run.drawn)} times in {len(run.delivered)} epochs"
    if run.dtypes - {LOADED_DTYPES}:
        return f"batches of {sorted(run.dtypes)}, not float32 images with int64 labels"
    for epoch, (drawn, delivered) in enumerate(zip(run.drawn, run.delivered, strict=True),
                                               start=1):
        if sorted(drawn) != list(range(len(chosen))):
            return f"epoch {epoch}: the sampler drew {_repeats(drawn, len(chosen))}"
        expected = [[chosen[p] for p in drawn[i:i + size]] for i in range(0, len(drawn), size)]
        if delivered != expected:
            return f"epoch {epoch}: batches came as {delivered[:3]}..., drawn {expected[:3]}..."
        wrong = [b for b, ok in enumerate(run.items_match[epoch - 1]) if not ok]
        if wrong:
            return f"epoch {epoch}: batch {wrong[0]} differs from the data set's items"
    if len(run.drawn) > 1 and run.drawn[0] == run.drawn[1]:
        return "epochs 1 and 2 drew the same order"
    if run.drawn and run.drawn[0] == sorted(run.drawn[0]):
        return "epoch 1 was not shuffled"
    return None


def _repeats(drawn: list[int], size: int) -> str:
    seen = set(drawn)
    twice = sorted({p for p in drawn if drawn.count(p) > 1})
    return (f"{len(drawn)} positions of {size}: repeated {twice[:5]}, never "
            f"{sorted(set(range(size)) - seen)[:5]}")

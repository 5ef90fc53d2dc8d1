"""The pieces behind the data claims: the regenerated ground truth is what the writer wrote,
each property names what breaks it, make_grid's rule is right by hand, a DataLoader worker
killed mid-epoch is ERROR (could not judge), never FAILS, and each claim declares what it
covers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
import torchvision.transforms.functional as TF
from torch.utils.data import Dataset, get_worker_info

from blitzbench.claims import claim_by_id, claims_in_section
from blitzbench.claims.data import transform_problem
from blitzbench.claims.data_grid import GridCase, expected_grid, grid_problem
from blitzbench.claims.data_loading import (
    EpochRun,
    LoaderCase,
    epoch_problem,
    observe_epochs,
    worker_lost,
)
from blitzbench.claims.faults import JudgeError
from blitzbench.claims.model import Verdict
from blitzbench.claims.runner import escaped, evaluate
from blitzbench.workloads.cifar import (
    resolve_data_source,
    synthetic_truth,
    write_synthetic_cifar10,
)

SMALL_TRAIN = 23  # five files of 5, 5, 5, 4, 4 images: uneven, like any count not / 5
SMALL_TEST = 7
FINE = ("torch.float32", "torch.int64")


def test_synthetic_truth_is_what_the_writer_wrote(tmp_path: Path) -> None:
    root = write_synthetic_cifar10(tmp_path / "cifar", train_count=SMALL_TRAIN,
                                   test_count=SMALL_TEST)
    source = resolve_data_source(root)
    wanted = {True: [22, 0, 5, 4, 5], False: list(range(SMALL_TEST))}
    truth = synthetic_truth(wanted, train_count=SMALL_TRAIN, test_count=SMALL_TEST)
    for train, indices in wanted.items():
        split = source.dataset(train=train)
        pixels, labels = truth[train]
        assert np.array_equal(pixels, split.data[indices])
        assert labels.tolist() == list(split.targets)
    only_test = synthetic_truth({False: [3]}, train_count=SMALL_TRAIN, test_count=SMALL_TEST)
    assert np.array_equal(only_test[False][0], truth[False][0][3:4])


def test_transform_problem_holds_and_names_a_swapped_channel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[..., 2] = 255
    assert transform_problem(pixels) is None
    original = TF.to_tensor
    monkeypatch.setattr(TF, "to_tensor", lambda pic: original(pic).flip(0))
    problem = transform_problem(pixels)
    assert problem is not None and problem.startswith("value wrong at channel 0")


def test_grid_rule_by_hand_and_make_grid_follows_it() -> None:
    images = torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1, 1).expand(3, 3, 1, 1)
    grid = expected_grid(images, nrow=2, padding=1, pad_value=-1.0)
    assert grid[0].tolist() == [[-1, -1, -1, -1, -1], [-1, 1, -1, 2, -1],
                                [-1, -1, -1, -1, -1], [-1, 3, -1, -1, -1],
                                [-1, -1, -1, -1, -1]]
    case = GridCase(batch=3, nrow=2, padding=1, pad_value=-1.0, height=2, width=3, seed=1)
    assert grid_problem(case, torch.device("cpu")) is None


def test_make_grid_returns_a_batch_of_one_unpadded() -> None:
    """The finding behind data.make_grid's CONDITIONAL on torchvision 0.29."""
    image = torch.rand(1, 3, 4, 5)
    assert torch.equal(torchvision.utils.make_grid(image), image[0])


def _run(drawn: list[list[int]], delivered: list[list[list[int]]]) -> EpochRun:
    return EpochRun(drawn, delivered, [[True] * len(d) for d in delivered],
                    frozenset(), frozenset({FINE}))


def test_epoch_problem_names_each_broken_promise() -> None:
    case = LoaderCase(workers=0, seed=0, batch_size=2, indices=(10, 11, 12, 13))
    good = _run([[2, 0, 3, 1], [1, 3, 0, 2]], [[[12, 10], [13, 11]], [[11, 13], [10, 12]]])
    assert epoch_problem(case, good) is None
    repeated = _run([[2, 0, 3, 1], [1, 3, 0, 1]], [[[12, 10], [13, 11]], [[11, 13], [10, 11]]])
    assert "epoch 2: the sampler drew" in epoch_problem(case, repeated)
    swapped = _run([[2, 0, 3, 1], [1, 3, 0, 2]], [[[13, 11], [12, 10]], [[11, 13], [10, 12]]])
    assert "epoch 1: batches came as" in epoch_problem(case, swapped)
    same = _run([[2, 0, 3, 1], [2, 0, 3, 1]], [[[12, 10], [13, 11]], [[12, 10], [13, 11]]])
    assert epoch_problem(case, same) == "epochs 1 and 2 drew the same order"


@pytest.mark.parametrize(("exc", "lost"), [
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (EOFError(), True),
    (RuntimeError("DataLoader worker (pid 12) is killed by signal: Killed. "), True),
    (RuntimeError("DataLoader worker (pid(s) 12, 13) exited unexpectedly"), True),
    (RuntimeError("DataLoader worker (pid 12) is killed by signal: Segmentation fault. "),
     False),
    (RuntimeError("stack expects each tensor to be equal size"), False),
    (ValueError("DataLoader worker (pid 12) is killed by signal: Killed."), False),
])
def test_worker_lost_tells_the_outside_from_a_crash(exc: BaseException, lost: bool) -> None:
    assert worker_lost(exc) is lost


class _KilledInWorker(Dataset):
    """Items 0..n-1; the worker that fetches KILL_AT is SIGKILLed, as the OOM killer would."""

    KILL_AT = 5

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if index == self.KILL_AT and get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return torch.zeros(3, 2, 2), index


def test_a_worker_killed_mid_epoch_is_error_not_fails() -> None:
    case = LoaderCase(workers=1, seed=0, batch_size=2, indices=tuple(range(12)))
    with pytest.raises(JudgeError) as raised:
        observe_epochs(_KilledInWorker(12), case)
    outcome = escaped(raised.value)
    assert outcome.verdict is Verdict.ERROR
    assert "1 workers, seed 0, batch 2" in outcome.evidence["input"]


def test_every_data_claim_declares_what_it_covers() -> None:
    for claim in claims_in_section("data"):
        assert claim.inputs is not None, claim.id
        assert claim.inputs.coverage(7).startswith(f"{claim.inputs.subject}: 7 inputs")
    loader = next(c for c in claims_in_section("data") if c.id == "data.loader")
    assert "workers 1, 2, 0" in loader.inputs.coverage() and "2 epochs" in \
        loader.inputs.coverage()


def test_cifar_layout_compares_every_label_and_names_an_item_that_differs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = resolve_data_source(write_synthetic_cifar10(
        tmp_path / "cifar", train_count=SMALL_TRAIN, test_count=SMALL_TEST))
    claim = claim_by_id("data.cifar_layout")
    small = evaluate(claim, torch.device("cpu"), source)
    assert small.verdict is Verdict.FAILS  # 23 + 7 images are not CIFAR-10's counts...
    assert "all 30 labels and 30 images as generated: True" in small.summary  # ...but true
    original = torchvision.datasets.CIFAR10.__getitem__
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "__getitem__", lambda self, i: (
        original(self, i)[0], self.targets[(i + 1) % len(self)]) if not self.train
        else original(self, i))
    shifted = evaluate(claim, torch.device("cpu"), source)
    assert "test split: item 0 (image, label) is not the generator's" in shifted.summary

"""The shared post itself, run as a test on every device: each of its 13 blocks gets the
verdict torch 2.x gives it. Two need a shim, each named: ``y.creator`` (gone since torch
0.2.0) and the data block (``download=True`` pointed at the local set, then
``dataiter.next()``, gone since torch 1.13). A release that breaks another block, or changes
what one prints beyond the laws of its random values, turns this red.

The post is read from ``../shared/tutorial/`` (never copied into the project); the test
skips, saying so, where that checkout is absent. Its data block loads CIFAR-10 up to three
times (as written, with the data shim, with both shims), so the test gives it a synthetic
set of 100 + 20 images in the real format instead of the 50,000 + 10,000 of the cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blitzbench.devices import cuda_available
from blitzbench.tutorial.execute import DataPlan
from blitzbench.tutorial.plan import no_cuda_reason, plan_devices
from blitzbench.tutorial.sources import read_tutorial
from blitzbench.tutorial.verdicts import run_tutorial
from blitzbench.workloads.cifar import write_synthetic_cifar10

SHARED_POST = Path(__file__).parents[1].parent / "shared" / "tutorial" / \
    "000_49fffafa504c6e97.txt"
TIMEOUT_S = 300.0
AS_WRITTEN, SHIMMED = "RUNS AS WRITTEN", "RUNS WITH A SHIM"
EXPECTED = {7: ("y.creator -> y.grad_fn",),
            13: ("download=True -> local data", "dataiter.next() -> next(dataiter)")}
LAWS = {11: "values judged by law: doubling loop", 12: "values judged by law: power of two"}


def _devices() -> list:
    devices, _ = plan_devices("all", strict=False)
    return [*devices, *([] if cuda_available() else [pytest.param(
        "cuda:0", marks=pytest.mark.skip(reason=no_cuda_reason()))])]


@pytest.fixture(scope="module")
def small_cifar(tmp_path_factory) -> DataPlan:
    root = write_synthetic_cifar10(tmp_path_factory.mktemp("cifar") / "synthetic",
                                   train_count=100, test_count=20)
    return DataPlan("synthetic", str(root))


@pytest.mark.slow  # every block of the post in a worker: 14 s here (2026-12-06); CI runs it
@pytest.mark.skipif(not SHARED_POST.is_file(), reason=f"the shared post {SHARED_POST} is "
                                                      f"absent from this checkout")
@pytest.mark.parametrize("device", _devices())
def test_every_block_of_the_shared_post_runs(small_cifar, device):
    run = run_tutorial(read_tutorial(SHARED_POST), device, small_cifar, TIMEOUT_S)
    table = "\n".join(f"{b.index} {b.verdict} {b.detail}" for b in run.blocks)
    assert [(b.index, b.verdict, b.shims) for b in run.blocks] == [
        (i, SHIMMED if i in EXPECTED else AS_WRITTEN, EXPECTED.get(i, ()))
        for i in range(1, 14)], table
    for index, law in LAWS.items():  # the random values were judged, not skipped
        assert law in run.blocks[index - 1].detail
    assert all("output matches" in run.blocks[i - 1].detail for i in (5, 6, 7, 8, 10))
    assert run.passed

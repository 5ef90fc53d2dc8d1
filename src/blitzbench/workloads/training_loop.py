"""The tutorial's training loop end to end: DataLoader -> device -> training step.

One call trains on ``images`` images from a fresh loader (the tutorial's batch size 4 and
2 workers; 64 at the deeper levels), so the figure is what a user of the tutorial sees:
loading, the host-to-device copy and the step together. On CUDA the loader pins memory
and the copies do not block.
"""

from __future__ import annotations

import torch

from blitzbench.workloads.catalog import Case, Workload, make_case
from blitzbench.workloads.cifar import (
    DataSource,
    available_cores,
    check_loader_args,
    make_loader,
    next_batch,
    stop_workers,
    tutorial_split,
)
from blitzbench.workloads.lenet import make_train_step
from blitzbench.workloads.loading import IMAGES_PER_ROUND

__all__ = ["TUTORIAL_BATCH_SIZE", "TUTORIAL_WORKERS", "cases", "loop_case"]

TUTORIAL_BATCH_SIZE = 4
TUTORIAL_WORKERS = 2
DEEPER_BATCH_SIZE = 64
LOOP_MIN_ROUNDS = 3
SEED = 0


def build_loop(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
               images: int) -> Workload:
    dataset = tutorial_split(data, True)
    train = make_train_step(device, seed=SEED)
    pin = device.type == "cuda"
    batches = max(1, images // batch_size)

    def run() -> None:
        loader = make_loader(dataset, batch_size, shuffle=True, num_workers=num_workers,
                             pin_memory=pin, seed=SEED)
        iterator = iter(loader)
        try:
            for _ in range(batches):
                inputs, labels = next_batch(iterator)
                train.step(inputs.to(device, non_blocking=pin),
                           labels.to(device, non_blocking=pin))
        finally:
            stop_workers(iterator)  # as at the end of an epoch, and now if one died

    return Workload(run, {"images": batches * batch_size})


def loop_case(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
              images: int, levels: tuple[str, ...]) -> Case:
    check_loader_args(batch_size, num_workers)
    params = {"batch_size": batch_size, "num_workers": num_workers, "images": images}
    return make_case("training_loop.epoch_slice", device, params, levels,
                     lambda: build_loop(device, data, batch_size, num_workers, images),
                     min_rounds=LOOP_MIN_ROUNDS, max_time_s=0.0, warmup=1)


def cases(device: torch.device, data: DataSource) -> list[Case]:
    workers = min(TUTORIAL_WORKERS, available_cores())
    found = [loop_case(device, data, TUTORIAL_BATCH_SIZE, workers, IMAGES_PER_ROUND["quick"],
                       ("quick",))]
    for level in ("standard", "full"):
        found += [loop_case(device, data, batch, workers, IMAGES_PER_ROUND[level], (level,))
                  for batch in (TUTORIAL_BATCH_SIZE, DEEPER_BATCH_SIZE)]
    return found

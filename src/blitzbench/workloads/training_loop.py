"""The tutorial's training loop end to end: DataLoader -> device -> training step.

One call trains on ``images`` images from a fresh loader (the tutorial's batch size 4 and
2 workers; 64 at the deeper levels), so the figure is what a user of the tutorial sees:
loading, the host-to-device copy and the step together. On CUDA the loader pins memory
and the copies do not block.

On the CPU the loop is also run with one intra-op thread (``torch_threads=1``): the main
process's threads and the DataLoader's worker processes share the cores, and on the H200
host (16 cores) the tutorial's CPU loop ran at 243 images/s while its loader alone gave
1,603 and its step alone 2,020. The pair shows whether fewer threads is the remedy.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from blitzbench.results.names import (
    BATCH_PARAM,
    LOOP,
    THREADS_PARAM,
    TUTORIAL_BATCH_SIZE,
    WORKERS_PARAM,
)
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import DEEPER, QUICK, Case, make_case
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

__all__ = ["SINGLE_THREAD", "TUTORIAL_BATCH_SIZE", "TUTORIAL_WORKERS", "cases", "loop_case"]

TUTORIAL_WORKERS = 2
DEEPER_BATCH_SIZE = 64
SINGLE_THREAD = 1
LOOP_MIN_ROUNDS = 3
SEED = 0


def build_loop(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
               images: int, torch_threads: int | None = None) -> Workload:
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

    return Workload(run, {"images": batches * batch_size},
                    teardown=_set_threads(torch_threads) if torch_threads else None)


def _set_threads(threads: int) -> Callable[[], None]:
    """Use ``threads`` intra-op threads until the returned teardown restores the old count
    (set once the workload is built, so warm-up, calibration and rounds all run with it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return lambda: torch.set_num_threads(previous)


def loop_case(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
              images: int, levels: tuple[str, ...], torch_threads: int | None = None) -> Case:
    """One loop case; ``torch_threads`` (only when given) pins the intra-op thread count
    and becomes a parameter, so the default case keeps its id."""
    check_loader_args(batch_size, num_workers)
    params = {BATCH_PARAM: batch_size, WORKERS_PARAM: num_workers, "images": images}
    if torch_threads is not None:
        params[THREADS_PARAM] = torch_threads
    return make_case(LOOP, device, params, levels,
                     lambda: build_loop(device, data, batch_size, num_workers, images,
                                        torch_threads),
                     min_rounds=LOOP_MIN_ROUNDS, max_time_s=0.0, warmup=1)


def cases(device: torch.device, data: DataSource) -> list[Case]:
    """The tutorial's loop at each level; on a CPU with more than one core, also with one
    intra-op thread."""
    workers = min(TUTORIAL_WORKERS, available_cores())
    thread_counts: tuple[int | None, ...] = (None,)
    if device.type == "cpu" and torch.get_num_threads() > 1:
        thread_counts = (None, SINGLE_THREAD)
    found = [loop_case(device, data, TUTORIAL_BATCH_SIZE, workers, IMAGES_PER_ROUND[QUICK],
                       (QUICK,), threads) for threads in thread_counts]
    for level in DEEPER:
        found += [loop_case(device, data, batch, workers, IMAGES_PER_ROUND[level], (level,),
                            threads)
                  for batch in (TUTORIAL_BATCH_SIZE, DEEPER_BATCH_SIZE)
                  for threads in thread_counts]
    return found

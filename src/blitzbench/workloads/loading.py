"""DataLoader throughput: the tutorial's pipeline (CIFAR-10 -> ToTensor -> Normalize) over a
sweep of worker counts, at the tutorial's batch size 4 and at 64.

One call is a slice of an epoch as the tutorial runs it: a fresh loader (workers start),
``images`` images drawn, the iterator dropped (workers stop). Worker start-up is part of
the cost a user pays each epoch, so it is inside the time; the time to the first batch is
recorded beside it. When feeding CUDA the loader pins memory and each batch is copied to
the device without blocking, as a GPU training loop would.

``loading.dataloader_steady`` is the same pipeline in steady state: its workers are
started (and its first batch drawn) when the case is built, and one call draws the next
``images`` images from that running iterator, so the figure is the rate the workers
sustain with start-up excluded, the rate a long epoch or ``persistent_workers=True``
sees. Its rate with one worker over its rate with 0 workers (in-process) is the
acceptance figure ``loader.worker_share`` (results/derived.py): it fails on any core count
when a worker, its IPC or shared memory is starved, which a per-pass rate dominated by
worker start-up cannot show.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping

import torch

from blitzbench.results.names import BATCH_PARAM, LOADER, LOADER_STEADY, WORKERS_PARAM
from blitzbench.timing.clocks import synchronize
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import DEEPER, LEVELS, QUICK, Case, make_case
from blitzbench.workloads.cifar import (
    DataSource,
    available_cores,
    check_loader_args,
    make_loader,
    next_batch,
    stop_workers,
    tutorial_split,
)

__all__ = ["BATCH_SIZES", "IMAGES_PER_ROUND", "STEADY_BATCH_SIZE", "cases", "loader_case",
           "steady_case", "worker_sweep"]

BATCH_SIZES = (4, 64)  # the tutorial's, and a typical GPU batch
TUTORIAL_WORKERS = 2
#: Images per timed call at each level: enough batches that a round is not all start-up.
#: Full stops at 4096 to keep its 10-minute promise on a GPU node: at the rates the quick
#: level measured on the H200 host (1,600 images/s with 2 workers at batch 4; the CPU
#: tutorial loop 243 images/s), 8192 would cost the loader sweep and the loop up to about
#: 490 s of the 600 before torch.compile; 4096 halves that.
IMAGES_PER_ROUND = dict(zip(LEVELS, (512, 2048, 4096), strict=True))
LOADER_MIN_ROUNDS = 3
LOADER_WARMUP = 1  # the first pass also pulls the data set into the page cache
SEED = 0
#: The steady-state cases' batch size at the quick level: at the tutorial's batch 4 the
#: per-batch hand-over from a worker costs about as much as making the batch (on the
#: project's 2-core VM, 2026-12-06, load 2-3, two probes: the best of 1 and 2 workers
#: sustained 0.41 and 0.39 of the in-process rate at batch 4, 0.94 and 1.51 at batch 64),
#: so batch 64 is where a starved worker shows.
STEADY_BATCH_SIZE = 64


def worker_sweep(cores: int) -> list[int]:
    """0, 1, 2, 4, ... up to ``cores``, which is always included."""
    counts, workers = [0], 1
    while workers < cores:
        counts.append(workers)
        workers *= 2
    return [*counts, cores] if cores > 0 else counts


def _loader_params(device: torch.device, batch_size: int, num_workers: int,
                   images: int) -> dict[str, object]:
    """A loader case's parameters, checked (a bad batch size or worker count is a
    UsageError before anything is built); pinned memory exactly where the device is CUDA."""
    check_loader_args(batch_size, num_workers)
    return {BATCH_PARAM: batch_size, WORKERS_PARAM: num_workers,
            "pin_memory": device.type == "cuda", "images": images}


def loader_case(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
                images: int, levels: Iterable[str]) -> Case:
    """One point of the sweep; bad batch sizes or worker counts are a UsageError now."""
    params = _loader_params(device, batch_size, num_workers, images)
    return make_case(LOADER, device, params, tuple(levels),
                     lambda: build_loader(device, data, batch_size, num_workers, images),
                     min_rounds=LOADER_MIN_ROUNDS, max_time_s=0.0, warmup=LOADER_WARMUP)


def build_loader(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
                 images: int) -> Workload:
    dataset = tutorial_split(data, True)
    pin = device.type == "cuda"
    batches = max(1, images // batch_size)
    first_batch_s: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        loader = make_loader(dataset, batch_size, shuffle=True, num_workers=num_workers,
                             pin_memory=pin, seed=SEED)
        iterator = iter(loader)
        try:
            for index in range(batches):
                inputs, labels = next_batch(iterator)
                inputs.to(device, non_blocking=pin)
                labels.to(device, non_blocking=pin)
                if index == 0:
                    synchronize()  # the first batch counts once it is on the device
                    first_batch_s.append(time.perf_counter() - start)
        finally:
            stop_workers(iterator)  # as the end of an epoch does, and now if one died

    def probe() -> Mapping[str, float]:
        return {"time_to_first_batch_s": statistics.median(first_batch_s)} if first_batch_s \
            else {}

    return Workload(run, {"images": batches * batch_size}, probe=probe)


def steady_case(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
                images: int, levels: Iterable[str]) -> Case:
    """One point of the steady-state sweep (workers started when the case is built)."""
    params = _loader_params(device, batch_size, num_workers, images)
    return make_case(LOADER_STEADY, device, params, tuple(levels),
                     lambda: build_steady(device, data, batch_size, num_workers, images),
                     min_rounds=LOADER_MIN_ROUNDS, max_time_s=0.0, warmup=LOADER_WARMUP)


def build_steady(device: torch.device, data: DataSource, batch_size: int, num_workers: int,
                 images: int) -> Workload:
    """Draw ``images`` images per call from one running iterator. Its workers start here,
    outside the timing; an epoch that runs out (50,000 images: 97 calls of 512) starts a
    new iterator inside that one call, as a real epoch boundary would."""
    loader = make_loader(tutorial_split(data, True), batch_size, shuffle=True,
                         num_workers=num_workers, pin_memory=device.type == "cuda", seed=SEED)
    pin = device.type == "cuda"
    batches = max(1, images // batch_size)
    running = [iter(loader)]

    def draw() -> None:
        try:
            inputs, labels = next_batch(running[0])
        except StopIteration:
            stop_workers(running[0])
            running[0] = iter(loader)
            inputs, labels = next_batch(running[0])
        inputs.to(device, non_blocking=pin)
        labels.to(device, non_blocking=pin)

    def run() -> None:
        for _ in range(batches):
            draw()
        synchronize()  # the last batch counts once it is on the device

    try:
        draw()  # the workers are up and have handed over a batch before any call
    except BaseException:
        stop_workers(running[0])
        raise
    return Workload(run, {"images": batches * batch_size},
                    teardown=lambda: stop_workers(running[0]))


def cases(device: torch.device, data: DataSource) -> list[Case]:
    """quick: 0 workers, 1 (the base of the acceptance scaling rule) and the tutorial's 2
    (capped at the cores), per pass at both batch sizes and in steady state at batch 64;
    deeper levels sweep 0, 1, 2, 4, ... up to the core count at both batch sizes, with
    more images per call."""
    cores = available_cores()
    quick_workers = sorted({0, 1, min(TUTORIAL_WORKERS, cores)})
    images = IMAGES_PER_ROUND[QUICK]
    found = [loader_case(device, data, batch, workers, images, (QUICK,))
             for batch in BATCH_SIZES for workers in quick_workers]
    found += [steady_case(device, data, STEADY_BATCH_SIZE, workers, images, (QUICK,))
              for workers in quick_workers]
    for level in DEEPER:
        images = IMAGES_PER_ROUND[level]
        found += [make(device, data, batch, workers, images, (level,))
                  for make in (loader_case, steady_case)
                  for batch in BATCH_SIZES for workers in worker_sweep(cores)]
    return found


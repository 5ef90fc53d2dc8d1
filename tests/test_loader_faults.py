"""Faults while measuring: a DataLoader worker killed mid-epoch and CUDA out of memory are
recorded as failed measurements naming the cause, and the run goes on.

The third fault of issue 6 in this family, a profiler that cannot record CUDA activities,
is covered by tests/test_profiling.py: test_a_profiler_without_cupti_is_reported_not_fatal
(the capture asks for CPU only and says why) and test_missing_cupti_shows_in_the_summary
(the summary carries the reason and the CPU figures still come out).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from blitzbench.results.reader import read_run
from blitzbench.runner import steps
from blitzbench.runs import RunRecorder, create_run_folder
from blitzbench.timing.workload import Workload
from blitzbench.workloads import catalog
from blitzbench.workloads.catalog import Case
from blitzbench.workloads.cifar import (
    LOADER_TIMEOUT_S,
    resolve_data_source,
    write_synthetic_cifar10,
)
from blitzbench.workloads.loading import loader_case
from blitzbench.workloads.measure import measure

TRAIN_IMAGES = 4000  # enough that one call (an epoch slice) outlasts the kill delay
TEST_IMAGES = 10
WORKERS = 2
KILL_DELAY_S = 0.5  # let the workers get going, so the kill lands mid-epoch
FIND_WORKER_TIMEOUT_S = 60
#: The bound on noticing a dead worker: the loader's own timeout, plus start-up slack.
FAULT_BOUND_S = LOADER_TIMEOUT_S + 15
REAPED_TIMEOUT_S = 10
OOM_BATCH = 1 << 16


def child_pids() -> list[int]:
    """Live children of this process, read from /proc (no psutil needed)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def new_child_pids(before: frozenset[int]) -> list[int]:
    """Children that were not there ``before``: the loader's workers, not the helpers an
    earlier test left running (a fork server, multiprocessing's resource tracker)."""
    return [pid for pid in child_pids() if pid not in before]


def kill_first_worker(killed: list[int], before: frozenset[int]) -> None:
    """Wait for a DataLoader worker to appear, let it run a moment, then SIGKILL it."""
    deadline = time.monotonic() + FIND_WORKER_TIMEOUT_S
    while time.monotonic() < deadline:
        workers = new_child_pids(before)
        if workers:
            time.sleep(KILL_DELAY_S)
            alive = [pid for pid in new_child_pids(before) if pid in workers]
            if alive:
                os.kill(alive[0], signal.SIGKILL)
                killed.append(alive[0])
                return
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find workers")
def test_killed_worker_is_a_failed_measurement_naming_it(tmp_path: Path) -> None:
    data = resolve_data_source(write_synthetic_cifar10(
        tmp_path / "cifar", train_count=TRAIN_IMAGES, test_count=TEST_IMAGES))
    case = loader_case(torch.device("cpu"), data, batch_size=4, num_workers=WORKERS,
                       images=TRAIN_IMAGES, levels=("quick",))
    killed: list[int] = []
    before = frozenset(child_pids())
    killer = threading.Thread(target=kill_first_worker, args=(killed, before), daemon=True)
    killer.start()
    started = time.monotonic()
    result = measure(case)
    elapsed = time.monotonic() - started
    killer.join(timeout=FIND_WORKER_TIMEOUT_S)
    assert killed, "no DataLoader worker was found to kill"
    assert elapsed < FAULT_BOUND_S, f"a dead worker took {elapsed:.0f} s to notice"
    assert result.error is not None and not result.times_s, result
    assert f"num_workers={WORKERS}" in result.error
    assert str(killed[0]) in result.error  # the worker, by pid
    assert "killed by signal" in result.error or "exited unexpectedly" in result.error
    gc.collect()  # whatever still holds the loader goes now: no stray error may surface
    deadline = time.monotonic() + REAPED_TIMEOUT_S
    while new_child_pids(before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert new_child_pids(before) == [], "the other workers were left running"


def raise_cuda_oom() -> None:
    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB "
                                      "(simulated by the test)")


def oom_case() -> Case:
    """A LeNet step at a huge batch whose every call runs out of CUDA memory; the error
    type is the real one, so no GPU is needed to raise it."""
    return Case("lenet.train_step", "cuda:0", {"batch_size": OOM_BATCH, "variant": "eager"},
                frozenset({"quick"}), lambda: Workload(raise_cuda_oom, {"images": OOM_BATCH}))


def test_cuda_out_of_memory_is_a_failed_measurement() -> None:
    result = measure(oom_case())
    assert result.error == (f"CUDA out of memory at batch {OOM_BATCH} on cuda:0: CUDA out "
                            f"of memory. Tried to allocate 12.00 GiB (simulated by the test)")
    assert result.times_s == ()


def test_the_run_goes_on_after_an_out_of_memory_case(tmp_path: Path) -> None:
    data = resolve_data_source(None)
    (first, *_) = catalog.cases("quick", ["cpu"], data, family="tensor_ops")
    after = dataclasses.replace(first, max_time_s=0.01)
    recorder = RunRecorder(create_run_folder(tmp_path), "accept")
    labels: list[str] = []
    steps.run_benchmarks([oom_case(), after], recorder, labels.append)
    saved = read_run(recorder.folder).results.benchmarks
    assert len(labels) == 2  # the progress moved on to the next case
    assert [r.benchmark for r in saved] == ["lenet.train_step", after.benchmark]
    assert "CUDA out of memory at batch 65536" in saved[0].error
    assert saved[1].error is None and saved[1].median_s > 0
    assert all(r.wall_s >= 0 for r in saved)  # what each case cost the run
    assert saved[1].wall_s >= saved[1].median_s * saved[1].rounds

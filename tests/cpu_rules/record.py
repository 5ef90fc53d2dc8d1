"""Record the measurements tests/test_cpu_rules.py judges (run by hand, not by pytest):

    cd tests/cpu_rules
    ../../.tox/setup/bin/python record.py healthy healthy_quick.json
    ../../.tox/setup/bin/python record.py slow_workers slow_workers_quick.json

Each measures the quick level's STREAM, fp32 matmul and DataLoader cases on this machine the
way ``blitzbench accept`` does (8 repeats spread over the list, rounds pooled:
workloads/repeats.py) and writes their records with the load average before and after.
``slow_workers`` measures only the steady-state loader, with every DataLoader worker
doing each item's work twice (workers at half speed; the main process untouched).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset, get_worker_info

from blitzbench.results.names import LOADER, LOADER_STEADY
from blitzbench.workloads import catalog, loading
from blitzbench.workloads.cifar import resolve_data_source
from blitzbench.workloads.repeats import measure_repeat, merge_repeats

REPEATS = catalog.LEVEL_REPEATS[catalog.QUICK]


class HalfSpeedWorkers(Dataset):
    """Each item made twice inside a DataLoader worker, once in the main process."""

    def __init__(self, inner: Dataset) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        if get_worker_info() is not None:
            self.inner[index]
        return self.inner[index]


def picked(kind: str) -> list[catalog.Case]:
    data = resolve_data_source(None)
    cases = catalog.cases(catalog.QUICK, [torch.device("cpu")], data)
    if kind == "slow_workers":
        real = loading.tutorial_split
        loading.tutorial_split = lambda source, train: HalfSpeedWorkers(real(source, train))
        return [c for c in cases if c.benchmark == LOADER_STEADY]
    return [c for c in cases if c.benchmark in (LOADER, LOADER_STEADY)
            or c.benchmark.startswith("tensor_ops.stream_")
            or (c.benchmark == "tensor_ops.matmul" and c.params.get("dtype") == "float32")]


def main(kind: str, out: Path) -> None:
    cases = picked(kind)
    load_before = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    parts: list[list] = [[] for _ in cases]
    for _ in range(REPEATS):
        for case, done in zip(cases, parts, strict=True):
            done.append(measure_repeat(case, done, REPEATS))
    records = [merge_repeats(c, done, 0.0).to_json() for c, done in zip(cases, parts,
                                                                         strict=True)]
    out.write_text(json.dumps({"kind": kind, "recorded": started, "load_before": load_before,
                               "load_after": os.getloadavg()[0], "torch": torch.__version__,
                               "benchmarks": records}, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

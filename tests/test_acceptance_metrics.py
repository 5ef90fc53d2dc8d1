"""The metric table acceptance checks specs with agrees with the workloads themselves."""

from __future__ import annotations

import torch

from blitzbench.acceptance.metrics import BENCHMARK_FIELDS, UNIT_FIELDS, WORLD_FAMILIES
from blitzbench.workloads import catalog
from blitzbench.workloads.measure import teardown

PROBE_FIELDS = {"time_to_first_batch_s"}


def test_every_catalog_benchmark_has_its_fields_listed(data_source):
    devices = [torch.device("cpu"), torch.device("cuda", 0)]
    names = {c.benchmark for level in catalog.LEVELS
             for c in catalog.cases(level, devices, data_source)}
    per_device = {b for b in BENCHMARK_FIELDS if b.split(".")[0] not in WORLD_FAMILIES}
    assert names == per_device, "update BENCHMARK_FIELDS in acceptance/metrics.py"


def test_listed_fields_match_the_units_cpu_workloads_declare(data_source):
    first: dict[str, catalog.Case] = {}
    for case in catalog.cases("quick", [torch.device("cpu")], data_source):
        first.setdefault(case.benchmark, case)
    for benchmark, case in first.items():
        workload = case.build()
        try:
            rates = {UNIT_FIELDS[unit] for unit in workload.units}
            listed = set(BENCHMARK_FIELDS[benchmark])
            assert rates == listed - PROBE_FIELDS, benchmark
            # a probe may also record facts that are not metrics (STREAM's array size)
            assert workload.probe is not None or not listed & PROBE_FIELDS, benchmark
        finally:
            teardown(workload)

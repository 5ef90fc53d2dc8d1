"""What a run will produce, known before it starts.

The cases of a level (the benchmark catalog), the metric names a spec may use (on any
machine, so a spec is checked the same everywhere), the (metric, device) pairs this run sets
out to produce (a planned figure that does not appear is reported MISSING, not skipped), and
which cases some rule reads (worth a second measurement when noisy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import torch

from blitzbench.acceptance.metrics import (
    CLAIMS_ALL,
    LOADER_EFFICIENCY,
    TUTORIAL_ALL,
    claim_metric,
    derived_metric_names,
    planned_metric_keys,
)
from blitzbench.acceptance.rules import RunDevices, select_devices
from blitzbench.acceptance.spec import BoundKind, Spec, metric_pattern
from blitzbench.results.names import BATCH_PARAM, LEVELS, LOADER
from blitzbench.results.records import ClaimCell, metric_prefix
from blitzbench.results.tutorial import TutorialResults

if TYPE_CHECKING:
    from blitzbench.workloads.catalog import Case
    from blitzbench.workloads.cifar import DataSource

__all__ = ["LISTED_WORLD_SIZE", "PLANNING_DEVICES", "judged_by", "known_metrics",
           "plan_cases", "planned_keys"]

#: Every device kind a spec may name, so a spec is checked the same on any machine.
PLANNING_DEVICES = (torch.device("cpu"), torch.device("cuda", 0))


def plan_cases(level: str, devices: Sequence[torch.device], data: DataSource) -> list[Case]:
    """The benchmark cases of ``level`` on ``devices`` (torch.compile only at full)."""
    from blitzbench.workloads import catalog

    return catalog.cases(level, devices, data)


def known_metrics(data: DataSource) -> list[str]:
    """Every metric name a spec may use: every claim, every case of every level on a CPU
    and a GPU, and the derived figures; independent of what this machine has."""
    from blitzbench.claims import ALL_CLAIMS
    from blitzbench.workloads import catalog

    cases = [c for level in LEVELS for c in catalog.cases(level, PLANNING_DEVICES, data)]
    names = {CLAIMS_ALL, TUTORIAL_ALL, *(claim_metric(c.id) for c in ALL_CLAIMS)}
    names |= {metric for metric, _ in planned_metric_keys(cases)}
    # a 1-core machine sweeps no "1 worker" point, yet a spec must read the same there
    names |= {metric_prefix(LOADER_EFFICIENCY, {BATCH_PARAM: c.params.get(BATCH_PARAM)})
              for c in cases if c.benchmark == LOADER}
    return sorted(names | _world_metric_names())


#: The world size the names of a world's figures are listed with: the names carry it
#: (``...,world_size=2]``), and a spec matches any world with ``*``.
LISTED_WORLD_SIZE = 2


def _world_metric_names() -> set[str]:
    """The figures a torchrun job measures as one world (collectives, DDP)."""
    from blitzbench.acceptance.metrics import known_benchmark_fields
    from blitzbench.distributed.collectives import metric_prefixes
    from blitzbench.distributed.ddp import job_metric_prefixes

    prefixes = {prefix for level in LEVELS for device in PLANNING_DEVICES
                for prefix in metric_prefixes(level, str(device), LISTED_WORLD_SIZE)}
    prefixes |= set(job_metric_prefixes(LISTED_WORLD_SIZE))
    return {f"{prefix}.{field}" for prefix in prefixes
            for field in known_benchmark_fields(prefix.split("[", 1)[0])}


def planned_keys(cases: Sequence[Case], claims: Sequence[ClaimCell],
                 tutorial: TutorialResults | None = None) -> set[tuple[str, str]]:
    """(metric, device) pairs this run sets out to produce: every planned case's figures
    and the derived figures they feed, one per claim cell and device, and the tutorial's
    verdict on every device it was run on."""
    keys = planned_metric_keys(cases)
    keys |= {(TUTORIAL_ALL, r.device) for r in (tutorial.runs if tutorial else ())}
    keys |= {(claim_metric(c.claim), c.device) for c in claims}
    keys |= {(CLAIMS_ALL, c.device) for c in claims}
    return keys


def judged_by(spec: Spec, cases: Sequence[Case], labels: Sequence[str],
              gpu_names: Mapping[str, str], *, baseline: bool) -> Callable[[Case], bool]:
    """Whether some rule that applies here reads a figure of a case (its own metrics, or
    a derived figure it feeds and this run can compute): only those are worth a second
    measurement when noisy."""
    devices = RunDevices(tuple(labels), dict(gpu_names))
    rules = [(metric_pattern(r.metric), select_devices(r, devices)[0]) for r in spec.rules
             if baseline or r.kind is not BoundKind.BASELINE]
    computable = {metric for metric, _ in planned_metric_keys(cases)}

    def judged(case: Case) -> bool:
        own = {metric for metric, _ in planned_metric_keys([case])}
        fed = derived_metric_names(case.benchmark, case.params) & computable
        return any(any(regex.match(n) for n in fed) or
                   (case.device in chosen and any(regex.match(n) for n in own))
                   for regex, chosen in rules if chosen)

    return judged

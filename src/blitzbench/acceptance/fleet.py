"""A fleet view: the same metrics from runs on several hosts, and the nodes that lag.

Absolute bounds are written for a whole class of machine; a node that passes them can
still be well below its identical peers (a throttled GPU, a slow PCIe link, a busy CPU).
As in SuperBench's fleet validation, each figure is compared with the fleet's median for
the same hardware, and a node more than ``FLEET_OUTLIER_FRACTION`` worse is a finding.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.acceptance.baseline import load_checked_run
from blitzbench.acceptance.metrics import MetricValue, extract_metrics, format_number
from blitzbench.errors import UsageError

__all__ = ["FLEET_OUTLIER_FRACTION", "MIN_PEERS", "FleetCell", "FleetRun", "compare_fleet",
           "load_fleet"]

#: A node this much worse than the fleet median of its peers is flagged (SuperBench flags
#: defective nodes the same way; 15% is well above the run-to-run spread a quiet node
#: shows, 10% being where blitzbench already calls a single figure noisy).
FLEET_OUTLIER_FRACTION = 0.15
#: With two nodes the median sits between them and cannot say which one is wrong.
MIN_PEERS = 3
#: Figures compared across nodes: the rates a reader acts on (the times behind them and
#: fractions of peak say the same thing again).
COMPARED_SUFFIXES = ("_per_s", "tflop_s")
COMPARED_PREFIXES = ("lenet.cuda_speedup", "loader.scaling_efficiency")


@dataclass(frozen=True)
class FleetRun:
    """One run of the fleet: a node name, its hardware per device, its metric values."""

    node: str
    path: Path
    hardware: Mapping[str, str]
    values: tuple[MetricValue, ...]


@dataclass(frozen=True)
class FleetCell:
    """One node's figure for one metric, against the median of its peers."""

    metric: str
    hardware: str
    node: str
    device: str
    value: float
    fleet_median: float
    peers: int
    noisy: bool

    @property
    def deficit(self) -> float:
        """How much worse than the fleet median, as a fraction (negative: better)."""
        return 1 - self.value / self.fleet_median if self.fleet_median else 0.0

    @property
    def outlier(self) -> bool:
        return self.peers >= MIN_PEERS and self.deficit > FLEET_OUTLIER_FRACTION

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "hardware": self.hardware, "node": self.node,
                "device": self.device, "value": self.value,
                "fleet_median": self.fleet_median, "peers": self.peers,
                "deficit": self.deficit, "outlier": self.outlier, "noisy": self.noisy}

    def shown(self) -> str:
        return format_number(self.value)


def load_fleet(paths: Sequence[Path]) -> list[FleetRun]:
    """Load every run folder; node names are hosts, suffixed when a host appears twice."""
    if len(paths) < 2:
        raise UsageError("fleet needs at least two run folders to compare")
    runs = []
    seen: dict[str, int] = {}
    for path in paths:
        folder, results = load_checked_run(Path(path), "run")
        env = results["environment"]
        host = str(env.get("host") or folder.name)[:60]
        seen[host] = seen.get(host, 0) + 1
        node = host if seen[host] == 1 else f"{host}#{seen[host]}"
        values = tuple(v for v in extract_metrics(results) if _compared(v))
        runs.append(FleetRun(node, folder, _hardware(env), values))
    return runs


def compare_fleet(runs: Sequence[FleetRun]) -> list[FleetCell]:
    """Every compared figure of every node, with its peers' median (same hardware)."""
    groups: dict[tuple[str, str], list[tuple[FleetRun, MetricValue]]] = {}
    for run in runs:
        for value in run.values:
            hardware = run.hardware.get(value.device, value.device)
            groups.setdefault((value.metric, hardware), []).append((run, value))
    cells = []
    for (metric, hardware), members in sorted(groups.items()):
        median = statistics.median(_oriented(v) for _, v in members)
        for run, value in members:
            cells.append(FleetCell(metric, hardware, run.node, value.device,
                                   _oriented(value), median, len(members), value.noisy))
    return cells


def _oriented(value: MetricValue) -> float:
    """Higher is better for every compared figure (times are inverted into rates)."""
    assert value.value is not None
    return value.value if value.higher_is_better else 1 / value.value


def _compared(value: MetricValue) -> bool:
    if value.value is None or value.value <= 0:
        return False
    leaf = value.metric.rsplit(".", 1)[-1]
    return leaf.endswith(COMPARED_SUFFIXES) or value.metric.startswith(COMPARED_PREFIXES)


def _hardware(env: Mapping[str, Any]) -> dict[str, str]:
    """Device label -> hardware model, so only identical parts are peers."""
    hardware = {"cpu": f"cpu: {env.get('cpu')} x{env.get('cpu_count')}"}
    for gpu in env.get("gpus") or []:
        if isinstance(gpu, dict):
            hardware[f"cuda:{gpu.get('index')}"] = str(gpu.get("name"))
    return hardware

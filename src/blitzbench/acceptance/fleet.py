"""A fleet view: the same figures from runs on several nodes, judged against each other.

Absolute bounds are written for a whole class of machine; a node that passes them can
still be well below its identical peers (a throttled GPU, a slow PCIe link, a busy CPU).
Figures are grouped by metric and hardware model (only identical parts are peers), and
judged in one of three ways:

- two runs: the two nodes against each other. A figure that differs by more than
  :data:`FLEET_THRESHOLD` (tested on the per-round times where both runs kept them,
  results/compare.py) is DIVERGENT: the fleet is not uniform, though neither node can be
  blamed;
- three or more: each node against the median of its peers; a node more than the
  threshold worse is an OUTLIER (as SuperBench's fleet validation flags defective nodes);
- ``--baseline``: every node against the baseline run; a node SLOWER than it by more than
  the threshold is a finding.

A figure that cannot be judged (measured on one node only, fewer than
:data:`MIN_PEERS` peers, rounds too noisy to tell) is never counted as a pass: the verdict
names it.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from blitzbench.acceptance.metrics import MetricValue, extract_metrics, format_number
from blitzbench.errors import UsageError
from blitzbench.results.compare import FLEET_THRESHOLD, Verdict, compare_measurements
from blitzbench.results.names import LENET_SPEEDUP, LOADER_EFFICIENCY
from blitzbench.results.reader import StoredRun, read_run

__all__ = [
    "FLEET_THRESHOLD",
    "MIN_PEERS",
    "Finding",
    "FleetCell",
    "FleetRun",
    "FleetVerdict",
    "judge_fleet",
    "load_fleet",
]

#: With two nodes the median sits between them and cannot say which one is wrong.
MIN_PEERS = 3
#: Figures compared across nodes: the rates a reader acts on (the times behind them and
#: fractions of peak say the same thing again).
COMPARED_SUFFIXES = ("_per_s",)
COMPARED_PREFIXES = (LENET_SPEEDUP, LOADER_EFFICIENCY)


class Finding(str, enum.Enum):
    NONE = ""
    DIVERGENT = "DIVERGENT"
    OUTLIER = "OUTLIER"
    SLOWER = "SLOWER"
    NOT_JUDGED = "NOT JUDGED"


@dataclass(frozen=True)
class FleetRun:
    """One run of the fleet: a readable node name, its hardware per device, its figures."""

    node: str
    path: Path
    hardware: Mapping[str, str]
    values: tuple[MetricValue, ...]


@dataclass(frozen=True)
class FleetCell:
    """One node's figure for one metric, against its reference (the other node, the
    median of its peers, or the baseline)."""

    metric: str
    hardware: str
    node: str
    device: str
    value: float
    reference: float | None
    reference_name: str
    peers: int
    finding: Finding
    evidence: str
    noisy: bool = False

    @property
    def change(self) -> float | None:
        """How much better than the reference, as a fraction (negative: worse)."""
        return self.value / self.reference - 1 if self.reference else None

    def to_json(self) -> dict[str, object]:
        return {"metric": self.metric, "hardware": self.hardware, "node": self.node,
                "device": self.device, "value": self.value, "reference": self.reference,
                "reference_name": self.reference_name, "peers": self.peers,
                "finding": self.finding.value or None, "evidence": self.evidence,
                "noisy": self.noisy}

    def shown(self) -> str:
        return format_number(self.value)


@dataclass(frozen=True)
class FleetVerdict:
    """Every cell of the fleet, and what the verdict's first line says."""

    mode: str
    nodes: tuple[str, ...]
    cells: tuple[FleetCell, ...]
    threshold: float = FLEET_THRESHOLD

    @property
    def findings(self) -> list[FleetCell]:
        return [c for c in self.cells if c.finding not in (Finding.NONE, Finding.NOT_JUDGED)]

    @property
    def not_judged(self) -> list[FleetCell]:
        return [c for c in self.cells if c.finding is Finding.NOT_JUDGED]

    @property
    def uniform(self) -> bool:
        """Every figure judged and none a finding: the only state that exits 0."""
        return not self.findings and not self.not_judged and bool(self.cells)

    def headline(self) -> str:
        """The verdict's first line: what was found, and what could not be judged."""
        metrics = len({c.metric for c in self.cells})
        scope = f"{metrics} metrics on {len(self.nodes)} nodes ({self.mode})"
        if self.findings:
            kinds = sorted({c.finding.value for c in self.findings})
            figures = len({(c.metric, c.hardware) for c in self.findings})
            line = f"NOT UNIFORM: {figures} figure(s) {'/'.join(kinds)} among {scope}"
        elif not self.cells:
            line = f"NOT JUDGED: no figure the runs share ({scope})"
        elif self.not_judged:
            line = f"NO FINDING among the judged figures of {scope}, but not all judged"
        else:
            line = f"UNIFORM: {scope}, every figure within {self.threshold:.0%}"
        if self.not_judged:
            line += "; " + _not_judged_text(self.not_judged)
        return line

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.headline(), "uniform": self.uniform, "mode": self.mode,
                "nodes": list(self.nodes), "threshold": self.threshold,
                "cells": [c.to_json() for c in self.cells]}


def load_fleet(paths: Sequence[Path]) -> list[FleetRun]:
    """Load every run folder; node names are hosts, or run folder names where hosts
    repeat (and the folder's parent too where those repeat)."""
    if len(paths) < 2:
        raise UsageError("fleet needs at least two run folders to compare")
    stored = [read_run(Path(p), "run") for p in paths]
    names = _node_names(stored)
    return [fleet_run(name, run) for name, run in zip(names, stored, strict=True)]


def fleet_run(node: str, stored: StoredRun) -> FleetRun:
    env = stored.results.environment
    values = tuple(v for v in extract_metrics(stored.results) if _compared(v))
    hardware = {v.device: env.hardware(v.device) for v in values}
    return FleetRun(node, stored.folder, hardware, values)


def judge_fleet(runs: Sequence[FleetRun], baseline: FleetRun | None = None,
                threshold: float = FLEET_THRESHOLD) -> FleetVerdict:
    """The fleet's cells, judged by pair, by peers, or against a baseline."""
    groups = _groups(runs)
    if baseline is not None:
        reference = {(v.metric, baseline.hardware.get(v.device, v.device)): v
                     for v in baseline.values}
        cells = [c for key, members in groups.items()
                 for c in _against_baseline(key, members, reference.get(key), threshold)]
        mode = f"each node against the baseline {baseline.node}"
    elif len(runs) == 2:
        cells = [c for key, members in groups.items() for c in _pair(key, members, threshold)]
        mode = "the two nodes against each other"
    else:
        cells = [c for key, members in groups.items() for c in _peers(key, members, threshold)]
        mode = "each node against the median of its peers"
    return FleetVerdict(mode, tuple(r.node for r in runs), tuple(cells), threshold)


Member = tuple[FleetRun, MetricValue]


def _groups(runs: Iterable[FleetRun]) -> dict[tuple[str, str], list[Member]]:
    groups: dict[tuple[str, str], list[Member]] = {}
    for run in runs:
        for value in run.values:
            hardware = run.hardware.get(value.device, value.device)
            groups.setdefault((value.metric, hardware), []).append((run, value))
    return dict(sorted(groups.items()))


def _pair(key: tuple[str, str], members: list[Member], threshold: float) -> list[FleetCell]:
    if len(members) != 2:
        return [_cell(key, m, None, "", len(members), Finding.NOT_JUDGED,
                      "measured on one node only") for m in members]
    (run_a, a), (run_b, b) = members
    finding, evidence = _tested(a, b, threshold, Finding.DIVERGENT)
    text = f"{evidence} ({run_b.node} against {run_a.node})"
    return [_cell(key, (run_a, a), _oriented(b), run_b.node, 2, finding, text),
            _cell(key, (run_b, b), _oriented(a), run_a.node, 2, finding, text)]


def _peers(key: tuple[str, str], members: list[Member], threshold: float) -> list[FleetCell]:
    median = statistics.median(_oriented(v) for _, v in members)
    cells = []
    for member in members:
        if len(members) < MIN_PEERS:
            cells.append(_cell(key, member, median, "fleet median", len(members),
                               Finding.NOT_JUDGED, f"{len(members)} node(s) with this "
                               f"hardware, fewer than {MIN_PEERS} peers"))
            continue
        deficit = 1 - _oriented(member[1]) / median
        finding = Finding.OUTLIER if deficit > threshold else Finding.NONE
        cells.append(_cell(key, member, median, "fleet median", len(members), finding,
                           f"{-deficit:+.1%} against the median of {len(members)} peers"))
    return cells


def _against_baseline(key: tuple[str, str], members: list[Member], base: MetricValue | None,
                      threshold: float) -> list[FleetCell]:
    if base is None:
        return [_cell(key, m, None, "baseline", len(members), Finding.NOT_JUDGED,
                      "not measured in the baseline run") for m in members]
    cells = []
    for run, value in members:
        finding, evidence = _tested(base, value, threshold, Finding.SLOWER, one_sided=True)
        cells.append(_cell(key, (run, value), _oriented(base), "baseline", len(members),
                           finding, evidence))
    return cells


def _tested(a: MetricValue, b: MetricValue, threshold: float, found: Finding,
            one_sided: bool = False) -> tuple[Finding, str]:
    """B against A: the rounds tested where both kept them, else the two figures."""
    if a.measurement is not None and b.measurement is not None:
        result = compare_measurements(a.measurement, b.measurement, threshold=threshold)
        if result.verdict is Verdict.NOISY:
            return Finding.NOT_JUDGED, f"NOISY: {result.evidence()}"
        differs = result.verdict is Verdict.SLOWER or (
            result.verdict is Verdict.FASTER and not one_sided)
        return (found if differs else Finding.NONE), f"{result.verdict.value}: " \
                                                      f"{result.evidence()}"
    ratio = _oriented(b) / _oriented(a)
    worse = ratio < 1 / (1 + threshold)
    differs = worse or (ratio > 1 + threshold and not one_sided)
    return (found if differs else Finding.NONE), \
        f"{ratio:.3f}x of the reference (a derived figure: no rounds to test)"


def _cell(key: tuple[str, str], member: Member, reference: float | None, name: str,
          peers: int, finding: Finding, evidence: str) -> FleetCell:
    run, value = member
    return FleetCell(key[0], key[1], run.node, value.device, _oriented(value), reference,
                     name, peers, finding, evidence, value.noisy)


def _oriented(value: MetricValue) -> float:
    """Higher is better for every compared figure (times are inverted into rates)."""
    assert value.value is not None
    return value.value if value.higher_is_better else 1 / value.value


def _compared(value: MetricValue) -> bool:
    if value.value is None or value.value <= 0:
        return False
    leaf = value.metric.rsplit(".", 1)[-1]
    return leaf.endswith(COMPARED_SUFFIXES) or value.metric.startswith(COMPARED_PREFIXES)


def _node_names(stored: Sequence[StoredRun]) -> list[str]:
    """Hosts where distinct; else run folder names; else parent/folder."""
    for name_of in (lambda s: s.results.environment.host or s.name, lambda s: s.name,
                    lambda s: f"{s.folder.parent.name}/{s.name}", lambda s: str(s.folder)):
        names = [name_of(s)[:80] for s in stored]
        if len(set(names)) == len(names):
            return names
    return [f"{s.name}#{i}" for i, s in enumerate(stored, 1)]


def _not_judged_text(cells: Sequence[FleetCell]) -> str:
    figures = sorted({(c.metric, c.hardware) for c in cells})
    shown = ", ".join(f"{metric} ({hardware})" for metric, hardware in figures[:3])
    more = f" and {len(figures) - 3} more" if len(figures) > 3 else ""
    why = sorted({c.evidence.split(":")[0] for c in cells})[:2]
    return f"NOT JUDGED: {len(figures)} figure(s): {shown}{more} ({'; '.join(why)})"

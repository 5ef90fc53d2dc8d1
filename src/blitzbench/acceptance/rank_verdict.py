"""The verdict of a torchrun job: each rank judged against the spec as a run of its own,
and the ranks judged against each other.

Each rank's records go through the same :func:`~blitzbench.acceptance.rules.judge` as a
single-process run, with the (metric, device) pairs that rank planned, so a figure a rank
should have produced and did not is MISSING on that rank. Its rows name the rank and host
in the device column (``cpu (rank 1 on node-a)``): several ranks share a device label.
Then the rank view (results/rank_view.py): a rank SLOWER than the other ranks of its
hardware is a FAIL row naming host, rank and device; none is one PASS row; no two ranks
with the same hardware is one SKIPPED row with the reason. Ranks that share one host's
CPU cores are not failed against each other: a CPU rank slower than a peer on its own host
is INCONCLUSIVE (two ranks contending for the cores of one host read as a slow rank: a
2-rank job on the 2-core VM called rank 1 1.19x slower for a 2^22 add).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from blitzbench.acceptance.metrics import MetricValue, extract_metrics
from blitzbench.acceptance.rules import MachineBusy, RuleResult, RunDevices, Status, judge
from blitzbench.acceptance.spec import BoundKind, Rule, Spec
from blitzbench.results.compare import FLEET_THRESHOLD, percent
from blitzbench.results.job import RankCell, RankEntry, RankView
from blitzbench.results.names import MEDIAN_FIELD, WORLD_FAMILIES
from blitzbench.results.records import ClaimCell, Measurement, RunResults

__all__ = ["RANK_RULE", "RankPayload", "busy_by_device", "judge_ranks", "view_rows"]

#: The job-level rule: not a line of the spec, since it compares ranks with each other
#: rather than a figure with a bound. Its bound is compare's threshold between nodes.
RANK_RULE = Rule(
    id="ranks-uniform", metric=f"*.{MEDIAN_FIELD}", op="<=", bound=100 * FLEET_THRESHOLD,
    kind=BoundKind.ABSOLUTE, device="all",
    source="no rank more than 15% slower than the other ranks of its hardware, its "
           "per-round times tested against theirs as `blitzbench compare` does "
           "(results/compare.py FLEET_THRESHOLD; results/rank_view.py)")
RANK_UNIT = "% slower than its peers"


@dataclass(frozen=True)
class RankPayload:
    """What a rank sends rank 0 at the end: who it is, its records (placed), and the
    (metric, device) pairs it set out to produce."""

    entry: RankEntry
    gpu_names: Mapping[str, str]
    claims: tuple[ClaimCell, ...]
    benchmarks: tuple[Measurement, ...]
    planned: frozenset[tuple[str, str]]
    #: the rank's pre-flight found its machine busy and it measured no performance case
    busy: str = ""


def judge_ranks(payloads: Sequence[RankPayload], spec: Spec, level: str,
                baseline: Sequence[MetricValue] | None = None, *,
                forced: bool = False) -> list[RuleResult]:
    """Every rule of ``spec`` on every rank, in rank order; a figure a rank measured on
    a busy machine is INCONCLUSIVE there, as in a single process."""
    rows: list[RuleResult] = []
    for payload in payloads:
        results = RunResults(run_id="", command="accept", claims=payload.claims,
                             benchmarks=payload.benchmarks)
        devices = RunDevices((payload.entry.device,), dict(payload.gpu_names))
        machine = MachineBusy(payload.busy, busy_by_device(payload.benchmarks), forced)
        found = judge(spec, extract_metrics(results), devices, planned=payload.planned,
                      level=level, baseline=baseline, machine=machine)
        shared = _shares_cores(payload.entry, [p.entry for p in payloads])
        rows += [_node_wide(dataclasses.replace(row, device=payload.entry.label), shared)
                 for row in found if payload.entry.rank == 0 or not _of_the_world(row)]
    return rows


#: Figures a rank that shares its host's cores cannot stand for, with why (each is judged
#: on a run of the node alone, ``accept`` without torchrun):
#: - STREAM's copy and triad read the whole node's memory channels, which ranks on one
#:   host share while they measure at once (two CPU ranks on the 2-core VM read
#:   10.5-14.5 GB/s each, the node alone 25-36 GB/s, 2026-12-06);
#: - the DataLoader's worker figures need a core for each worker beside the rank's own, and
#:   a rank that shares its host runs on its share of the cores (one on the 2-core VM),
#:   so its worker takes turns with it: the worker share read 0.55-0.81 of in-process with
#:   IQRs of 27-149% over three quiet two-rank jobs, against 0.83 for the node alone
#:   (2026-12-07).
_MEMORY = ("a figure of the whole node's memory channels, which the ranks of this host "
           "share while they measure at once")
_WORKERS = ("a figure of DataLoader workers that need cores of their own, and this rank runs "
            "on its share of the host's cores, taking turns with them")
NODE_WIDE_FIGURES = {"tensor_ops.stream_copy[": _MEMORY, "tensor_ops.stream_triad[": _MEMORY,
                     "loader.worker_share[": _WORKERS, "loader.scaling_efficiency[": _WORKERS}


def _node_wide(row: RuleResult, shared: bool) -> RuleResult:
    """A figure of the whole node on a rank that shares its host's cores: SKIPPED,
    saying why."""
    why = next((text for prefix, text in NODE_WIDE_FIGURES.items()
                if row.metric.startswith(prefix)), None)
    if not shared or why is None or row.status is Status.SKIPPED:
        return row
    return dataclasses.replace(
        row, status=Status.SKIPPED, measured=None, shown="-",
        detail=f"not judged: this rank shares its host's cores with other ranks, and this "
               f"is {why} (run accept on the node without torchrun); it read {row.shown}")


def busy_by_device(measurements: Sequence[Measurement]) -> dict[str, str]:
    """The first busy case's reason on each device (for figures derived from several)."""
    found: dict[str, str] = {}
    for measurement in measurements:
        reason = measurement.busy_reason()
        if reason:
            found.setdefault(measurement.device, f"{measurement.prefix}: {reason}")
    return found


def _of_the_world(row: RuleResult) -> bool:
    """A row of a figure the whole world measures (collectives, DDP): the job's records
    sit on rank 0, so the other ranks have no row of it to show."""
    return row.rule.metric.split(".", 1)[0] in WORLD_FAMILIES


def view_rows(view: RankView, entries: Sequence[RankEntry]) -> list[RuleResult]:
    """The rank view as verdict rows: a FAIL per slow rank and case, else one row."""
    by_rank = {entry.rank: entry for entry in entries}
    compared = [cell for cell in view.cells if cell.verdict]
    if not compared:
        return [_row(Status.SKIPPED, "all ranks", None, "-",
                     "no case was measured on two ranks of the same hardware")]
    if entries and all(_shares_cores(entry, entries) for entry in entries):
        return [_row(Status.SKIPPED, "all ranks", None, "-",
                     "not judged: every rank shares its host's CPU cores with another, so "
                     "a difference is contention, not a slow rank (run one rank per host "
                     "to compare them)")]
    if not view.flagged:
        counts = Counter(cell.verdict for cell in compared)
        tally = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
        noisy = counts.get("NOISY", 0)
        # a figure that could not be judged is never a pass: NOISY cells make the row NOISY
        return [_row(Status.NOISY if noisy else Status.PASS, "all ranks", None,
                     f"{len(compared)} figures on {len(by_rank)} ranks",
                     f"none SLOWER beyond {FLEET_THRESHOLD:.0%} at "
                     f"{percent(view.confidence)} confidence ({tally})"
                     + (f"; {noisy} could not be judged" if noisy else ""))]
    return [_flagged_row(cell, by_rank[cell.rank], entries) for cell in view.flagged]


def _flagged_row(cell: RankCell, entry: RankEntry,
                 entries: Sequence[RankEntry]) -> RuleResult:
    ratio = cell.ratio if cell.ratio is not None else float("nan")
    detail = (f"rank {entry.rank} on {entry.placement.host} ({entry.device}, "
              f"{entry.hardware}) is SLOWER {cell.evidence}")
    status = Status.FAIL
    if _shares_cores(entry, entries):
        # not a busy machine but a rule that does not apply: the job itself makes its
        # CPU ranks contend, so the difference is never judged (SKIPPED, never a pass)
        status = Status.SKIPPED
        detail = (f"not judged: ranks share the CPU cores of {entry.placement.host}, so a "
                  f"difference is contention, not a slow rank (run one rank per host to "
                  f"compare them); {detail}")
    return _row(status, entry.label, 100 * (ratio - 1),
                f"{ratio:.2f}x the job median", detail, metric=f"{cell.metric}."
                                                             f"{MEDIAN_FIELD}")


def _shares_cores(entry: RankEntry, entries: Sequence[RankEntry]) -> bool:
    """A CPU rank with another CPU rank on its own host: they contend for its cores."""
    return entry.device == "cpu" and any(
        other.rank != entry.rank and other.device == "cpu"
        and other.placement.host == entry.placement.host for other in entries)


def _row(status: Status, device: str, measured: float | None, shown: str, detail: str,
         metric: str = RANK_RULE.metric) -> RuleResult:
    return RuleResult(RANK_RULE, metric, device, status, measured, shown, RANK_UNIT,
                      detail[:600])

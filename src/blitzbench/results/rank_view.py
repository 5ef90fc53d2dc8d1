"""The rank x metric view of a torchrun job: every case's figure on every rank, set against
the other ranks of the same hardware, with the statistics of ``compare``.

A slow GPU inside a node hides in a per-device verdict (it may still clear every absolute
bound) but shows against its peers. For each case and each hardware model (the CPU model
and core count, or the GPU name) measured on two or more ranks, each rank's per-round
times are tested against the other ranks' pooled (their repeats side by side, as if one
run had measured them) by :func:`~blitzbench.results.compare.compare_measurements`:
Welch's t over the repeat medians when both sides have repeats, at the threshold
``compare`` uses between nodes (:data:`~blitzbench.results.compare.FLEET_THRESHOLD`,
15%). A rank is flagged only when that test says SLOWER: its figure is more than 15%
slower and the repeat-to-repeat drift of the machines cannot explain it. The job's one
verdict rests on every test, so each is made at the Bonferroni level that keeps the
whole view at 95% (:func:`~blitzbench.results.compare.family_confidence`), as
``compare`` does for a run.

The ratio shown beside each figure, the rank's median over the median of the rank
medians of its hardware, is for reading; the verdict decides.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from blitzbench.results.compare import (
    CONFIDENCE,
    FLEET_THRESHOLD,
    Verdict,
    compare_measurements,
    family_confidence,
)
from blitzbench.results.job import RankCell, RankView
from blitzbench.results.names import WORLD_FAMILIES
from blitzbench.results.records import Measurement

__all__ = ["MIN_PEERS", "build_rank_view", "pooled"]

#: Ranks of one hardware model needed to compare any of them (a rank and one peer).
MIN_PEERS = 2


def build_rank_view(records: Sequence[Measurement], hardware: Mapping[int, str], *,
                    threshold: float = FLEET_THRESHOLD,
                    confidence: float = CONFIDENCE) -> RankView:
    """The view of placed, measured ``records``; ``hardware`` maps rank -> model."""
    groups = _groups(records, hardware)
    tested = sum(len(group) for group in groups.values() if len(group) >= MIN_PEERS)
    level = family_confidence(tested, confidence)
    cells = [cell for (prefix, _), group in groups.items()
             for cell in _cells(prefix, group, threshold, level)]
    return RankView(threshold, level, tuple(cells))


def _groups(records: Sequence[Measurement], hardware: Mapping[int, str]
            ) -> dict[tuple[str, str], list[Measurement]]:
    """(case, hardware) -> that case's records on ranks of that hardware, rank order."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for record in records:
        if record.ok and record.has_times and record.placement is not None \
                and record.family not in WORLD_FAMILIES:  # the job's, not a rank's
            model = hardware.get(record.placement.rank, record.device)
            groups.setdefault((record.prefix, model), []).append(record)
    return {key: sorted(group, key=_rank) for key, group in groups.items()}


def _rank(record: Measurement) -> int:
    assert record.placement is not None  # _groups keeps only placed records
    return record.placement.rank


def _cells(prefix: str, group: Sequence[Measurement], threshold: float,
           confidence: float) -> list[RankCell]:
    if len(group) < MIN_PEERS:
        (only,) = group
        return [RankCell(prefix, _rank(only), only.median_s,
                         evidence="no other rank has this hardware")]
    job_median = statistics.median(r.median_s for r in group)
    cells = []
    for record in group:
        others = [r for r in group if r is not record]
        result = compare_measurements(pooled(others), record, threshold=threshold,
                                      confidence=confidence)
        evidence = f"against {len(others)} other rank(s): {result.evidence()}"
        cells.append(RankCell(prefix, _rank(record), record.median_s,
                              record.median_s / job_median, result.verdict.value, evidence,
                              result.verdict is Verdict.SLOWER))
    return cells


def pooled(records: Sequence[Measurement]) -> Measurement:
    """Several ranks' records of one case as one: their repeats side by side."""
    first = records[0]
    blocks = [block for record in records for block in record.block_times()]
    return Measurement(first.benchmark, first.device, dict(first.params),
                       tuple(t for block in blocks for t in block),
                       blocks=tuple(len(block) for block in blocks))

"""The rank x metric view (results/rank_view.py), its verdict rows
(acceptance/rank_verdict.py) and its report section (report/ranks.py), on synthetic ranks
with a fixed seed: a planted slow rank is flagged, equal ranks are not, a rank with no
peer of its hardware is shown but never judged."""

from __future__ import annotations

import dataclasses
import random

import pytest

from blitzbench.acceptance.rank_verdict import view_rows
from blitzbench.acceptance.rules import ACCEPTED, REJECTED, Status, verdict
from blitzbench.report.markdown import render_markdown
from blitzbench.report.ranks import rank_blocks
from blitzbench.results.compare import family_confidence
from blitzbench.results.job import JobRecord, Placement, RankEntry
from blitzbench.results.rank_view import build_rank_view, pooled
from blitzbench.results.records import Measurement

CASE = "lenet.train_step"
PARAMS = {"batch_size": 64, "variant": "eager"}
REPEATS, ROUNDS = 8, 10
#: A repeat's median drifts by this log standard deviation (the VM's is near 0.2 between
#: repeats minutes apart; ranks measured side by side drift less) and rounds spread 4%.
DRIFT, SPREAD = 0.05, 0.04


def _record(rank: int, scale: float, rng: random.Random, device: str = "cuda:0",
            host: str = "node") -> Measurement:
    times, blocks = [], []
    for _ in range(REPEATS):
        level = 0.012 * scale * rng.lognormvariate(0, DRIFT)
        times += [level * rng.lognormvariate(0, SPREAD) for _ in range(ROUNDS)]
        blocks.append(ROUNDS)
    return Measurement(CASE, device, dict(PARAMS), tuple(times), blocks=tuple(blocks),
                       placement=Placement(host, rank, rank % 4, rank // 4))


def _entries(ranks: int, hardware: str = "NVIDIA H200") -> list[RankEntry]:
    return [RankEntry(Placement("node", r, r % 4, r // 4), "cuda:0", hardware, (r,), 1,
                      "finished") for r in range(ranks)]


def test_a_rank_35_percent_slower_is_flagged_and_only_it():
    rng = random.Random(0)
    records = [_record(r, 1.35 if r == 2 else 1.0, rng) for r in range(4)]
    view = build_rank_view(records, dict.fromkeys(range(4), "NVIDIA H200"))
    assert [c.rank for c in view.flagged] == [2]
    slow = view.flagged[0]
    assert slow.verdict == "SLOWER" and slow.ratio == pytest.approx(1.35, rel=0.1)
    assert view.confidence == pytest.approx(family_confidence(4))
    rows = view_rows(view, _entries(4))
    assert [(r.status, r.device) for r in rows] == [(Status.FAIL, "cuda:0 (rank 2 on node)")]
    assert "rank 2 on node (cuda:0, NVIDIA H200) is SLOWER" in rows[0].detail
    assert rows[0].metric == f"{slow.metric}.median_s" and verdict(rows) == REJECTED


def test_cpu_ranks_sharing_a_host_are_not_failed_for_contention():
    """Two ranks contending for one host's cores read as a slow rank: SKIPPED (the rule
    does not apply to them), never FAIL and never a pass; the same slow rank on a host of
    its own is a FAIL."""
    rng = random.Random(0)
    records = [_record(r, 1.35 if r == 1 else 1.0, rng, device="cpu",
                       host="node" if r < 2 else "other") for r in range(3)]
    view = build_rank_view(records, dict.fromkeys(range(3), "AMD EPYC"))
    hosts = ("node", "node", "other")
    entries = [RankEntry(Placement(hosts[r], r, r, 0), "cpu", "AMD EPYC", (r,), 1,
                         "finished") for r in range(3)]
    rows = view_rows(view, entries)
    assert [(r.status, r.device) for r in rows] == [(Status.SKIPPED,
                                                     "cpu (rank 1 on node)")]
    assert "share the CPU cores of node" in rows[0].detail and verdict(rows) == ACCEPTED
    alone = [RankEntry(Placement(f"host{r}", r, 0, r), "cpu", "AMD EPYC", (0,), 1,
                       "finished") for r in range(3)]
    (row,) = view_rows(view, alone)
    assert row.status is Status.FAIL


def test_equal_ranks_are_never_flagged():
    for seed in range(20):
        rng = random.Random(seed)
        view = build_rank_view([_record(r, 1.0, rng) for r in range(4)],
                               dict.fromkeys(range(4), "NVIDIA H200"))
        assert not view.flagged, seed
    (row,) = view_rows(view, _entries(4))
    assert row.status is Status.PASS and "none SLOWER beyond 15%" in row.detail


def test_a_rank_5_percent_slower_is_within_the_threshold():
    rng = random.Random(1)
    records = [_record(r, 1.05 if r == 0 else 1.0, rng) for r in range(4)]
    assert not build_rank_view(records, dict.fromkeys(range(4), "H200")).flagged


def test_only_ranks_of_the_same_hardware_are_compared():
    """A node of another GPU model is 35% slower by design, not by fault."""
    rng = random.Random(2)
    records = [_record(r, 1.35 if r >= 2 else 1.0, rng) for r in range(3)]
    hardware = {0: "NVIDIA H200", 1: "NVIDIA H200", 2: "NVIDIA A100"}
    view = build_rank_view(records, hardware)
    alone = next(c for c in view.cells if c.rank == 2)
    assert alone.verdict == "" and alone.ratio is None and not alone.flagged
    assert "no other rank has this hardware" in alone.evidence
    assert not view.flagged


def test_no_peers_at_all_is_skipped_with_the_reason():
    view = build_rank_view([_record(0, 1.0, random.Random(3))], {0: "NVIDIA H200"})
    (row,) = view_rows(view, _entries(1))
    assert row.status is Status.SKIPPED and "two ranks of the same hardware" in row.detail


def test_pooled_keeps_every_repeat_of_every_rank():
    rng = random.Random(4)
    records = [_record(r, 1.0, rng) for r in range(3)]
    merged = pooled(records)
    assert merged.blocks == (ROUNDS,) * (3 * REPEATS)
    assert merged.times_s == tuple(t for r in records for t in r.times_s)


def test_the_report_shows_the_ranks_and_the_flagged_cell():
    rng = random.Random(0)
    records = [_record(r, 1.35 if r == 2 else 1.0, rng) for r in range(4)]
    view = build_rank_view(records, dict.fromkeys(range(4), "NVIDIA H200"))
    job = JobRecord(4, 1, "nccl", 60.0, tuple(_entries(4)), "", view)
    text = "\n".join(render_markdown_blocks(rank_blocks(job)))
    assert "A torchrun job of 4 rank(s) on 1 node(s) (node), backend nccl" in text
    assert "| 2 | node | 0 | 2 | `cuda:0` | NVIDIA H200 | 2 | 1 | finished |" in text
    assert "x SLOWER |" in text and "1 figure(s) SLOWER" in text
    assert rank_blocks(None) == []


def test_the_report_names_the_failure_and_the_dead_rank():
    entries = _entries(2)
    entries[1] = RankEntry(entries[1].placement, "cuda:0", "NVIDIA H200", (), 0, "dead")
    job = JobRecord(2, 1, "nccl", 60.0, tuple(entries), "rank 1 on node died")
    text = "\n".join(render_markdown_blocks(rank_blocks(job)))
    assert "The job did not finish: rank 1 on node died." in text
    assert "| dead |" in text and "Rank x metric" not in text


def render_markdown_blocks(blocks) -> list[str]:
    from blitzbench.report.document import Document

    return render_markdown(Document("t", "s", tuple(blocks))).splitlines()


def test_a_node_wide_figure_of_ranks_sharing_a_host_is_not_judged():
    """STREAM reads the node's memory channels; ranks measuring it at once on one host
    each get a share: SKIPPED with the reason there, judged as usual elsewhere."""
    from blitzbench.acceptance.rank_verdict import _node_wide
    from blitzbench.acceptance.rules import RuleResult
    from blitzbench.acceptance.spec import BoundKind, Rule

    rule = Rule(id="cpu-stream-copy", metric="tensor_ops.stream_copy[*].gb_per_s", op=">=",
                bound=18.0, kind=BoundKind.ABSOLUTE, device="cpu", source="a floor")
    row = RuleResult(rule, "tensor_ops.stream_copy[scale=memory,size=4xLLC].gb_per_s",
                     "cpu (rank 1 on node)", Status.FAIL, 10.5, "10.5 GB/s", "GB/s", "")
    skipped = _node_wide(row, shared=True)
    assert skipped.status is Status.SKIPPED and "whole node" in skipped.detail
    assert "10.5 GB/s" in skipped.detail and skipped.measured is None
    assert _node_wide(row, shared=False) is row
    gemm = dataclasses.replace(row, metric="tensor_ops.matmul[dtype=float32,n=512].tflop_"
                                           "per_s")
    assert _node_wide(gemm, shared=True) is gemm
    # a rank's DataLoader workers take turns with it on its share of the cores
    share = dataclasses.replace(row, metric="loader.worker_share[batch_size=64]",
                                status=Status.NOISY, shown="0.55 of in-process")
    skipped = _node_wide(share, shared=True)
    assert skipped.status is Status.SKIPPED and "DataLoader workers" in skipped.detail
    assert "0.55 of in-process" in skipped.detail and "whole node" not in skipped.detail
    assert _node_wide(share, shared=False) is share


def test_cpu_ranks_all_on_one_host_are_not_compared_at_all():
    """Two CPU ranks on one host: every figure of theirs is contention-laden, so the rule
    is SKIPPED as a whole (never NOISY, which would make the job INCONCLUSIVE)."""
    rng = random.Random(1)
    records = [_record(r, 1.0, rng, device="cpu", host="node") for r in range(2)]
    view = build_rank_view(records, dict.fromkeys(range(2), "AMD EPYC"))
    entries = [RankEntry(Placement("node", r, r, 0), "cpu", "AMD EPYC", (r,), 1,
                         "finished") for r in range(2)]
    (row,) = view_rows(view, entries)
    assert row.status is Status.SKIPPED and "shares its host's CPU cores" in row.detail

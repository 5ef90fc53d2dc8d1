"""The records of a torchrun job (results/job.py) and the placement of every row: written
and read in one place, checked on the way in, and absent from folders that predate them."""

from __future__ import annotations

import json

import pytest

from blitzbench.errors import UsageError
from blitzbench.results.compare import Verdict
from blitzbench.results.job import VERDICTS, JobRecord, Placement, RankCell, RankEntry, RankView
from blitzbench.results.reader import read_run
from blitzbench.results.records import ClaimCell, Measurement, RunResults
from blitzbench.runs import write_json_atomic

PLACE = Placement("node-b", 3, 1, 1)


def _job() -> JobRecord:
    entries = (RankEntry(Placement("node-a", 0, 0, 0), "cuda:0", "NVIDIA H200", (0, 1), 2,
                         "finished"),
               RankEntry(Placement("node-b", 1, 0, 1), "cuda:0", "NVIDIA H200", (0, 1), 2,
                         "dead"))
    view = RankView(0.15, 0.975, (RankCell("lenet.train_step[batch_size=4]", 0, 2e-3, 0.9,
                                           "FASTER", "x", False),
                                  RankCell("lenet.train_step[batch_size=4]", 1, 3e-3, 1.3,
                                           "SLOWER", "y", True)))
    return JobRecord(2, 2, "nccl", 60.0, entries, "rank 1 on node-b died", view)


def test_a_placed_measurement_round_trips_with_flat_keys():
    record = Measurement("tensor_ops.add_out", "cuda:1", {"size": "5x3"}, (1e-6, 2e-6),
                         placement=PLACE)
    data = record.to_json()
    assert {k: data[k] for k in Placement.KEYS} == {"host": "node-b", "rank": 3,
                                                    "local_rank": 1, "node_rank": 1}
    assert Measurement.from_json(data) == record
    assert record.site == "cuda:1 (rank 3 on node-b)"


def test_a_placed_claim_cell_round_trips():
    cell = ClaimCell("tensors.add_forms", "cpu", "HOLDS", "HOLDS", True, "ok",
                     placement=PLACE)
    assert ClaimCell.from_json(cell.to_json()) == cell
    assert cell.site == "cpu (rank 3 on node-b)"


def test_records_outside_torchrun_keep_their_format():
    """No placement, no new key: a single-process run writes what it always wrote, and an
    older record without the keys loads."""
    record = Measurement("tensor_ops.add_out", "cpu", {}, (1e-6,))
    assert not set(Placement.KEYS) & set(record.to_json())
    assert Measurement.from_json(record.to_json()).placement is None
    assert record.site == "cpu"
    assert "job" not in RunResults("r", "accept").to_json()


@pytest.mark.parametrize("change, problem", [
    ({"host": None}, "has rank, local_rank, node_rank but not host"),
    ({"rank": -1}, "rank must be a whole number"),
    ({"node_rank": True}, "node_rank must be a whole number"),
    ({"host": ""}, "host must be a non-empty string"),
])
def test_a_damaged_placement_is_one_line_naming_the_field(change, problem):
    data = {**Measurement("b.c", "cpu", {}, (1.0,), placement=PLACE).to_json(), **change}
    with pytest.raises(UsageError, match=problem):
        Measurement.from_json(data, "benchmarks[0]")


def test_a_job_record_round_trips_through_results_json(tmp_path):
    results = RunResults("run", "accept", job=_job())
    write_json_atomic(tmp_path / "results.json", results.to_json())
    stored = read_run(tmp_path).results
    assert stored.job == _job()
    assert [e.rank for e in stored.job.dead] == [1]
    assert stored.job.hosts == ("node-a", "node-b")
    assert [c.rank for c in stored.job.view.flagged] == [1]


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d["ranks"][1].update(rank=0), "must name each rank below world_size 2 once"),
    (lambda d: d["ranks"][1].update(rank=5), "must name each rank below world_size 2 once"),
    (lambda d: d["ranks"][0].update(state="asleep"), "state must be one of finished"),
    (lambda d: d["rank_view"]["cells"][0].update(verdict="SLOW"), "verdict must be one of"),
    (lambda d: d["rank_view"]["cells"][0].update(median_s=float("nan")), "out of range"),
    (lambda d: d.update(world_size="2"), "world_size must be a whole number"),
])
def test_a_damaged_job_record_is_one_line(tmp_path, edit, problem):
    data = _job().to_json()
    edit(data)
    (tmp_path / "results.json").write_text(json.dumps(
        {**RunResults("run", "accept").to_json(), "job": data}))
    with pytest.raises(UsageError, match=problem):
        read_run(tmp_path)


def test_view_verdicts_are_compare_s():
    assert set(VERDICTS) == {v.value for v in Verdict} | {""}

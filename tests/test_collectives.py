"""distributed/collectives.py and report/collectives.py: nccl-tests' arithmetic against
hand-computed values, #wrong against planted corruptions (a one-rank gloo world in this
process), and real two-rank jobs started by torchrun on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist

from blitzbench.distributed.collectives import (
    COLLECTIVE_SIZES,
    OPS,
    TORCH_OLD_NAMES,
    LoopComparison,
    algbw_gb_per_s,
    busbw_gb_per_s,
    collective_record,
    measure_case,
    measure_world,
    nccl_count,
    nccl_size_bytes,
    sizes_for,
    slowest_rank_times,
)
from blitzbench.distributed.local import LOCAL_ENV, run_local
from blitzbench.distributed.world import World
from blitzbench.errors import UsageError
from blitzbench.report.collectives import (
    COLLECTIVES_HEADER,
    collectives_markdown,
    collectives_table,
)
from blitzbench.results.names import COLLECTIVE_OPS
from blitzbench.results.records import Measurement

MIB = 1024 * 1024
#: A CPU world even where a GPU exists (two ranks would need two GPUs).
CPU_WORLD_ENV = {"CUDA_VISIBLE_DEVICES": ""}
TESTS_DIR = Path(__file__).parent
#: The torch.distributed function behind each op, monkeypatched to plant a corruption.
OP_FUNCTIONS = {"all_reduce": "all_reduce", "all_gather": "all_gather_single",
                "reduce_scatter": "reduce_scatter_single", "broadcast": "broadcast",
                "all_to_all": "all_to_all_single"}
#: In-place all_to_all_single is wrong in a race on gloo (8 to 30 of 30 calls per size
#: measured): 30 calls all right would happen about once in 10,000 jobs at the worst rate.
IN_PLACE_ALL_TO_ALL_CALLS = 30


def _world(rank: int = 0, world_size: int = 1) -> World:
    return World(rank, rank, world_size, world_size, 0, "localhost", "cpu", "gloo")


# --- nccl-tests' arithmetic --------------------------------------------------------------

@pytest.mark.parametrize(("op", "n", "factor"), [
    ("all_reduce", 2, 1.0), ("all_reduce", 4, 1.5), ("all_reduce", 8, 1.75),
    ("all_gather", 2, 0.5), ("all_gather", 4, 0.75), ("all_gather", 8, 0.875),
    ("reduce_scatter", 2, 0.5), ("reduce_scatter", 4, 0.75), ("reduce_scatter", 8, 0.875),
    ("broadcast", 2, 1.0), ("broadcast", 4, 1.0), ("broadcast", 8, 1.0),
    ("all_to_all", 2, 0.5), ("all_to_all", 4, 0.75), ("all_to_all", 8, 0.875),
])
def test_busbw_is_algbw_times_nccl_tests_factor(op: str, n: int, factor: float) -> None:
    # 1 MiB in 1 ms: 1,048,576 B / 1e9 / 1e-3 s = 1.048576 GB/s
    algbw = algbw_gb_per_s(MIB, 1e-3)
    assert algbw == pytest.approx(1.048576)
    assert busbw_gb_per_s(OPS[op], algbw, n) == pytest.approx(1.048576 * factor)


@pytest.mark.parametrize(("op", "size", "n", "count", "size_column"), [
    ("all_reduce", 8, 2, 2, 8),
    ("all_reduce", 100, 4, 25, 100),
    ("broadcast", MIB, 8, 262_144, MIB),
    ("all_gather", 8, 2, 0, 0),  # (2 // 2) & ~3: nccl-tests prints 0 too
    ("all_gather", 1024, 2, 128, 1024),
    ("reduce_scatter", 1024, 8, 32, 1024),
    ("reduce_scatter", 100, 4, 4, 64),  # 25 // 4 = 6, rounded down to 16 B: 4
    ("all_to_all", MIB, 4, 65_536, MIB),
    ("all_to_all", 8, 4, 0, 0),
])
def test_count_and_size_as_nccl_tests_count_them(op: str, size: int, n: int, count: int,
                                                  size_column: int) -> None:
    assert nccl_count(OPS[op], size, n) == count
    assert nccl_size_bytes(OPS[op], count, n) == size_column


def test_a_record_carries_nccl_tests_columns() -> None:
    times = (2e-3,) * 19 + (1.0,)  # one slow iteration: the median ignores it
    record = collective_record(OPS["all_gather"], MIB, True, _world(0, 4), times, 65_536, 0)
    assert record.benchmark == "collectives.all_gather" and record.median_s == 2e-3
    assert record.params == {"size": MIB, "inplace": True, "world_size": 4,
                             "dtype": "float32", "redop": "none"}
    assert record.extra["algbw_gb_per_s"] == pytest.approx(1.048576 / 2)
    assert record.extra["busbw_gb_per_s"] == pytest.approx(1.048576 / 2 * 0.75)
    assert {k: record.extra[k] for k in ("count", "bytes", "type", "root", "wrong",
                                         "backend")} == {
        "count": 65_536, "bytes": MIB, "type": "float", "root": -1, "wrong": 0,
        "backend": "gloo"}


def test_an_iteration_of_zero_seconds_is_an_error_not_a_figure() -> None:
    record = collective_record(OPS["all_gather"], 8, False, _world(0, 2), (1e-5, 0.0), 0, 0)
    assert not record.ok and "below the clock's resolution" in record.error
    assert Measurement.from_json(record.to_json()) == record
    assert "busbw_gb_per_s" not in record.extra and record.extra["wrong"] == 0
    (line,) = collectives_table([record])
    assert line["out_of_place"] == {"error": record.error, "wrong": 0}
    assert "| error: an iteration read 0 s" in collectives_markdown([record])


def test_levels_nest_and_reach_their_largest_size() -> None:
    assert sizes_for("quick", "cpu") == (8, 1024, 64 * 1024, MIB)
    assert set(sizes_for("quick", "cpu")) <= set(sizes_for("standard", "cpu"))
    assert max(sizes_for("full", "cpu")) == 2 ** 28
    assert max(sizes_for("full", "cuda:3")) == 2 ** 30
    assert sizes_for("full", "cpu") == tuple(2 ** e for e in range(3, 29))
    assert set(COLLECTIVE_SIZES) == {"quick", "standard", "full"}
    with pytest.raises(UsageError, match="unknown level"):
        sizes_for("huge", "cpu")


def test_ops_follow_the_shared_names_and_torch_forms() -> None:
    assert tuple(OPS) == COLLECTIVE_OPS
    assert {name: op.variants for name, op in OPS.items()} == {
        "all_reduce": (True,), "all_gather": (False, True), "reduce_scatter": (False, True),
        "broadcast": (True,), "all_to_all": (False,)}


# --- a one-rank world in this process ----------------------------------------------------

@pytest.fixture(scope="module")
def one_rank() -> Iterator[World]:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", LOCAL_ENV["GLOO_SOCKET_IFNAME"])
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield _world()
    finally:
        dist.destroy_process_group()


def _corrupting(real: Any, index: int) -> Any:
    """``real``, then one float32 output element off by one (the op's output is its first
    argument; all_reduce and broadcast write into their only tensor)."""

    def call(output: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        result = real(output, *args, **kwargs)
        if output.dtype == torch.float32:  # not the MAX of times or the #wrong sum
            output[index] += 1
        return result

    return call


@pytest.mark.parametrize(("op", "inplace"), [(name, inplace) for name, op in OPS.items()
                                             for inplace in op.variants])
def test_wrong_counts_a_planted_corruption(one_rank: World, monkeypatch: pytest.MonkeyPatch,
                                           op: str, inplace: bool) -> None:
    clean = measure_case(OPS[op], 1024, inplace, one_rank, warmup=1, iterations=2)
    assert clean.extra["wrong"] == 0
    function = OP_FUNCTIONS[op] if hasattr(dist, OP_FUNCTIONS[op]) else \
        TORCH_OLD_NAMES[OP_FUNCTIONS[op]]
    monkeypatch.setattr(dist, function, _corrupting(getattr(dist, function), index=37))
    planted = measure_case(OPS[op], 1024, inplace, one_rank, warmup=1, iterations=2)
    assert planted.extra["wrong"] == 1


def test_an_output_never_written_is_all_wrong(one_rank: World,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    name = "all_gather_single"
    monkeypatch.setattr(dist, name if hasattr(dist, name) else TORCH_OLD_NAMES[name],
                        lambda output, mine: None)
    record = measure_case(OPS["all_gather"], 1024, False, one_rank, warmup=0, iterations=1)
    assert record.extra["wrong"] == 256  # every NaN the buffer started with


def test_iteration_times_are_differences_of_the_latest_end_times(one_rank: World) -> None:
    assert slowest_rank_times([0.1, 0.3, 0.6], torch.device("cpu")) == pytest.approx(
        [0.1, 0.2, 0.3])


def test_measure_world_refuses_bad_arguments(one_rank: World) -> None:
    with pytest.raises(UsageError, match="unknown collective 'reduce'"):
        measure_world(one_rank, "quick", "all_reduce,reduce")
    with pytest.raises(UsageError, match="JSON list of positive byte counts"):
        measure_world(one_rank, "[8, -1]")
    assert measure_world(one_rank, "[64]", "broadcast")[0]["params"]["size"] == 64


# --- two ranks started by torchrun -------------------------------------------------------

def interleaved_ranks(world: World) -> dict[str, Any]:
    """A run_local target (this module, on PYTHONPATH): what the ranks see that one rank
    cannot show (end times that interleave across ranks, in-place all_to_all_single)."""
    ends = [[1.0, 5.0, 6.0], [4.0, 4.5, 7.0]][world.rank]
    times = slowest_rank_times(ends, torch.device("cpu"))
    in_place = dataclasses.replace(OPS["all_to_all"], in_place=True)
    wrong = [measure_case(in_place, 1024, True, world, warmup=0, iterations=1).extra["wrong"]
             for _ in range(IN_PLACE_ALL_TO_ALL_CALLS)]
    return {"times": times, "in_place_all_to_all_wrong": wrong}


@pytest.fixture(scope="module")
def quick_records() -> list[Measurement]:
    run = run_local("blitzbench.distributed.collectives:measure_world", 2, timeout_s=120,
                    args=("quick",), env=CPU_WORLD_ENV)
    assert run.returncode == 0, run.output[-3000:]
    assert run.results[1] is None  # only the leader returns the records
    return [Measurement.from_json(json.loads(json.dumps(d))) for d in run.results[0]]


def test_a_quick_two_rank_job_is_correct_and_round_trips(
        quick_records: list[Measurement]) -> None:
    expected = {(f"collectives.{name}", size, inplace) for name, op in OPS.items()
                for size in sizes_for("quick", "cpu") for inplace in op.variants}
    assert {(r.benchmark, r.params["size"], r.params["inplace"])
            for r in quick_records} == expected
    for record in quick_records:
        assert Measurement.from_json(record.to_json()) == record
        assert record.extra["wrong"] == 0, record.prefix
        assert record.params["world_size"] == 2 and record.extra["backend"] == "gloo"
        assert len(record.times_s) == 20 and all(t > 0 for t in record.times_s)
        n_factor = {"all_reduce": 1.0, "broadcast": 1.0}.get(record.benchmark.split(".")[1],
                                                             0.5)
        assert record.extra["busbw_gb_per_s"] == pytest.approx(
            record.extra["algbw_gb_per_s"] * n_factor)
        assert record.extra["algbw_gb_per_s"] == pytest.approx(
            record.extra["bytes"] / 1e9 / record.median_s)


def test_the_report_prints_nccl_tests_lines(quick_records: list[Measurement]) -> None:
    lines = collectives_table(quick_records)
    assert len(lines) == len(COLLECTIVE_OPS) * len(sizes_for("quick", "cpu"))
    first = lines[0]
    assert (first["op"], first["size"], first["count"], first["redop"]) == (
        "all_reduce", 8, 2, "sum")
    assert first["out_of_place"] is None and first["in_place"]["wrong"] == 0
    gather = next(line for line in lines if line["op"] == "all_gather"
                  and line["requested_size"] == MIB)
    assert gather["out_of_place"]["time_us"] > 0 and gather["in_place"]["time_us"] > 0
    text = collectives_markdown(quick_records)
    assert "| " + " | ".join(COLLECTIVES_HEADER) + " |" in text
    assert "out-of-place n/a" in text and "in-place n/a" in text
    assert text.count("### collectives.") == len(COLLECTIVE_OPS)


def test_two_ranks_show_what_one_cannot() -> None:
    env = {**CPU_WORLD_ENV,
           "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    run = run_local("test_collectives:interleaved_ranks", 2, timeout_s=120, env=env)
    assert run.returncode == 0, run.output[-3000:]
    result = run.results[0]
    # latest ends 4, 5, 7: sums to the slowest rank's 7 s; the maxima of each rank's own
    # durations ([1, 4, 1] and [4, 0.5, 2.5]) would sum to 10.5
    assert result["times"] == pytest.approx([4.0, 1.0, 2.0])
    # all_to_all_single(t, t) is accepted but wrong on gloo: the reason it is not measured
    assert any(result["in_place_all_to_all_wrong"])


def test_a_loop_comparison_pairs_neighbours_and_round_trips() -> None:
    comparison = LoopComparison(MIB, 20, (1.0e-3, 3.0e-3, 2.0e-3), (2.0e-3, 2.0e-3, 1.0e-3),
                                (0.9e-3, 2.0e-3, 1.5e-3))
    assert comparison.ratios == pytest.approx((0.5, 1.5, 2.0))
    assert comparison.ratio == pytest.approx(1.5)  # not 2.0 / 2.0, the ratio of medians
    assert comparison.ratio_interval() == pytest.approx((0.5, 2.0))  # n = 3: all of them
    wide = LoopComparison(MIB, 20, tuple(float(k) for k in range(1, 101)), (1.0,) * 100)
    assert wide.ratio_interval() == (40.0, 61.0)  # ranks 40 and 61 of 100, as tables give
    again = LoopComparison.from_json(json.loads(json.dumps(comparison.to_json())))
    assert again == comparison and math.isclose(again.ratio, comparison.ratio)

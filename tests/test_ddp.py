"""distributed/ddp.py and claims/ddp.py: the weak-scaling efficiency, a real two-rank
DDP job's record, and the replica claim turning red when one rank's weights drift by a
single float32 step (a plant made inside the job, through ``replica_report``'s hook)."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from blitzbench.claims.ddp import GRADIENT_TOLERANCE, judge_replica_run
from blitzbench.claims.model import Verdict
from blitzbench.distributed.ddp import (
    CHECKED_STEPS,
    StepTiming,
    local_world_env,
    local_world_unavailable,
    measure_local_world,
    replica_report,
    scaling_efficiency,
)
from blitzbench.distributed.local import LocalRun, run_local
from blitzbench.distributed.world import World
from blitzbench.results.names import (
    BATCH_PARAM,
    DDP_STEP,
    RANK_RATES_FIELD,
    RATE_PER_RANK_FIELD,
    RATE_TOTAL_FIELD,
    SCALING_EFFICIENCY_FIELD,
    SCALING_ROUNDS_FIELD,
    SOLO_TIMES_FIELD,
    WORLD_SIZE_PARAM,
)
from blitzbench.results.records import Measurement
from blitzbench.workloads.cifar import available_cores, resolve_data_source

WORLD_SIZE = 2
#: A short job: the record's shape is under test here, not its figures.
SHORT = StepTiming(batch_size=4, steps_per_round=5, rounds=3, warmup_steps=2)
TESTS_DIR = Path(__file__).resolve().parent
#: This module as a run_local target: the ranks import it from tests/.
PERTURBED_TARGET = "test_ddp:perturbed_replicas"
PERTURBED_RANK = 1
PERTURBED_STEP = CHECKED_STEPS[0]


# ---------------------------------------------------------------- scaling efficiency


@pytest.mark.parametrize(("total", "world_size", "single", "expected"), [
    (2000.0, 2, 1000.0, 1.0),   # twice the rate on twice the ranks: perfect
    (1500.0, 2, 1000.0, 0.75),  # a quarter of the second rank's work lost
    (1000.0, 4, 1000.0, 0.25),  # four ranks no faster than one
    (900.0, 1, 1000.0, 0.9),    # one rank against another measurement of one rank
])
def test_scaling_efficiency(total: float, world_size: int, single: float,
                            expected: float) -> None:
    assert scaling_efficiency(total, world_size, single) == pytest.approx(expected)


@pytest.mark.parametrize(("total", "world_size", "single"), [
    (1000.0, 0, 1000.0), (0.0, 2, 1000.0), (1000.0, 2, 0.0), (math.nan, 2, 1000.0)])
def test_scaling_efficiency_refuses_what_is_no_rate(total: float, world_size: int,
                                                    single: float) -> None:
    with pytest.raises(ValueError):
        scaling_efficiency(total, world_size, single)


# ---------------------------------------------------------------- local worlds


def test_a_cpu_world_hides_the_gpus_and_cuda_worlds_start_at_cuda_0() -> None:
    assert local_world_env("cpu") == {"CUDA_VISIBLE_DEVICES": ""}
    assert local_world_unavailable("cpu", WORLD_SIZE) is None  # gloo is in every build
    assert "cuda:0" in local_world_unavailable("cuda:1", WORLD_SIZE)
    if torch.cuda.device_count() < WORLD_SIZE:
        assert f"needs {WORLD_SIZE} GPUs" in local_world_unavailable("cuda:0", WORLD_SIZE)


def test_a_two_rank_job_returns_a_record_that_round_trips() -> None:
    record = measure_local_world(WORLD_SIZE, SHORT)
    assert record.benchmark == DDP_STEP and record.device == "cpu"
    assert record.params == {BATCH_PARAM: SHORT.batch_size, WORLD_SIZE_PARAM: WORLD_SIZE}
    assert len(record.times_s) == SHORT.rounds and all(t > 0 for t in record.times_s)
    per_rank = record.extra[RATE_PER_RANK_FIELD]
    assert per_rank == pytest.approx(SHORT.batch_size / record.median_s)
    assert record.extra[RATE_TOTAL_FIELD] == pytest.approx(WORLD_SIZE * per_rank)
    # times_s is the slowest rank's per round, so no rank's own rate is below it
    ranks = record.extra[RANK_RATES_FIELD]
    assert len(ranks) == WORLD_SIZE and all(rate >= per_rank for rate in ranks)
    assert record.extra["torch_threads_per_rank"] == 1
    assert record.extra["cores_oversubscribed"] is (available_cores() < WORLD_SIZE)
    # the efficiency: per round, rank 0's solo step a moment before the world's DDP step
    solo, ratios = record.extra[SOLO_TIMES_FIELD], record.extra[SCALING_ROUNDS_FIELD]
    assert len(solo) == len(ratios) == SHORT.rounds and all(t > 0 for t in solo)
    assert ratios == pytest.approx([s / d for s, d in zip(solo, record.times_s,
                                                           strict=True)])
    assert record.extra[SCALING_EFFICIENCY_FIELD] == pytest.approx(statistics.median(ratios))
    assert "rank 0 alone" in record.extra["efficiency_reference"]
    assert Measurement.from_json(record.to_json()) == record


def test_the_efficiency_is_the_median_of_rounds_paired_in_time() -> None:
    """A drift that slows solo and DDP rounds alike cancels in each pair: two medians
    taken at different moments would read it as scaling."""
    from blitzbench.distributed.ddp import with_solo_rounds

    ddp = [0.012, 0.024, 0.012, 0.024, 0.013]  # the host halves its speed in rounds 2, 4
    solo = [0.010, 0.020, 0.010, 0.020, 0.0104]
    record = Measurement(DDP_STEP, "cpu", {BATCH_PARAM: 64, WORLD_SIZE_PARAM: 2},
                         tuple(ddp), {})
    paired = with_solo_rounds(record, solo)
    assert paired.extra[SCALING_EFFICIENCY_FIELD] == pytest.approx(10 / 12)
    assert with_solo_rounds(record, []) is record
    from blitzbench.acceptance.metrics import extract_metrics
    from blitzbench.results.records import RunResults

    (value,) = [v for v in extract_metrics(RunResults(run_id="r", command="accept",
                                                       benchmarks=(paired,)))
                if v.metric.endswith(SCALING_EFFICIENCY_FIELD)]
    # its spread is the ratios' (0.8-0.83), not the drifting times' (IQR 100%)
    assert value.rel_spread < 0.05 and not value.noisy and paired.noisy


def test_a_failed_job_is_an_error_with_its_cause_never_fails() -> None:
    """A job whose ranks could not finish could not judge the claim: ERROR with the
    one-line cause, never FAILS (the tutorial is not wrong because a rank died)."""
    outcome = judge_replica_run(LocalRun(1, ({"rank": 0}, None), "rank 1 died: boom"),
                                "synthetic CIFAR-10")
    assert outcome.verdict is Verdict.ERROR
    assert outcome.evidence["cause"] == "rank 1 died: boom"
    assert "\n" not in outcome.summary and "Traceback" not in outcome.summary


# ---------------------------------------------------------------- a planted drift


def _nudge_one_weight(world: World) -> Callable[[int, nn.Module], None]:
    """After step PERTURBED_STEP, rank PERTURBED_RANK moves one bias by one float32 step:
    the smallest drift there is, which any tolerance would let through."""
    def after_step(step: int, module: nn.Module) -> None:
        if step == PERTURBED_STEP and world.rank == PERTURBED_RANK:
            with torch.no_grad():
                bias = module.fc3.bias
                bias[0] = torch.nextafter(bias[0], torch.tensor(math.inf))
    return after_step


def perturbed_replicas(world: World) -> dict[str, Any]:
    """run_local target: the replica check with the drift planted."""
    return replica_report(world, resolve_data_source(None),
                          after_step=_nudge_one_weight(world)).to_json()


@pytest.mark.slow  # a torchrun job of its own: 8-10 s here under load 3-5 (2026-12-06)
def test_one_rank_drifting_by_one_ulp_makes_the_replica_claim_fail() -> None:
    path = os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH")) if p)
    run = run_local(PERTURBED_TARGET, WORLD_SIZE, timeout_s=180,
                    env={**local_world_env("cpu"), "PYTHONPATH": path})
    outcome = judge_replica_run(run, "synthetic CIFAR-10")
    assert outcome.verdict is Verdict.FAILS, outcome.summary
    evidence = outcome.evidence
    assert evidence["parameters_identical"] == [False] * len(CHECKED_STEPS)
    assert 0 < evidence["param_max_abs_diff"] < 1e-3  # tiny, and still caught
    # the drift came after the gradient was checked: that part still holds
    assert evidence["grad_vs_global_of_scale"] <= GRADIENT_TOLERANCE
    assert evidence["own_grad_vs_ddp_of_scale"] > GRADIENT_TOLERANCE

"""GPU health and the sustained stress as rows of accept's verdict
(acceptance/health_rules.py), on recorded NVML readings (tests/data/machine): a healthy
H100 accepted, a lost lane and a throttling stress rejected, no NVML skipped, a CPU-only
run without rows."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from blitzbench.acceptance.health_rules import STRESS_BAND, health_rows
from blitzbench.acceptance.rules import ACCEPTED, REJECTED, Status, verdict
from blitzbench.errors import UsageError
from blitzbench.results.machine import GpuHealthRecord
from blitzbench.results.records import RunResults
from blitzbench.results.stress import StressRecord

DATA = Path(__file__).parent / "data" / "machine"


@pytest.fixture
def healthy() -> GpuHealthRecord:
    return GpuHealthRecord.from_json(json.loads((DATA / "h100_healthy.json").read_text()))


def _stress(*tflops: float) -> StressRecord:
    return StressRecord("cuda:0", 8192, 5.0, tuple(tflops))


def test_a_healthy_gpu_and_a_held_stress_are_accepted(healthy):
    rows = health_rows(healthy, [_stress(640, 655, 650, 648, 652, 649, 651)])
    assert {r.rule.id for r in rows} >= {"gpu-ecc-errors", "gpu-pcie-width",
                                         "gpu-throttle", "gpu-sustained-stress"}
    assert all(r.status is Status.PASS for r in rows) and verdict(rows) == ACCEPTED
    assert all(r.rule.source for r in rows)


def test_a_lost_lane_rejects_the_machine_naming_the_gpu(healthy):
    lane = dataclasses.replace(healthy, after=(dataclasses.replace(healthy.after[0],
                                                                   pcie_width=8),),
                               before=(dataclasses.replace(healthy.before[0],
                                                           pcie_width=8),),
                               samples=tuple(dataclasses.replace(s, pcie_width=8)
                                             for s in healthy.samples))
    (row,) = [r for r in health_rows(lane) if r.rule.id == "gpu-pcie-width"]
    assert row.status is Status.FAIL and row.device == "cuda:0" and "x8 of x16" in row.detail
    assert verdict(health_rows(lane)) == REJECTED


def test_a_stress_that_loses_throughput_fails():
    (row,) = health_rows(GpuHealthRecord(unavailable="x"), [_stress(650, 648, 651, 600,
                                                                    540, 530, 528)])[-1:]
    assert row.rule.id == "gpu-sustained-stress" and row.status is Status.FAIL
    assert row.measured == pytest.approx(530 / 650) and row.measured < STRESS_BAND


def test_without_nvml_every_check_is_skipped_with_the_reason():
    rows = health_rows(GpuHealthRecord(unavailable="nvidia-ml-py is not installed "
                                                   "(pip install nvidia-ml-py)"))
    assert {r.status for r in rows} == {Status.SKIPPED}
    assert all("pip install nvidia-ml-py" in r.detail for r in rows)


def test_a_cpu_only_run_has_no_gpu_rows():
    assert health_rows(None) == []


def test_the_records_read_back_and_a_short_stress_is_refused(healthy):
    results = RunResults("r", "accept", gpu_health=healthy, stress=(_stress(*[600.0] * 6),))
    assert RunResults.from_json(results.to_json()) == results
    with pytest.raises(UsageError, match="at least 6 window"):
        StressRecord.from_json({"device": "cuda:0", "n": 8192, "window_s": 5.0,
                                "tflops": [1.0, 2.0]})


@pytest.mark.cuda
def test_the_stress_runs_on_a_gpu_window_by_window():
    import torch

    from blitzbench.runner.gpu_watch import sustained_stress

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is False on this machine")
    record = sustained_stress(torch.device("cuda", 0), seconds=6.0, window_s=1.0, n=2048)
    assert len(record.tflops) >= 6 and min(record.tflops) > 0

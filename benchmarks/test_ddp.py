"""DDP LeNet: images/s of the blitz's step under DistributedDataParallel in local worlds
of 1, 2 (and at the full level 4) ranks, and the weak-scaling efficiency against 1 rank.

Each case is one torchrun job (``measure_local_world``); the ranks time the step
themselves (distributed/ddp.py: per round, the slowest rank's time per step), since no
clock in this process can see inside them. pytest-benchmark is then handed exactly those
per-round times through the plugin's ``ReplayClock``, so its statistics and saved JSON are the
job's measurements; the test checks that it recorded them unchanged. Under
``--benchmark-disable`` each job runs one short round, a smoke test.
"""

from __future__ import annotations

import pytest

from blitzbench.benchmark_plugin import REPLAY, replay
from blitzbench.devices import device_label
from blitzbench.distributed.ddp import (
    StepTiming,
    local_world_unavailable,
    measure_local_world,
    scaling_efficiency,
)
from blitzbench.results.names import (
    LEVELS,
    RATE_PER_RANK_FIELD,
    RATE_TOTAL_FIELD,
    SCALING_EFFICIENCY_FIELD,
    TUTORIAL_BATCH_SIZE,
)
from blitzbench.results.records import Measurement

LEVEL_OPTION = "--blitz-level"
#: Per-rank batch sizes and world sizes by level: the tutorial's batch at the quick level
#: (each case costs a torchrun start, ~10 s on two cores), a large batch from standard on.
BATCH_SIZES = dict(zip(LEVELS, ((TUTORIAL_BATCH_SIZE,), (TUTORIAL_BATCH_SIZE, 64),
                                (TUTORIAL_BATCH_SIZE, 64)), strict=True))
WORLD_SIZES = dict(zip(LEVELS, ((1, 2), (1, 2), (1, 2, 4)), strict=True))
#: 15 rounds of 20 steps after 5 warm-up steps: 0.3-0.6 s of steps at batch 4 on a CPU.
STEPS_PER_ROUND = 20
ROUNDS = 15
WARMUP_STEPS = 5
SMOKE = {"steps_per_round": 2, "rounds": 1, "warmup_steps": 1}


_MEASURED: dict[tuple[str, int, int], Measurement] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    level = metafunc.config.getoption(LEVEL_OPTION)
    metafunc.parametrize("batch_size", BATCH_SIZES[level], ids=lambda b: f"batch{b}")
    metafunc.parametrize("world_size", WORLD_SIZES[level], ids=lambda n: f"ranks{n}")


def _measured(device: str, batch_size: int, world_size: int, timed: bool) -> Measurement:
    """One job's record, kept for the session: the 1-rank job is the others' baseline."""
    key = (device, batch_size, world_size)
    if not timed:
        return measure_local_world(world_size, StepTiming(batch_size, **SMOKE), device=device)
    if key not in _MEASURED:
        timing = StepTiming(batch_size, STEPS_PER_ROUND, ROUNDS, WARMUP_STEPS)
        _MEASURED[key] = measure_local_world(world_size, timing, device=device)
    return _MEASURED[key]


@pytest.mark.benchmark(timer=REPLAY)
def test_ddp_step(device, batch_size: int, world_size: int, benchmark,
                  capsys: pytest.CaptureFixture[str]) -> None:
    label = device_label(device)
    reason = local_world_unavailable(label, world_size)
    if reason is not None:
        pytest.skip(reason)
    record = _measured(label, batch_size, world_size, benchmark.enabled)
    benchmark.group = record.benchmark
    benchmark.extra_info.update({"benchmark": record.benchmark, "device": record.device,
                                 "params": dict(record.params), **record.extra})
    replay(benchmark, record.times_s, STEPS_PER_ROUND)  # each time: a mean over the steps
    if not benchmark.enabled:
        return
    efficiency = scaling_efficiency(record.extra[RATE_TOTAL_FIELD], world_size,
                                    _measured(label, batch_size, 1, True).extra[
                                        RATE_TOTAL_FIELD])
    benchmark.extra_info[SCALING_EFFICIENCY_FIELD] = efficiency
    with capsys.disabled():
        print(f"\n{record.prefix} on {label}: {record.extra[RATE_PER_RANK_FIELD]:,.0f} "
              f"images/s per rank, {record.extra[RATE_TOTAL_FIELD]:,.0f} in all; weak-scaling "
              f"efficiency against 1 rank {efficiency:.2f}")

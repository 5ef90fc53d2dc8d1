"""The machine-state records and the ``busy`` judge, on windows recorded on the project's
2-core VM (tests/data/machine/vm_states.json: an idle window, one with a Python busy loop
beside us, one shared with another engineer's run as well) and on states derived from
them that differ in one thing (high steal, a GPU process, fewer threads). Milliseconds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from blitzbench.errors import UsageError
from blitzbench.results.machine import (
    OTHERS_TOLERATED_CORES,
    STEAL_BUSY_FRACTION,
    GpuProcess,
    MachineState,
    Preflight,
    busy,
)

RECORDED = json.loads((Path(__file__).parent / "data" / "machine" / "vm_states.json")
                      .read_text())


@pytest.fixture
def idle() -> MachineState:
    return MachineState.from_json(RECORDED["idle"])


@pytest.fixture
def neighbour() -> MachineState:
    return MachineState.from_json(RECORDED["busy"])


def test_the_recorded_idle_window_is_fit(idle):
    assert idle.others_cores < OTHERS_TOLERATED_CORES
    assert busy(idle) is None


def test_a_neighbour_at_a_full_core_makes_the_window_busy_and_is_named(neighbour):
    pid = RECORDED["busy_neighbour_pid"]
    reason = busy(neighbour)
    assert reason is not None
    assert f"python (pid {pid}, 0.99 cores)" in reason
    assert reason.startswith("other processes used 1.24 of 2 cores while this run's 2 "
                             "threads wanted 2")


def test_a_run_that_leaves_a_core_free_tolerates_one_busy_neighbour(neighbour):
    """torch at 1 thread of 2 cores: the neighbour's core is not one the run wants."""
    one_thread = dataclasses.replace(neighbour, torch_threads=1)
    assert one_thread.free_cores == 1.0
    assert busy(one_thread) is None
    shared = dataclasses.replace(MachineState.from_json(RECORDED["busy_shared"]),
                                 torch_threads=1)
    assert "1.99 of 2 cores" in (busy(shared) or "")  # two neighbours: busy again


def test_high_steal_makes_the_window_busy(idle):
    stolen = dataclasses.replace(idle, steal_fraction=0.12)
    assert busy(stolen) == "the hypervisor stole 12.0% of the CPU time (limit 5%)"
    assert busy(dataclasses.replace(idle, steal_fraction=STEAL_BUSY_FRACTION)) is None


def test_another_process_on_a_gpu_the_run_uses_makes_it_busy(idle):
    held = dataclasses.replace(idle, gpu_source="nvml", gpu_note="", gpu_processes=(
        GpuProcess(1, 4242, "python", 2 << 30),))
    assert busy(held) == "other processes on the GPU: python 4242 on GPU 1"
    assert busy(held, gpu_devices=[0]) is None


def test_the_load_average_is_judged_only_in_the_pre_flight(idle):
    """The recorded idle window still carried a minute of another engineer's load."""
    assert idle.load1_end > 1.0
    assert busy(idle) is None
    reason = busy(idle, judge_load=True)
    assert reason is not None and reason.startswith(
        f"the 1-minute load average was {idle.load1_end:.2f} on 2 cores")
    quiet = dataclasses.replace(idle, load1_start=0.1, load1_end=0.12)
    assert busy(quiet, judge_load=True) is None


def test_reasons_are_joined_on_one_line(neighbour):
    both = dataclasses.replace(neighbour, steal_fraction=0.2)
    reason = busy(both)
    assert reason.count("; ") == 1 and "\n" not in reason


def test_a_state_reads_back_equal(neighbour):
    assert MachineState.from_json(json.loads(json.dumps(neighbour.to_json()))) == neighbour
    preflight = Preflight(neighbour, busy(neighbour) or "", forced=True)
    assert Preflight.from_json(preflight.to_json()) == preflight
    assert preflight.busy


@pytest.mark.parametrize(("key", "value", "named"), [
    ("cores", 0, "machine.cores must be a whole number from 1"),
    ("steal_fraction", 1.5, "machine.steal_fraction = 1.5 is out of range"),
    ("end_s", 1.0, "machine.end_s = 1.0 is before start_s"),
    ("gpu_source", "nvidia-smi?", "machine.gpu_source must be one of nvml, none"),
    ("busy_processes", [{"pid": -3, "name": "x", "cores": 1.0}],
     "machine.busy_processes[0].pid must be a whole number"),
    ("load", 3.0, "machine has an unknown key 'load'"),
])
def test_a_bad_field_is_one_line_naming_it(idle, key, value, named):
    data = idle.to_json()
    data[key] = value
    with pytest.raises(UsageError) as raised:
        MachineState.from_json(data)
    assert str(raised.value).startswith(named) and "\n" not in str(raised.value)

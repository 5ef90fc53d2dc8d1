"""The machine monitor and the pre-flight, run for real on this machine: a Python busy loop
outside our process tree must be named among the busy processes; the same loop as our
own child must not (it is ours); Ctrl-C in the pre-flight leaves no thread behind.

The shared VM has other engineers' work on it, so nothing here asserts that the machine
is idle; each test asserts what our own processes did. About 8 s in all (each window is
1-1.5 s, the pre-flight's 1 s).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from test_machine_gpu_health import fake_nvml

from blitzbench.machine.load import ProcessSweep
from blitzbench.machine.monitor import MIN_WINDOW_S, MachineMonitor
from blitzbench.machine.nvml import Nvml
from blitzbench.machine.preflight import PreflightInterrupted, preflight
from blitzbench.results.machine import GpuProcess, MachineState, Preflight, busy

THREADS = ("blitzbench-machine-monitor", "blitzbench-gpu-sampler")


def _busy_loop(seconds: float, clock: str = "time") -> list[str]:
    """A Python busy loop for ``seconds`` of wall time, or of its own CPU time with
    ``clock="process_time"`` (as long as it takes on a machine others share)."""
    code = f"import time\nend = time.{clock}() + {seconds}\nwhile time.{clock}() < end: pass"
    return [sys.executable, "-c", code]


@contextlib.contextmanager
def neighbour(seconds: float = 5.0) -> Iterator[int]:
    """A busy loop outside our process tree: started by a shell that exits at once, so
    the loop is re-parented away from us. It ends by itself after ``seconds``."""
    command = " ".join(f"'{part}'" for part in _busy_loop(seconds))
    started = subprocess.run(["sh", "-c", f"{command} >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True, timeout=30)
    pid = int(started.stdout.strip())
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def no_thread_left() -> bool:
    return not any(t.name in THREADS for t in threading.enumerate())


def test_a_busy_neighbour_outside_our_tree_is_named_and_makes_the_window_busy():
    with MachineMonitor(interval_s=0.25) as monitor, neighbour() as pid:
        time.sleep(0.3)  # the interpreter starting up is not yet the loop
        start = monitor.mark()
        time.sleep(1.5)
        state = monitor.state(start)
    named = {p.pid: p for p in state.busy_processes}
    assert pid in named, f"neighbour {pid} not among {state.busy_processes}"
    # alone it reads ~0.97 cores; with 6 runnable processes on 2 cores, ~0.3
    assert named[pid].name.startswith("python") and named[pid].cores > 0.1
    assert state.others_cores > 0.1 and state.samples >= 6
    assert busy(state) is not None
    assert no_thread_left()


def test_the_same_loop_as_our_own_child_is_ours_not_a_neighbour():
    """Its CPU counts as the tree's even after it has ended (its parent reaped it)."""
    with MachineMonitor(interval_s=0.25) as monitor:
        start = monitor.mark()
        child = subprocess.Popen(_busy_loop(0.6, "process_time"))
        time.sleep(0.5)
        during = monitor.state(start)
        child.wait(timeout=30)
        after = monitor.state(start)
    assert child.pid not in {p.pid for p in (*during.busy_processes, *after.busy_processes)}
    own_cpu_s = after.own_cpu_fraction * after.cores * after.duration_s
    assert own_cpu_s > 0.5, f"the tree used {own_cpu_s:.2f} s; the child alone 0.6 s"
    assert no_thread_left()


def test_a_root_above_us_makes_its_other_processes_ours():
    """How torchrun ranks on one host share a tree: rooted at their agent. Rooted at
    init here, so the neighbour is ours too."""
    with neighbour() as pid:
        ours, everyone = ProcessSweep(), ProcessSweep(root_pid=1)
        ours.sweep(), everyone.sweep()
        time.sleep(0.5)
        seen_by_us, seen_from_init = ours.sweep(), everyone.sweep()
    assert pid in seen_by_us.others and pid not in seen_from_init.others
    assert pid in seen_from_init.tree


def test_a_short_lived_child_is_counted_by_its_reaping_parent():
    sweep = ProcessSweep()
    first = sweep.sweep().own_cpu_s
    subprocess.run(_busy_loop(0.4, "process_time"), check=True, timeout=30)
    assert sweep.sweep().own_cpu_s - first >= 0.4


def test_a_window_shorter_than_the_interval_is_bounded_by_samples_taken_on_the_spot():
    with MachineMonitor(interval_s=30.0) as monitor:
        start = monitor.mark()
        state = monitor.state(start)
    assert state.samples >= 2 and 0 <= state.duration_s < 1.0


def test_a_window_too_short_for_tick_counted_cpu_starts_at_an_earlier_sample():
    """The kernel counts CPU time in 10 ms ticks: a 20 ms window is judged from an earlier
    sample on, at least MIN_WINDOW_S before its end, where there is one."""
    with MachineMonitor(interval_s=30.0) as monitor:
        monitor.mark()
        time.sleep(MIN_WINDOW_S + 0.1)
        start = monitor.mark()
        time.sleep(0.02)
        state = monitor.state(start)
    assert state.duration_s >= MIN_WINDOW_S and state.samples >= 3


def test_the_monitor_counts_its_own_cost_and_stops_cleanly():
    """Its cost is its own thread's CPU, so at most one core and more than none (what it
    costs at the real interval is a measurement, stated at SAMPLE_INTERVAL_S, not a
    timed bound here: a busy neighbour would make such a bound flaky)."""
    with MachineMonitor(interval_s=0.1) as monitor:
        time.sleep(1.0)
    assert 0 < monitor.overhead_cores <= 1.0, f"{monitor.overhead_cores:.3f} cores"
    assert not monitor.running and no_thread_left() and not monitor.error


def test_gpu_processes_of_others_are_listed_ours_left_out():
    nvml = Nvml(fake_nvml(count=2, processes=[(0, os.getpid(), 1 << 30),
                                              (1, 4_000_000, None)])).open()
    with MachineMonitor(interval_s=30.0, nvml=nvml) as monitor:
        state = monitor.state(monitor.mark())
    assert state.gpu_source == "nvml" and state.gpu_note == ""
    assert state.gpu_processes == (GpuProcess(1, 4_000_000, "", None),)  # pid not visible
    assert "other processes on the GPU: pid 4000000 on GPU 1" in busy(state)


def test_without_nvml_the_state_says_why_gpus_are_not_watched():
    with MachineMonitor(interval_s=30.0) as monitor:
        state = monitor.state(monitor.mark())
    if state.gpu_source == "none":
        assert "NVML" in state.gpu_note


def test_the_pre_flight_judges_its_window_with_the_load_average():
    result = preflight(window_s=1.0, torch_threads=1, settle_s=0)
    assert result.state.samples >= 3 and result.state.duration_s >= 1.0
    assert result.state.torch_threads == 1
    assert result.reason == (busy(result.state, judge_load=True) or "")
    assert Preflight.from_json(result.to_json()) == result
    assert no_thread_left()


def test_ctrl_c_during_the_pre_flight_leaves_no_thread_and_keeps_the_window():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.6, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(PreflightInterrupted) as raised:
            preflight(window_s=30.0)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert isinstance(raised.value, KeyboardInterrupt)  # the CLI's one line, exit 130
    assert str(raised.value).startswith("pre-flight interrupted: 0.")
    assert raised.value.state is not None and 0.5 < raised.value.state.duration_s < 5
    assert no_thread_left()


def test_sensing_and_judging_load_no_torch():
    code = ("import sys\nimport blitzbench.machine.preflight, blitzbench.machine.nvml\n"
            "import blitzbench.acceptance.gpu_health\n"
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


class _Decaying:
    """A monitor stand-in: the load average falls by ``step`` a window from ``load``,
    and the others use ``others_cores`` of 2 cores; counts the windows read."""

    def __init__(self, load: float, step: float, others_cores: float = 0.0) -> None:
        self.load, self.step, self.others_cores, self.reads = load, step, others_cores, 0

    def mark(self) -> float:
        return 0.0

    def state(self, start: float, end: float | None = None, *, torch_threads=None):
        load = max(0.0, self.load - self.step * self.reads)
        self.reads += 1
        return MachineState(1e9, 1e9 + self.reads, 2, load1_end=load, own_cpu_fraction=0.0,
                            others_cpu_fraction=self.others_cores / 2,
                            torch_threads=torch_threads)


def test_a_lagging_load_average_is_waited_out_when_nothing_runs_now():
    """A job that just ended holds the load average up: the pre-flight waits, says so
    once, and finds the machine fit once the load has settled."""
    said: list[str] = []
    result = preflight(window_s=0.001, torch_threads=1, settle_s=5.0, waiting=said.append,
                       monitor=_Decaying(load=2.0, step=0.5))
    assert not result.busy and result.state.load1_end <= 1.5
    assert len(said) == 1 and "waiting up to 5 s" in said[0]


def test_a_neighbour_still_running_ends_the_wait_at_once():
    monitor = _Decaying(load=2.0, step=0.5, others_cores=1.5)  # our 1 thread leaves 1
    result = preflight(window_s=0.001, torch_threads=1, settle_s=5.0, monitor=monitor)
    assert result.busy and monitor.reads == 1 and "other processes used 1.50" in result.reason


def test_a_load_that_does_not_settle_in_time_is_busy_saying_so():
    said: list[str] = []
    result = preflight(window_s=0.001, torch_threads=1, settle_s=0.05, waiting=said.append,
                       monitor=_Decaying(load=2.0, step=0.0))
    assert result.busy and "1-minute load average was 2.00" in result.reason and said

"""The steps of a run, each from its owner, each saved as it finishes.

The claim matrix (claims/), the tutorial's own blocks (tutorial/), the benchmark catalog
and its timer (workloads/catalog.py, workloads/measure.py, workloads/repeats.py) and the
profiler (profiling/). This module only calls them and turns a failure that is a result (a
case that raised, a profiler that could not record) into a record, so the run goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from blitzbench.errors import BlitzError
from blitzbench.results.records import ClaimCell, Measurement, ProfileEntry
from blitzbench.results.tutorial import TutorialResults, TutorialRun
from blitzbench.runner.progress import Advance

if TYPE_CHECKING:
    from blitzbench.machine.monitor import MachineMonitor
    from blitzbench.results.machine import MachineState
    from blitzbench.runner.session import Recorder
    from blitzbench.tutorial.sources import Tutorial
    from blitzbench.workloads.catalog import Case
    from blitzbench.workloads.cifar import DataSource

__all__ = ["NO_TUTORIAL", "PROFILE_WORKLOAD", "TUTORIAL_ENV", "judged_cells", "load_tutorial",
           "measure_with_retry", "run_benchmarks", "run_claims", "run_profile",
           "run_tutorial"]

PROFILE_WORKLOAD = "train_step"  # the LeNet step; the loader loop is `blitzbench profile`'s

#: The post blitzbench follows lies beside a source checkout, at ../shared/tutorial/ from
#: the project root; BLITZBENCH_TUTORIAL (or accept's --tutorial) names another one, and
#: --tutorial none runs none.
SHARED_POST = Path("..", "shared", "tutorial", "000_49fffafa504c6e97.txt")
PROJECT_ROOT = Path(__file__).resolve().parents[3]  # src/blitzbench/runner/steps.py
TUTORIAL_ENV = "BLITZBENCH_TUTORIAL"
NO_TUTORIAL = "none"
#: accept's time limit per tutorial block: the post's slowest block (loading CIFAR-10 and
#: a batch) takes 2-16 s on a 2-core machine; ten times that is a hang, not a slow disk.
TUTORIAL_BLOCK_TIMEOUT_S = 300.0


def judged_cells(devices: Sequence[torch.device], data: DataSource,
                 keep: Callable[[str], bool] = lambda claim_id: True) -> Iterator[ClaimCell]:
    """The claim matrix (the claims ``keep`` accepts by id), one record at a time, so a
    caller can save each as it is judged."""
    from blitzbench.claims.runner import judge_all

    return (cell.record() for cell in judge_all(devices, data, keep))


def run_claims(devices: Sequence[torch.device], data: DataSource,
               keep: Callable[[str], bool] = lambda claim_id: True) -> list[ClaimCell]:
    """The claim matrix as records."""
    return list(judged_cells(devices, data, keep))


def run_benchmarks(cases: Sequence[Case], recorder: Recorder, advance: Advance,
                   judged: Callable[[Case], bool] = lambda case: True,
                   repeats: int = 1, monitor: MachineMonitor | None = None) -> None:
    """Measure each case; save after each, with the wall seconds the case took
    (``wall_s``: build, warm-up, calibration, every repeat; the figure to size a level by)
    and, with a ``monitor``, the machine's state in each repeat's window.

    With ``repeats`` above 1 every case is measured in that many passes over the whole
    list (workloads/repeats.py says why), the record saved after each pass. With one, a
    noisy case a rule judges is re-measured once.
    """
    if repeats > 1:
        _run_repeated(cases, recorder, advance, repeats, monitor)
        return
    recorder.extend("benchmarks", [])
    for case in cases:
        advance(f"{case.benchmark} {case.device}")
        started = time.perf_counter()
        with _window(monitor) as states:
            measurement = measure_with_retry(case, retry=judged(case))
        wall_s = round(time.perf_counter() - started, 3)
        measurement = dataclasses.replace(measurement, wall_s=wall_s, machine=tuple(states))
        recorder.extend("benchmarks", [measurement])


def _run_repeated(cases: Sequence[Case], recorder: Recorder, advance: Advance,
                  repeats: int, monitor: MachineMonitor | None) -> None:
    from blitzbench.workloads.repeats import merge_repeats, takes_part

    parts: list[list[Measurement]] = [[] for _ in cases]
    states: list[list[MachineState]] = [[] for _ in cases]
    wall = [0.0] * len(cases)
    recorder.extend("benchmarks", [])
    for repeat in range(repeats):
        for index, (case, done) in enumerate(zip(cases, parts, strict=True)):
            advance(f"{case.benchmark} {case.device} (repeat {repeat + 1}/{repeats})")
            if done and not done[-1].ok:
                continue  # a failure is recorded once, not retried each pass
            if not takes_part(done, repeat, repeats):
                continue  # a long call: three repeats of three rounds, spread
            started = time.perf_counter()
            with _window(monitor) as found:
                done.append(_guarded(case, lambda c, d=done: _measure(c, d, repeats)))
            states[index] += found
            wall[index] += time.perf_counter() - started
            # saved after every measurement: an interrupted run keeps what it finished
            merged = (dataclasses.replace(merge_repeats(case, done, round(seconds, 3)),
                                          machine=tuple(seen))
                      for case, done, seconds, seen in zip(cases, parts, wall, states,
                                                           strict=True) if done)
            recorder.set("benchmarks", tuple(merged))


@contextlib.contextmanager
def _window(monitor: MachineMonitor | None) -> Iterator[list[MachineState]]:
    """The machine's state over the block (a list of one, empty without a monitor)."""
    found: list[MachineState] = []
    start = monitor.mark() if monitor is not None else None
    yield found
    if monitor is not None and start is not None:
        found.append(monitor.state(start, torch_threads=torch.get_num_threads()))


def measure_with_retry(case: Case, measure: Callable[[Case], Measurement] | None = None,
                       *, retry: bool = True) -> Measurement:
    """Measure; when the figure is noisy (IQR/median above NOISY_IQR_FRACTION) and
    ``retry``, measure once more and keep the steadier of the two, marked ``remeasured``."""
    measure = measure or _measure
    first = _guarded(case, measure)
    if first.error or not first.noisy or not retry:
        return first
    second = _guarded(case, measure)
    candidates = [m for m in (first, second) if not m.error]
    best = min(candidates, key=lambda m: m.iqr_s / m.median_s if m.median_s > 0 else 1e9)
    return dataclasses.replace(best, extra={**best.extra, "remeasured": True})


def _measure(case: Case, earlier: Sequence[Measurement] = (), repeats: int = 1
             ) -> Measurement:
    """One measurement of ``case``: the whole case, or one of its ``repeats``."""
    from blitzbench.workloads.repeats import measure_repeat

    return measure_repeat(case, earlier, repeats)


def _guarded(case: Case, measure: Callable[[Case], Measurement]) -> Measurement:
    """A case that raises is a recorded failure (the run goes on); user errors propagate."""
    try:
        return measure(case)
    except BlitzError:
        raise
    except Exception as exc:
        return Measurement(case.benchmark, case.device, dict(case.params),
                           error=f"{type(exc).__name__}: {exc}"[:500])


def run_profile(recorder: Recorder, reports: Path, devices: Sequence[torch.device],
                data: DataSource) -> None:
    """Profile the LeNet step on every device into the run folder's profiler/.

    A profiler failure is recorded, not fatal: the verdict does not depend on it.
    """
    from blitzbench.profiling import session as profiling
    from blitzbench.profiling.capture import ProfileSchedule

    try:
        profiling.profile_all(recorder, reports, list(devices), (PROFILE_WORKLOAD,),
                              profiling.DEFAULT_BATCH_SIZE, data, ProfileSchedule())
    except BlitzError:
        raise
    except Exception as exc:
        recorder.extend("profiles", [ProfileEntry(
            "all", PROFILE_WORKLOAD, error=f"{type(exc).__name__}: {exc}"[:500])])


def load_tutorial(option: str | None) -> Tutorial | str:
    """The tutorial accept runs, read before the run folder exists (a bad --tutorial is one
    line and its own exit code); or, when there is none to run, the reason."""
    from blitzbench.tutorial.sources import read_tutorial

    chosen = option or os.environ.get(TUTORIAL_ENV)
    if chosen and chosen.lower() == NO_TUTORIAL:
        return f"--tutorial {NO_TUTORIAL}"
    if chosen:
        return read_tutorial(Path(chosen).expanduser())
    shared = (PROJECT_ROOT / SHARED_POST).resolve()
    if not shared.is_file():
        return (f"no tutorial found (the shared post is not at {SHARED_POST} beside this "
                f"install): pass --tutorial PATH or set {TUTORIAL_ENV}")
    return read_tutorial(shared)


def run_tutorial(tutorial: Tutorial | str, devices: Sequence[torch.device],
                 data: DataSource) -> TutorialResults:
    """The tutorial's own blocks on every device (a worker per device, the data shim on
    ``data``); with no tutorial, every device skipped with the reason, so the rule that
    requires the blocks to run is SKIPPED, never passed."""
    from blitzbench.devices import device_label
    from blitzbench.tutorial.execute import DataPlan
    from blitzbench.tutorial.plan import tutorial_results

    labels = [device_label(d) for d in devices]
    if isinstance(tutorial, str):
        import torchvision

        return TutorialResults(tuple(TutorialRun("", "markdown", label, skipped=tutorial)
                                     for label in labels), torch=torch.__version__,
                               torchvision=torchvision.__version__,
                               timeout_s=TUTORIAL_BLOCK_TIMEOUT_S)
    return tutorial_results(tutorial, labels, [], DataPlan(data.kind, str(data.root)),
                            TUTORIAL_BLOCK_TIMEOUT_S)

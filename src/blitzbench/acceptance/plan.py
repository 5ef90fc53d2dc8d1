"""What an acceptance run does, step by step, and its glue to the rest of blitzbench.

The steps come from their owners: the claim matrix (claims/), the benchmark catalog and
its timer (workloads/catalog.py, workloads/measure.py) and the profiler (profiling/).
This module only sequences them, saves after each one, and
names the metrics a level will produce, so that a spec can be checked before anything
runs and a figure that should exist but does not is reported MISSING.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from blitzbench.acceptance.metrics import (
    CLAIMS_ALL,
    LOADER_EFFICIENCY,
    TUTORIAL_ALL,
    claim_metric,
    derived_metric_names,
    planned_metric_keys,
)
from blitzbench.acceptance.rules import RunDevices, select_devices
from blitzbench.acceptance.spec import BoundKind, Spec, metric_pattern
from blitzbench.errors import BlitzError
from blitzbench.results.names import BATCH_PARAM, DEFAULT_LEVEL, LEVELS, LOADER
from blitzbench.results.records import ClaimCell, Measurement, ProfileEntry, metric_prefix
from blitzbench.results.tutorial import TutorialResults, TutorialRun

if TYPE_CHECKING:
    from blitzbench.runs import RunRecorder
    from blitzbench.tutorial.sources import Tutorial
    from blitzbench.workloads.catalog import Case
    from blitzbench.workloads.cifar import DataSource

__all__ = ["DEFAULT_LEVEL", "LEVELS", "NO_TUTORIAL", "TUTORIAL_ENV", "judged_by",
           "known_metrics", "load_tutorial", "measure_with_retry", "plan_cases", "planned_keys",
           "progress", "run_benchmarks", "run_claims", "run_profile", "run_tutorial"]

#: Every device kind a spec may name, so a spec is checked the same on any machine.
PLANNING_DEVICES = (torch.device("cpu"), torch.device("cuda", 0))
PROFILE_WORKLOAD = "train_step"  # the LeNet step; the loader loop is `blitzbench profile`'s

Advance = Callable[[str], None]

#: The post blitzbench follows lies beside a source checkout, at ../shared/tutorial/ from
#: the project root; BLITZBENCH_TUTORIAL (or accept's --tutorial) names another one, and
#: --tutorial none runs none.
SHARED_POST = Path("..", "shared", "tutorial", "000_49fffafa504c6e97.txt")
PROJECT_ROOT = Path(__file__).resolve().parents[3]  # src/blitzbench/acceptance/plan.py
TUTORIAL_ENV = "BLITZBENCH_TUTORIAL"
NO_TUTORIAL = "none"
#: accept's time limit per tutorial block: the post's slowest block (loading CIFAR-10 and
#: a batch) takes 2-16 s on a 2-core machine; ten times that is a hang, not a slow disk.
TUTORIAL_BLOCK_TIMEOUT_S = 300.0


def plan_cases(level: str, devices: Sequence[torch.device], data: DataSource) -> list[Case]:
    """The benchmark cases of ``level`` on ``devices`` (torch.compile only at full)."""
    from blitzbench.workloads import catalog

    return catalog.cases(level, devices, data)


def known_metrics(data: DataSource) -> list[str]:
    """Every metric name a spec may use: every claim, every case of every level on a CPU
    and a GPU, and the derived figures; independent of what this machine has."""
    from blitzbench.claims import ALL_CLAIMS
    from blitzbench.workloads import catalog

    cases = [c for level in LEVELS for c in catalog.cases(level, PLANNING_DEVICES, data)]
    names = {CLAIMS_ALL, TUTORIAL_ALL, *(claim_metric(c.id) for c in ALL_CLAIMS)}
    names |= {metric for metric, _ in planned_metric_keys(cases)}
    # a 1-core machine sweeps no "1 worker" point, yet a spec must read the same there
    names |= {metric_prefix(LOADER_EFFICIENCY, {BATCH_PARAM: c.params.get(BATCH_PARAM)})
              for c in cases if c.benchmark == LOADER}
    return sorted(names | _world_metric_names())


#: The world size the names of a world's figures are listed with: the names carry it
#: (``...,world_size=2]``), and a spec matches any world with ``*``.
LISTED_WORLD_SIZE = 2


def _world_metric_names() -> set[str]:
    """The figures a torchrun job measures as one world (collectives, DDP)."""
    from blitzbench.acceptance.metrics import known_benchmark_fields
    from blitzbench.distributed.collectives import metric_prefixes
    from blitzbench.distributed.ddp import job_metric_prefixes

    prefixes = {prefix for level in LEVELS for device in PLANNING_DEVICES
                for prefix in metric_prefixes(level, str(device), LISTED_WORLD_SIZE)}
    prefixes |= set(job_metric_prefixes(LISTED_WORLD_SIZE))
    return {f"{prefix}.{field}" for prefix in prefixes
            for field in known_benchmark_fields(prefix.split("[", 1)[0])}


def planned_keys(cases: Sequence[Case], claims: Sequence[ClaimCell],
                 tutorial: TutorialResults | None = None) -> set[tuple[str, str]]:
    """(metric, device) pairs this run sets out to produce: every planned case's figures
    and the derived figures they feed, one per claim cell and device, and the tutorial's
    verdict on every device it was run on."""
    keys = planned_metric_keys(cases)
    keys |= {(TUTORIAL_ALL, r.device) for r in (tutorial.runs if tutorial else ())}
    keys |= {(claim_metric(c.claim), c.device) for c in claims}
    keys |= {(CLAIMS_ALL, c.device) for c in claims}
    return keys


def run_claims(device_spec: str, data: DataSource) -> list[ClaimCell]:
    """The claim matrix as records."""
    from blitzbench.claims.runner import judge_all

    return [cell.record() for cell in judge_all(device_spec, data)]


def run_benchmarks(cases: Sequence[Case], recorder: RunRecorder, advance: Advance,
                   judged: Callable[[Case], bool] = lambda case: True,
                   repeats: int = 1) -> None:
    """Measure each case; save after each, with the wall seconds the case took
    (``wall_s``: build, warm-up, calibration, every repeat; the figure to size a level by).

    With ``repeats`` above 1 every case is measured in that many passes over the whole
    list (workloads/repeats.py says why), the record saved after each pass. With one, a
    noisy case a rule judges is re-measured once.
    """
    if repeats > 1:
        _run_repeated(cases, recorder, advance, repeats)
        return
    recorder.extend("benchmarks", [])
    for case in cases:
        advance(f"{case.benchmark} {case.device}")
        started = time.perf_counter()
        measurement = measure_with_retry(case, retry=judged(case))
        wall_s = round(time.perf_counter() - started, 3)
        measurement = dataclasses.replace(measurement, wall_s=wall_s)
        recorder.extend("benchmarks", [measurement])


def _run_repeated(cases: Sequence[Case], recorder: RunRecorder, advance: Advance,
                  repeats: int) -> None:
    from blitzbench.workloads.repeats import merge_repeats

    parts: list[list[Measurement]] = [[] for _ in cases]
    wall = [0.0] * len(cases)
    recorder.extend("benchmarks", [])
    for repeat in range(repeats):
        for index, (case, done) in enumerate(zip(cases, parts, strict=True)):
            advance(f"{case.benchmark} {case.device} (repeat {repeat + 1}/{repeats})")
            if done and not done[-1].ok:
                continue  # a failure is recorded once, not retried each pass
            started = time.perf_counter()
            done.append(_guarded(case, lambda c, d=done: _measure(c, d, repeats)))
            wall[index] += time.perf_counter() - started
            # saved after every measurement: an interrupted run keeps what it finished
            merged = (merge_repeats(case, done, round(seconds, 3))
                      for case, done, seconds in zip(cases, parts, wall, strict=True)
                      if done)
            recorder.set("benchmarks", tuple(merged))


def judged_by(spec: Spec, cases: Sequence[Case], labels: Sequence[str],
              gpu_names: Mapping[str, str], *, baseline: bool) -> Callable[[Case], bool]:
    """Whether some rule that applies here reads a figure of a case (its own metrics, or
    a derived figure it feeds and this run can compute): only those are worth a second
    measurement when noisy."""
    devices = RunDevices(tuple(labels), dict(gpu_names))
    rules = [(metric_pattern(r.metric), select_devices(r, devices)[0]) for r in spec.rules
             if baseline or r.kind is not BoundKind.BASELINE]
    computable = {metric for metric, _ in planned_metric_keys(cases)}

    def judged(case: Case) -> bool:
        own = {metric for metric, _ in planned_metric_keys([case])}
        fed = derived_metric_names(case.benchmark, case.params) & computable
        return any(any(regex.match(n) for n in fed) or
                   (case.device in chosen and any(regex.match(n) for n in own))
                   for regex, chosen in rules if chosen)

    return judged


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


def run_profile(recorder: RunRecorder, reports: Path, devices: Sequence[torch.device],
                data: DataSource) -> None:
    """Profile the LeNet step on every device into <reports>/profiler/<run-id>/.

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


@contextlib.contextmanager
def progress(total: int) -> Iterator[Advance]:
    """A progress bar on stderr while the run goes on; silent when stderr is not a TTY."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(TextColumn("[bold]accept[/]"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("{task.description}"),
                   console=Console(stderr=True), disable=not sys.stderr.isatty(),
                   transient=True)
    with bar:
        task = bar.add_task("starting", total=total)
        started = [False]

        def advance(label: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=label)

        yield advance
        bar.update(task, completed=total)

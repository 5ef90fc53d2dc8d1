"""Hardware acceptance: run the claim checks, the benchmarks of a level and a profiler
capture of the LeNet step on every device found, then judge every metric against an
acceptance spec (the shipped default, or --spec).

Writes a run folder with results.json (saved after each section, so Ctrl-C keeps what
finished), junit.xml (one testcase per rule), report.md and report.html.
Before measuring, a pre-flight window (3 s) judges whether the machine is fit to be
measured; each case records the machine's state in its own window. A performance rule
whose figure was measured on a busy machine (or not measured: busy pre-flight) is
INCONCLUSIVE, never PASS or FAIL, unless --force.

Under torchrun (``torchrun --nproc-per-node=N -m blitzbench accept ...``, one node or
many) every rank measures its own device (cuda:LOCAL_RANK, or the CPU) and rank 0 writes
one run folder for the job, with every rank's records, each rank judged against the spec
and the ranks against each other.

Exit codes: 0 accepted; 1 rejected (a rule failed, a planned figure is missing, or a
torchrun rank died: its folder is kept, incomplete, naming it); 8 inconclusive: nothing
failed, but a rule could not be judged (a busy machine, a noisy figure, a figure NOISY
against --baseline), never a pass; 2 usage or input error (unknown metric in the spec,
malformed spec or baseline, a baseline from other hardware or torch without
--force-baseline); 3 a missing or damaged --data-root; 4 a device that is not here (or
more ranks on a node than GPUs); 5 the reports folder cannot be written; 6 a baseline
written by a newer blitzbench; 7 torchrun ranks with different torch, blitzbench or Python
versions; 20 --tutorial names no tutorial; 21 --tutorial is a malformed notebook; 130
interrupted (finished results kept).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blitzbench.distributed.world import DEFAULT_TIMEOUT_S
from blitzbench.errors import EXIT_FAILED, EXIT_NOT_JUDGED, EXIT_OK, UsageError
from blitzbench.machine.preflight import PREFLIGHT_WINDOW_S, SETTLE_LIMIT_S
from blitzbench.options import (
    add_case_filter,
    add_data_root,
    add_device,
    add_out,
    positive_int,
)
from blitzbench.results.names import DEFAULT_LEVEL, LEVELS
from blitzbench.results.records import AcceptanceRecord, Environment, RunResults

if TYPE_CHECKING:
    from blitzbench.acceptance.rules import MachineBusy, RuleResult, RunDevices
    from blitzbench.acceptance.spec import Spec
    from blitzbench.results.reader import StoredRun
    from blitzbench.runner.job import Job
    from blitzbench.runner.session import Recorder, RunInputs

__all__ = ["add_arguments", "run"]

#: torch (aten/src/ATen/Context.cpp) warns once per process when a sparse tensor is built
#: without stating its invariant checks; it is noise between the progress and the verdict.
SPARSE_WARNING = r"Sparse invariant checks are implicitly disabled"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--level", choices=LEVELS, default=DEFAULT_LEVEL,
                        help="depth: quick (about a minute on 2 cores), standard, full "
                             "(at most 10 minutes on a GPU node; claims judged over 10x "
                             "the generated inputs); default quick")
    add_device(parser)
    add_data_root(parser)
    parser.add_argument("--spec", type=Path, default=None, metavar="PATH",
                        help="acceptance spec (TOML); default: the shipped default spec")
    parser.add_argument("--baseline", type=Path, default=None, metavar="PATH",
                        help="an earlier run folder (or reports/reference/<gpu>/...) to "
                             "compare medians with")
    parser.add_argument("--force-baseline", action="store_true",
                        help="compare with a baseline from other hardware or torch anyway")
    parser.add_argument("--save-baseline", action="store_true",
                        help="store this run as a baseline under <reports>/baselines/")
    parser.add_argument("--list-metrics", action="store_true",
                        help="print every metric name a spec may use, grouped under the "
                             "wildcard pattern that matches them, with unit and meaning")
    parser.add_argument("--tutorial", metavar="PATH", default=None,
                        help="the tutorial whose own code blocks are run on every device "
                             "(default: $BLITZBENCH_TUTORIAL, else the shared post beside "
                             "a source checkout; 'none' runs none)")
    add_case_filter(parser, "benchmark cases, claims and world figures")
    parser.add_argument("--count-instructions", action="store_true",
                        help="also count each CPU case's instructions under callgrind "
                             "(valgrind; minutes: one valgrind process for all cases); "
                             "with --baseline, counts are judged against the baseline's")
    parser.add_argument("--force", action="store_true",
                        help="measure and judge the performance rules even when the machine "
                             "is busy (the verdict says so); without it they are "
                             "INCONCLUSIVE on a busy machine")
    parser.add_argument("--preflight", type=_seconds, default=PREFLIGHT_WINDOW_S,
                        metavar="S", help=f"seconds the machine is watched before measuring "
                        f"(default {PREFLIGHT_WINDOW_S:g}; 0: no pre-flight, each case's "
                        f"own window is still judged)")
    parser.add_argument("--settle", type=_seconds, default=SETTLE_LIMIT_S, metavar="S",
                        help=f"at most this long the pre-flight waits when only a lagging "
                        f"load average says busy (a job that just ended; default "
                        f"{SETTLE_LIMIT_S:g}; 0: never wait)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the profiler captures (the LeNet step, a job's DDP "
                             "traces)")
    parser.add_argument("--timeout", type=positive_int, default=DEFAULT_TIMEOUT_S,
                        metavar="S",
                        help="under torchrun: seconds a collective may wait, and a silent "
                             f"rank may stay silent, before the job ends (default "
                             f"{DEFAULT_TIMEOUT_S})")
    add_out(parser)


@dataclass(frozen=True)
class AcceptInputs:
    """Everything accept checks before its run folder exists."""

    run: RunInputs
    spec: Spec
    baseline: StoredRun | None
    tutorial: Any  # a Tutorial, or the reason none runs; None in a torchrun job


def run(args: argparse.Namespace) -> int:
    _claim_depth(args.level)
    from blitzbench.environment import fingerprint
    from blitzbench.runner.job import JobInterrupted, open_job
    from blitzbench.runner.session import mark_interrupted, open_recorder

    with open_job(args.device, args.timeout, fingerprint, select=args.select,
                  profile=args.profile) as job:  # None outside torchrun
        inputs = job.agree(lambda: _inputs(args, job)) if job else _inputs(args, None)
        if inputs is None:
            return EXIT_OK  # --list-metrics
        recorder = open_recorder(inputs.run, "accept", job=job, level=args.level)
        try:
            return _accept(args, recorder, inputs, job)
        except KeyboardInterrupt:
            if job:
                job.interrupted(recorder)  # rank 0 records how every rank ended
            mark_interrupted(recorder)
            raise
        except JobInterrupted as exc:
            assert job is not None  # only a job's heartbeat or SIGTERM raises it
            if job.leader and job.peer_interrupted():  # Ctrl-C reached a peer first
                job.interrupted(recorder)
                mark_interrupted(recorder)
                raise KeyboardInterrupt from None
            raise job.failed(recorder, exc) from None


def _seconds(text: str) -> float:
    """argparse type: seconds from 0 to a minute."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range: use 0 to 60 seconds")
    return value


def _claim_depth(level: str) -> None:
    """``--level full`` judges each claim over ten times the generated inputs (the
    properties' full depth), unless BLITZBENCH_DEPTH already names a depth: the claims
    read it when they run, on every rank alike, since torchrun passes the environment."""
    from blitzbench.claims.properties import DEPTH_ENV

    if level == "full" and not os.environ.get(DEPTH_ENV):
        os.environ[DEPTH_ENV] = "full"


def _inputs(args: argparse.Namespace, job: Job | None) -> AcceptInputs | None:
    """Devices, data, spec, baseline and tutorial, each checked before the run folder
    exists; None after --list-metrics. In a job, each rank's own device, and rank 0's
    baseline; a job runs no tutorial (run ``accept`` on one node for it)."""
    from blitzbench.acceptance.spec import load_spec
    from blitzbench.environment import fingerprint
    from blitzbench.runner.plan import known_metrics
    from blitzbench.runner.session import run_inputs
    from blitzbench.runner.steps import load_tutorial

    inputs = run_inputs(args.device, args.data_root, args.out, job=job)
    known = known_metrics(inputs.data)
    if args.list_metrics:
        if job is None or job.leader:
            from blitzbench.acceptance.metrics import metric_listing

            print("\n".join(metric_listing(known)))
        return None
    spec = load_spec(args.spec, known)
    leader = job is None or job.leader
    baseline = _baseline(args, Environment(fingerprint())) if leader else None
    tutorial = load_tutorial(args.tutorial) if job is None else None
    return AcceptInputs(inputs, spec, baseline, tutorial)


def _baseline(args: argparse.Namespace, environment: Environment) -> StoredRun | None:
    """Load --baseline; refuse one from other hardware or torch unless forced."""
    from blitzbench.acceptance.baseline import compatibility_problems, load_baseline

    if args.baseline is None:
        if args.force_baseline:
            raise UsageError("--force-baseline needs --baseline PATH")
        return None
    baseline = load_baseline(args.baseline)
    problems = compatibility_problems(baseline, environment)
    if problems and not args.force_baseline:
        raise UsageError(f"baseline {baseline.folder} was recorded elsewhere ("
                         f"{'; '.join(problems)}): pass --force-baseline to compare anyway")
    if problems:
        print(f"blitzbench: warning: comparing with a baseline from elsewhere: "
              f"{'; '.join(problems)}", file=sys.stderr)
    return baseline


def _accept(args: argparse.Namespace, recorder: Recorder, inputs: AcceptInputs,
            job: Job | None) -> int:
    from blitzbench.acceptance.baseline import save_baseline
    from blitzbench.acceptance.junit import write_junit
    from blitzbench.acceptance.rules import ACCEPTED, INCONCLUSIVE, RunDevices, verdict
    from blitzbench.devices import device_label
    from blitzbench.results.records import metric_prefix
    from blitzbench.runner.plan import judged_by, plan_cases
    from blitzbench.runner.watch import noise_notes

    started = time.perf_counter()
    cases = args.select.keep(plan_cases(args.level, inputs.run.devices, inputs.run.data),
                             lambda case: metric_prefix(case.benchmark, case.params))
    labels = [device_label(d) for d in inputs.run.devices]
    run_devices = RunDevices(tuple(labels), recorder.results.environment.gpu_names)
    judged = judged_by(inputs.spec, cases, labels, run_devices.gpu_names,
                       baseline=inputs.baseline is not None)
    step_s = _run_steps(args, recorder, inputs, cases, judged, job)
    machine = _machine_busy(recorder.results, args.force)
    rows = _rows(args.level, recorder, inputs, cases, run_devices, job, machine)
    if rows is None:
        return EXIT_OK  # a non-zero rank's part ends when rank 0 has its records
    outcome = verdict(rows)
    elapsed = time.perf_counter() - started
    notes = noise_notes(recorder.results.benchmarks, recorder.results.preflight) + \
        _judged_notes(rows)
    recorder.set("acceptance", _acceptance_record(outcome, args.level, inputs.spec,
                                                  inputs.baseline, rows, round(elapsed, 1),
                                                  step_s, notes))
    write_junit(recorder.folder, rows, elapsed_s=elapsed)
    recorder.finish()
    render_report(recorder.folder)
    _print(rows, outcome, args.level, inputs.spec, recorder, elapsed)
    if args.save_baseline:
        saved = save_baseline(recorder.results, inputs.run.reports)
        print(f"baseline saved: {saved}", file=sys.stderr)
    return {ACCEPTED: EXIT_OK, INCONCLUSIVE: EXIT_NOT_JUDGED}.get(outcome, EXIT_FAILED)


def _judged_notes(rows: list[RuleResult]) -> list[str]:
    """Say so when no performance rule was judged: a verdict from claims alone."""
    from blitzbench.acceptance.rules import Status, is_performance

    performance = [r for r in rows if is_performance(r.metric)]
    judged = [r for r in performance if r.status in (Status.PASS, Status.FAIL)]
    if performance and not judged:
        return [f"no performance rule was judged ({len(performance)} skipped, noisy or "
                f"inconclusive): this verdict rests on correctness alone"]
    return []


def _machine_busy(results: RunResults, force: bool) -> MachineBusy:
    """What the judge needs to know of the machine: the pre-flight's reason when it kept
    the performance cases from being measured, each device's first busy case, --force."""
    from blitzbench.acceptance.rank_verdict import busy_by_device
    from blitzbench.acceptance.rules import MachineBusy
    from blitzbench.runner.job import skipped_busy

    return MachineBusy(skipped_busy(results), busy_by_device(results.benchmarks), force)


def _rows(level: str, recorder: Recorder, inputs: AcceptInputs, cases: list[Any],
          run_devices: RunDevices, job: Job | None,
          machine: MachineBusy) -> list[RuleResult] | None:
    """The verdict's rows: every rule on this run; in a job, on rank 0, every rule on
    every rank and the ranks against each other (None on the other ranks)."""
    from blitzbench.acceptance.count_rules import count_rows
    from blitzbench.acceptance.health_rules import health_rows
    from blitzbench.acceptance.metrics import extract_metrics
    from blitzbench.acceptance.rules import judge
    from blitzbench.runner.plan import planned_keys

    base = extract_metrics(inputs.baseline.results) if inputs.baseline else None
    if job is None:
        results = recorder.results
        counted = count_rows(results.instructions,
                             inputs.baseline.results.instructions) if inputs.baseline else []
        return judge(inputs.spec, extract_metrics(results), run_devices,
                     planned=planned_keys(cases, results.claims, results.tutorial),
                     level=level, baseline=base, machine=machine) + counted + \
            health_rows(results.gpu_health, results.stress)
    payloads = job.gather(recorder, cases, level, inputs.run.data)
    return None if payloads is None else job.conclude(recorder, payloads, inputs.spec, level,
                                                      base, forced=machine.forced)


def render_report(folder: Path) -> None:
    """report.md and report.html, as `blitzbench report` writes them."""
    from blitzbench.report.render import render_run

    render_run(folder)


def _run_steps(args: argparse.Namespace, recorder: Recorder, inputs: AcceptInputs,
               cases: list[Any], judged: Any, job: Job | None) -> dict[str, float]:
    """Claims, the tutorial's own blocks, benchmarks, profile, each saved as it finishes;
    seconds each took. In a job: this rank's device only, only rank 0 profiles, and no
    tutorial."""
    import torch

    from blitzbench.runner import steps
    from blitzbench.runner.gpu_watch import stress_all, watching_gpus
    from blitzbench.runner.progress import accept_sections, progress
    from blitzbench.runner.watch import check_machine, watching
    from blitzbench.workloads.catalog import LEVEL_REPEATS

    run, repeats = inputs.run, LEVEL_REPEATS[args.level]
    step_s: dict[str, float] = {}
    plan = accept_sections(len(cases) * repeats, preflight_s=args.preflight,
                           tutorial=inputs.tutorial is not None,
                           extra=_optional_sections(args, job))
    with progress(total=plan) as advance, \
            watching(in_job=job is not None) as monitor:
        mark = time.perf_counter()
        advance(f"pre-flight: watching the machine for {args.preflight:g} s")
        found = check_machine(monitor, window_s=args.preflight,
                              threads=torch.get_num_threads(), force=args.force,
                              gpu_devices=[d.index or 0 for d in run.devices
                                           if d.type == "cuda"],
                              settle_s=args.settle, waiting=_say_preflight
                              ) if args.preflight else None
        recorder.set("preflight", found)
        measure = found is None or not found.busy or found.forced
        step_s["pre-flight"], mark = _since(mark)
        advance("claims")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=SPARSE_WARNING, category=UserWarning)
            recorder.set("claims", tuple(job.run_claims(run.data) if job else steps.run_claims(
                run.claim_devices, run.data, args.select.matches)))
        step_s["claims"], mark = _since(mark)
        if inputs.tutorial is not None:
            advance("tutorial: its own code blocks")
            recorder.set("tutorial", steps.run_tutorial(inputs.tutorial, run.devices,
                                                        run.data))
            step_s["tutorial"], mark = _since(mark)
        with watching_gpus(run.devices if job is None else []) as gpu:
            steps.run_benchmarks(cases if measure else [], recorder, advance, judged,
                                 repeats, monitor)
            if gpu is not None and measure and args.level == "full":
                advance("sustained stress: the bf16 matmul for 2 minutes, every GPU at once")
                recorder.set("stress", stress_all([d for d in run.devices
                                                   if d.type == "cuda"]))
        if gpu is not None:
            recorder.set("gpu_health", gpu.record())
        step_s["benchmarks"], mark = _since(mark)
        if args.count_instructions and job is None:
            from blitzbench.runner.counting import count_cases

            advance("instruction counts: one valgrind process for the CPU cases")
            recorder.set("instructions", count_cases(cases, args.level, run.data))
            step_s["instructions"], mark = _since(mark)
        advance("profile: LeNet training step")
        if measure and (job.profiles if job else args.profile):
            steps.run_profile(recorder, run.reports, run.devices, run.data)
        step_s["profile"], mark = _since(mark)
    return step_s


def _optional_sections(args: argparse.Namespace, job: Job | None) -> list[str]:
    """The progress labels of the steps only some runs take (the full level's GPU stress,
    --count-instructions), so the estimate counts them."""
    optional = [("sustained stress", args.level == "full"),
                ("instruction counts", args.count_instructions and job is None)]
    return [label for label, taken in optional if taken]


def _say_preflight(why: str) -> None:
    """The pre-flight's one line when it waits for the load average to settle."""
    print(f"blitzbench: pre-flight: {why}", file=sys.stderr, flush=True)


def _since(mark: float) -> tuple[float, float]:
    now = time.perf_counter()
    return round(now - mark, 1), now


def _acceptance_record(outcome: str, level: str, spec: Spec, baseline: StoredRun | None,
                       rows: list[RuleResult], wall_s: float,
                       step_s: dict[str, float], notes: list[str]) -> AcceptanceRecord:
    """The ``acceptance`` section of results.json."""
    from blitzbench.acceptance.baseline import describe
    from blitzbench.acceptance.table import status_counts

    return AcceptanceRecord(outcome, level, spec.path, tuple(r.record() for r in rows),
                            spec.description, describe(baseline) if baseline else None,
                            status_counts(rows), wall_s, step_s, tuple(notes))


def _print(rows: list[RuleResult], outcome: str, level: str, spec: Spec,
           recorder: Recorder, elapsed_s: float) -> None:
    title = f"blitzbench accept (level {level}, spec {Path(spec.path).name}, " \
            f"{elapsed_s:.0f} s)"
    from blitzbench.acceptance.table import print_verdict

    notes = recorder.results.acceptance.notes if recorder.results.acceptance else ()
    print_verdict(rows, outcome, title, notes=notes)
    from blitzbench.report.instructions import count_summary

    if recorder.results.instructions is not None:
        print(count_summary(recorder.results.instructions), file=sys.stderr)
    print(_time_line(recorder.results), file=sys.stderr)
    print(f"run folder: {recorder.folder}", file=sys.stderr)


def _time_line(results: RunResults) -> str:
    """Seconds per step and the slowest case: what to trim when a level runs too long."""
    from blitzbench.report.formatting import fmt_duration_s, fmt_params
    from blitzbench.report.run_time import slowest_cases, timed_records

    steps = results.acceptance.step_s if results.acceptance else {}
    line = "time: " + ", ".join(f"{name} {fmt_duration_s(seconds)}"  # as the page says it
                                for name, seconds in steps.items())
    timed = timed_records(results)
    if timed:
        (slowest,) = slowest_cases(timed, count=1)
        line += (f"; slowest case {slowest.benchmark} on {slowest.site} "
                 f"({fmt_params(slowest.params)}) {slowest.wall_s:.1f} s")
    return line

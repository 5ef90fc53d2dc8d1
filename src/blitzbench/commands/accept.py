"""Hardware acceptance: run the claim checks, the benchmarks of a level and a profiler
capture of the LeNet step on every device found, then judge every metric against an
acceptance spec (the shipped default, or --spec).

Writes a run folder with results.json (saved after each section, so Ctrl-C keeps what
finished), junit.xml (one testcase per rule), report.md and report.html.
Exit 0: accepted; 1: rejected (a rule failed or a planned figure is missing); 2: usage or
input error (unknown metric in the spec, malformed spec or baseline, baseline from other
hardware or torch without --force-baseline); 130: interrupted.

Under torchrun (``torchrun --nproc-per-node=N -m blitzbench accept ...``, one node or
many) every rank measures its own device (cuda:LOCAL_RANK, or the CPU) and rank 0 writes
one run folder for the job, with every rank's records, each rank judged against the spec
and the ranks against each other (acceptance/ranks.py). Also exit 1: a rank died (the
folder is kept, incomplete, naming it); 4: more ranks on a node than GPUs; 7: ranks with
different torch, blitzbench or Python versions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from blitzbench.distributed.world import DEFAULT_TIMEOUT_S
from blitzbench.errors import EXIT_FAILED, EXIT_OK, UsageError
from blitzbench.options import add_data_root, add_device, add_out, positive_int
from blitzbench.results.names import DEFAULT_LEVEL, LEVELS
from blitzbench.results.records import AcceptanceRecord, Environment, RunResults

if TYPE_CHECKING:
    from blitzbench.acceptance.ranks import Job
    from blitzbench.acceptance.rules import RuleResult, RunDevices
    from blitzbench.acceptance.spec import Spec
    from blitzbench.results.reader import StoredRun
    from blitzbench.runs import RunRecorder
    from blitzbench.workloads.cifar import DataSource

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
    parser.add_argument("--timeout", type=positive_int, default=DEFAULT_TIMEOUT_S,
                        metavar="S",
                        help="under torchrun: seconds a collective may wait, and a silent "
                             f"rank may stay silent, before the job ends (default "
                             f"{DEFAULT_TIMEOUT_S})")
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    _claim_depth(args.level)
    from blitzbench.acceptance.ranks import JobInterrupted, open_job
    from blitzbench.environment import fingerprint
    from blitzbench.runs import RunRecorder, create_run_folder, default_reports_dir

    with open_job(args.device, args.timeout, fingerprint) as job:  # None outside torchrun
        inputs = job.agree(lambda: _inputs(args, job)) if job else _inputs(args, None)
        if inputs is None:
            return EXIT_OK  # --list-metrics
        devices, data, spec, baseline, tutorial = inputs
        reports = Path(args.out) if args.out is not None else default_reports_dir()
        recorder = job.recorder(reports, "accept", data_source=data.to_json(),
                                level=args.level) if job else \
            RunRecorder(create_run_folder(reports), "accept", data_source=data.to_json(),
                        level=args.level)
        try:
            return _accept(args, recorder, reports, devices, data, spec, baseline, job,
                           tutorial)
        except KeyboardInterrupt:
            _interrupted(job, recorder)
        except JobInterrupted as exc:
            assert job is not None  # only a job's heartbeat or SIGTERM raises it
            if job.leader and job.peer_interrupted():  # Ctrl-C reached a peer first
                _interrupted(job, recorder)
            raise job.failed(recorder, exc) from None


def _claim_depth(level: str) -> None:
    """``--level full`` judges each claim over ten times the generated inputs (the
    properties' full depth), unless BLITZBENCH_DEPTH already names a depth: the claims
    read it when they run, on every rank alike, since torchrun passes the environment."""
    from blitzbench.claims.properties import DEPTH_ENV

    if level == "full" and not os.environ.get(DEPTH_ENV):
        os.environ[DEPTH_ENV] = "full"


def _interrupted(job: Job | None, recorder: Any) -> NoReturn:
    """Ctrl-C: the run folder marked interrupted (rank 0 records every rank's end), then
    the KeyboardInterrupt goes on to the CLI's exit 130."""
    if job:
        job.interrupted(recorder)
    recorder.finish(interrupted=True)
    if recorder.folder is not None:
        print(f"run folder (incomplete): {recorder.folder}", file=sys.stderr)
    raise KeyboardInterrupt


def _inputs(args: argparse.Namespace, job: Job | None
            ) -> tuple[list[Any], DataSource, Spec, StoredRun | None, Any] | None:
    """Devices, data, spec, baseline and tutorial, each checked before the run folder
    exists; None after --list-metrics. In a job, each rank's own device, and rank 0's
    baseline; a job runs no tutorial (run ``accept`` on one node for it)."""
    from blitzbench.acceptance import plan
    from blitzbench.acceptance.spec import load_spec
    from blitzbench.devices import parse_devices
    from blitzbench.environment import fingerprint
    from blitzbench.workloads.cifar import resolve_data_source

    # unknown or absent devices fail before any work
    devices = job.devices if job else parse_devices(args.device)
    data = resolve_data_source(args.data_root)
    known = plan.known_metrics(data)
    if args.list_metrics:
        if job is None or job.leader:
            from blitzbench.acceptance.metrics import metric_listing

            print("\n".join(metric_listing(known)))
        return None
    spec = load_spec(args.spec, known)
    if args.data_root is not None:
        data.validate()  # a defective data set fails before the run folder exists
    leader = job is None or job.leader
    baseline = _baseline(args, Environment(fingerprint())) if leader else None
    tutorial = plan.load_tutorial(args.tutorial) if job is None else None
    return devices, data, spec, baseline, tutorial


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


def _accept(args: argparse.Namespace, recorder: RunRecorder, reports: Path,
            devices: list[Any], data: DataSource, spec: Spec,
            baseline: StoredRun | None, job: Job | None = None, tutorial: Any = None) -> int:
    from blitzbench.acceptance import plan
    from blitzbench.acceptance.baseline import save_baseline
    from blitzbench.acceptance.junit import write_junit
    from blitzbench.acceptance.rules import ACCEPTED, RunDevices, verdict
    from blitzbench.devices import device_label

    started = time.perf_counter()
    cases = plan.plan_cases(args.level, devices, data)
    cases = job.select(cases) if job else cases
    labels = [device_label(d) for d in devices]
    run_devices = RunDevices(tuple(labels), recorder.results.environment.gpu_names)
    judged = plan.judged_by(spec, cases, labels, run_devices.gpu_names,
                            baseline=baseline is not None)
    step_s = _run_steps(args, recorder, reports, devices, data, cases, judged, job, tutorial)
    rows = _rows(args.level, recorder, spec, cases, run_devices, baseline, job, data)
    if rows is None:
        return EXIT_OK  # a non-zero rank's part ends when rank 0 has its records
    outcome = verdict(rows)
    elapsed = time.perf_counter() - started
    recorder.set("acceptance", _acceptance_record(outcome, args.level, spec, baseline, rows,
                                                  round(elapsed, 1), step_s))
    write_junit(recorder.folder, rows, elapsed_s=elapsed)
    recorder.finish()
    render_report(recorder.folder)
    _print(rows, outcome, args.level, spec, recorder, elapsed)
    if args.save_baseline:
        saved = save_baseline(recorder.results, reports)
        print(f"baseline saved: {saved}", file=sys.stderr)
    return EXIT_OK if outcome == ACCEPTED else EXIT_FAILED


def _rows(level: str, recorder: RunRecorder, spec: Spec, cases: list[Any],
          run_devices: RunDevices, baseline: StoredRun | None,
          job: Job | None, data: DataSource) -> list[RuleResult] | None:
    """The verdict's rows: every rule on this run; in a job, on rank 0, every rule on
    every rank and the ranks against each other (None on the other ranks)."""
    from blitzbench.acceptance import plan
    from blitzbench.acceptance.metrics import extract_metrics
    from blitzbench.acceptance.rules import judge

    base = extract_metrics(baseline.results) if baseline else None
    if job is None:
        return judge(spec, extract_metrics(recorder.results), run_devices,
                     planned=plan.planned_keys(cases, recorder.results.claims,
                                               recorder.results.tutorial),
                     level=level, baseline=base)
    payloads = job.gather(recorder, cases, level, data)
    return None if payloads is None else job.conclude(recorder, payloads, spec, level, base)


def render_report(folder: Path) -> None:
    """report.md and report.html, as `blitzbench report` writes them."""
    from blitzbench.report.render import render_run

    render_run(folder)


def _run_steps(args: argparse.Namespace, recorder: RunRecorder, reports: Path,
               devices: list[Any], data: DataSource, cases: list[Any],
               judged: Any, job: Job | None = None, tutorial: Any = None
               ) -> dict[str, float]:
    """Claims, the tutorial's own blocks, benchmarks, profile, each saved as it finishes;
    seconds each took. In a job: this rank's device only, only rank 0 profiles, and no
    tutorial."""
    from blitzbench.acceptance import plan
    from blitzbench.workloads.catalog import LEVEL_REPEATS

    repeats = LEVEL_REPEATS[args.level]
    step_s: dict[str, float] = {}
    with plan.progress(total=len(cases) * repeats + 3) as advance:
        mark = time.perf_counter()
        advance("claims")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=SPARSE_WARNING, category=UserWarning)
            recorder.set("claims", tuple(job.run_claims(data) if job else
                                         plan.run_claims(args.device, data)))
        step_s["claims"], mark = _since(mark)
        if tutorial is not None:
            advance("tutorial: its own code blocks")
            recorder.set("tutorial", plan.run_tutorial(tutorial, devices, data))
            step_s["tutorial"], mark = _since(mark)
        plan.run_benchmarks(cases, recorder, advance, judged, repeats)
        step_s["benchmarks"], mark = _since(mark)
        advance("profile: LeNet training step")
        if job is None or job.profiles:
            plan.run_profile(recorder, reports, devices, data)
        step_s["profile"], mark = _since(mark)
    return step_s


def _since(mark: float) -> tuple[float, float]:
    now = time.perf_counter()
    return round(now - mark, 1), now


def _acceptance_record(outcome: str, level: str, spec: Spec, baseline: StoredRun | None,
                       rows: list[RuleResult], wall_s: float,
                       step_s: dict[str, float]) -> AcceptanceRecord:
    """The ``acceptance`` section of results.json."""
    from blitzbench.acceptance.baseline import describe
    from blitzbench.acceptance.table import status_counts

    return AcceptanceRecord(outcome, level, spec.path, tuple(r.record() for r in rows),
                            spec.description, describe(baseline) if baseline else None,
                            status_counts(rows), wall_s, step_s)


def _print(rows: list[RuleResult], outcome: str, level: str, spec: Spec,
           recorder: RunRecorder, elapsed_s: float) -> None:
    title = f"blitzbench accept (level {level}, spec {Path(spec.path).name}, " \
            f"{elapsed_s:.0f} s)"
    from blitzbench.acceptance.table import print_verdict

    print_verdict(rows, outcome, title)
    print(_time_line(recorder.results), file=sys.stderr)
    print(f"run folder: {recorder.folder}", file=sys.stderr)


def _time_line(results: RunResults) -> str:
    """Seconds per step and the slowest case: what to trim when a level runs too long."""
    from blitzbench.report.formatting import fmt_params
    from blitzbench.report.run_time import slowest_cases, timed_records

    steps = results.acceptance.step_s if results.acceptance else {}
    line = "time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in steps.items())
    timed = timed_records(results)
    if timed:
        (slowest,) = slowest_cases(timed, count=1)
        line += (f"; slowest case {slowest.benchmark} on {slowest.site} "
                 f"({fmt_params(slowest.params)}) {slowest.wall_s:.1f} s")
    return line

"""Compare two Python installs case by case, A and B interleaved in one sitting.

Each side is an interpreter that can import blitzbench, with environment assignments in
front, given as one argument: two torch releases (``.tox/torch213/bin/python``), two
checkouts, or a patch (``"PYTHONPATH=patches .venv/bin/python"``). One worker per side
measures every case of the level on the same device, data, threads and seed; the two
alternate in slots of a few milliseconds, in random order, many pairs per case, so the
drift of a busy machine cancels within each pair. Each case is judged on its pairs'
log-ratios (the signed-rank interval of the Hodges-Lehmann ratio, Bonferroni over the
cases): FASTER, SLOWER, SAME or NOISY, as ``blitzbench compare`` reads an interval.

Writes a run folder (``report`` renders it).

Exit codes: 0 every case judged, none SLOWER; 1 some case SLOWER; 8 none SLOWER but some
case not judged (NOISY, or ERROR: a side crashed or hung on it); 2 a side that is not an
interpreter, or bad options; 3 a missing or damaged --data-root; 4 a device that is not
here; 5 the reports folder cannot be written; 9 a side that cannot start (cannot import
blitzbench or torch); 130 Ctrl-C (both workers killed, the folder marked incomplete).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

from blitzbench.errors import (
    EXIT_FAILED,
    EXIT_NOT_JUDGED,
    EXIT_OK,
    UsageError,
)
from blitzbench.options import (
    add_case_filter,
    add_data_root,
    add_device,
    add_out,
    add_threshold,
    positive_int,
)
from blitzbench.results.compare import DEFAULT_THRESHOLD, Verdict
from blitzbench.results.names import DEFAULT_LEVEL, LEVELS

if TYPE_CHECKING:
    from blitzbench.results.ab import ABRecord, PairedCase
    from blitzbench.results.compare import Comparison

__all__ = ["DEFAULT_THREADS", "ab_json", "add_arguments", "exit_code", "run"]

#: Intra-op threads of both sides by default. On the 2-core VM with a neighbour busy, the
#: batch-64 LeNet step took 3.9 ms with one thread and ~227 ms with torch's default of two
#: (its blocks flipping between 11 and 230 ms): a thread that waits for a busy core stalls
#: the whole op. One thread per side keeps a comparison about the code, not the scheduler.
DEFAULT_THREADS = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("side_a", metavar="A", help="the reference side: an interpreter, "
                        "e.g. '.venv/bin/python' or 'PYTHONPATH=old .venv/bin/python'")
    parser.add_argument("side_b", metavar="B", help="the side judged against A")
    parser.add_argument("--level", choices=LEVELS, default=DEFAULT_LEVEL,
                        help="pairs a case: quick (6 process pairs of 5: resolves 25%% on a "
                             "busy 2-core VM), standard (6 of 2 builds of 8), full (32 of 4 "
                             "builds of 5: about 5%%, 6 minutes a case); default quick")
    add_device(parser)
    add_case_filter(parser, "cases")
    parser.add_argument("--processes", type=positive_int, default=None, metavar="N",
                        help="pairs of worker processes, fresh for each (default by level: "
                             "6 at quick and standard, 32 at full; like pyperf's "
                             "--processes)")
    parser.add_argument("--threads", type=positive_int, default=DEFAULT_THREADS,
                        metavar="N", help=f"intra-op threads of each side (default "
                                          f"{DEFAULT_THREADS}; at most the cores)")
    add_threshold(parser, 100 * DEFAULT_THRESHOLD, "smallest change called FASTER or SLOWER")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the order of A and B within pairs (default 0)")
    parser.add_argument("--count-instructions", action="store_true",
                        help="also count each CPU case's instructions on both sides under "
                             "callgrind (valgrind; one process a side, both at once: "
                             "minutes) and judge the counts (2%% threshold)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--all", action="store_true",
                        help="list every case, not only those that are not SAME")
    add_data_root(parser)
    add_out(parser)


def run(args: argparse.Namespace) -> int:
    from blitzbench.runner.ab import (
        LEVEL_BUILDS,
        LEVEL_PROCESSES,
        run_pairs,
        settings_for,
        shared_keys,
        start_sides,
    )
    from blitzbench.runner.progress import progress
    from blitzbench.runner.session import open_recorder, recording, run_inputs
    from blitzbench.runner.sides import parse_side

    specs = [parse_side("A", args.side_a), parse_side("B", args.side_b)]
    _check_threads(args.threads)
    inputs = run_inputs(args.device, args.data_root, args.out)
    sides = start_sides(specs, settings_for(inputs, args.level, args.threads, args.seed))
    try:
        keys, not_compared = shared_keys(sides, args.select)
        recorder = open_recorder(inputs, "ab", level=args.level,
                                 settings={"threads": args.threads, "seed": args.seed})
        processes = args.processes or LEVEL_PROCESSES[args.level]
        with recording(recorder), \
                progress(total=processes * LEVEL_BUILDS[args.level] * len(keys),
                         label="ab") as advance:
            record = run_pairs(sides, keys, not_compared, threshold=args.threshold / 100,
                               processes=processes, advance=advance,
                               save=lambda found: recorder.set("ab", found))
    finally:
        sides.stop()
    if args.count_instructions:
        with recording(recorder):
            record = _with_counts(record, specs, keys, args.level, inputs)
            recorder.set("ab", record)
    recorder.finish()
    _render(recorder.folder)
    _print(record, args)
    print(f"run folder: {recorder.folder}", file=sys.stderr)
    return exit_code(record)


def _check_threads(threads: int) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1
    if threads > cores:
        raise UsageError(f"--threads {threads} is more than this machine's {cores} usable "
                         f"cores: a run never has more compute threads than cores")


def _with_counts(record: ABRecord, specs: list[Any], keys: list[str], level: str,
                 inputs: Any) -> ABRecord:
    """Both sides' CPU cases counted under callgrind, the two valgrind processes at once
    (each runs one thread; the machine has at least two cores for them or they share)."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from blitzbench.runner.counting import count_cases
    from blitzbench.timing.instructions import Interpreter

    cases = [case for case in record.cases if case.device == "cpu" and case.key in keys]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [pool.submit(count_cases, cases, level, inputs.data,
                             interpreter=Interpreter(spec.command, dict(spec.env)))
                 for spec in specs]
        counts_a, counts_b = (future.result() for future in found)
    return dataclasses.replace(record, counts_a=counts_a, counts_b=counts_b)


def exit_code(record: ABRecord) -> int:
    """1 when a case is SLOWER (in time or in instructions); else 8 when a case could not
    be judged; else 0."""
    from blitzbench.results.paired import count_verdicts, judge_record

    verdicts = [c.verdict for _, c in judge_record(record)]
    verdicts += [c.verdict for _, _, c in count_verdicts(record) if c.verdict is not None]
    if Verdict.SLOWER in verdicts:
        return EXIT_FAILED
    unjudged = Verdict.NOISY in verdicts or any(case.error for case in record.cases)
    return EXIT_NOT_JUDGED if unjudged or not record.complete else EXIT_OK


def ab_json(record: ABRecord) -> dict[str, Any]:
    """The shape of ``compare --format json``, plus what each figure measured, its pairs
    and the smallest change it could have detected."""
    from blitzbench.results.paired import detectable_change, judge_record

    judged = judge_record(record)
    return {"side_a": record.a.spec, "side_b": record.b.spec, "summary": counts(judged),
            "threads": record.threads, "level": record.level,
            "not_compared": list(record.not_compared),
            "figures": [_figure(case, c, detectable_change(c)) for case, c in judged],
            "instructions": _counts_json(record)}


def _counts_json(record: ABRecord) -> dict[str, Any] | None:
    """The instruction counts' verdicts (None without --count-instructions)."""
    from blitzbench.results.paired import count_verdicts

    if record.counts_a is None or record.counts_b is None:
        return None
    skipped = record.counts_a.skipped or record.counts_b.skipped
    return {"skipped": skipped, "figures": [
        {"benchmark": b.benchmark, "device": b.device, "params": dict(b.params),
         "verdict": c.label, "ratio": c.ratio if c.comparable else None,
         "instructions_a": a.instructions_per_call, "instructions_b": b.instructions_per_call,
         "evidence": c.evidence()} for a, b, c in count_verdicts(record)]}


def _figure(case: PairedCase, c: Comparison, detectable: float) -> dict[str, Any]:
    import statistics

    return {"benchmark": case.benchmark, "device": case.device, "rank": None,
            "params": dict(case.params), "verdict": c.verdict.value, "ratio": c.ratio,
            "ci_low": c.low, "ci_high": c.high, "threshold": c.threshold,
            "median_a_s": statistics.median(case.a_s) if case.a_s else None,
            "median_b_s": statistics.median(case.b_s) if case.b_s else None,
            "pairs": case.pairs, "measured": case.measured,
            "detectable_change": None if math.isnan(detectable) else detectable,
            "error": case.error, "evidence": c.evidence()}


def counts(judged: list[tuple[PairedCase, Comparison]]) -> str:
    """``0 SLOWER, 0 FASTER, 30 SAME, 3 NOISY of 33 cases``."""
    found = {v: sum(c.verdict is v for _, c in judged) for v in Verdict}
    return ", ".join(f"{n} {v.value}" for v, n in found.items()) + f" of {len(judged)} cases"


def _render(folder: Any) -> None:
    from blitzbench.report.render import render_run

    render_run(folder)


def _print(record: ABRecord, args: argparse.Namespace) -> None:
    if args.format == "json":
        print(json.dumps(ab_json(record), indent=2))
        return
    from blitzbench.report.ab import print_ab

    print_ab(record, show_all=args.all)

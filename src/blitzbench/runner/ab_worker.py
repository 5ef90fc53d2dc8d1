"""One side of an A/B run: a long-lived worker that builds and times what it is told.

Started by the parent (runner/sides.py) as ``<interpreter> -c "...ab_worker import main..."``
in the side's own interpreter and environment, so it measures that side's torch and
blitzbench. It speaks one JSON object per line: requests on stdin, answers on a private
copy of stdout taken before anything else runs, with stdout itself sent to stderr (a
workload that prints cannot break the protocol).

Requests (``op``): ``hello`` (level, devices, data set, threads, seed: answers the
versions and the case keys this side has), ``prepare`` (build a case, warm it up, and
calibrate the calls per round unless given), ``time`` (that many rounds: per-call times),
``release`` (tear the case down), ``quit``. A case that raises answers ``ok: false`` with
the error; the worker goes on.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["main"]


@dataclass
class Prepared:
    """A built, warmed case and how to time one round of it."""

    round_fn: Callable[[int], object]
    calls: int
    clock: Callable[[], float]
    workload: Any


class Worker:
    """The state of one side: its catalog and the case being measured."""

    def __init__(self) -> None:
        self.cases: dict[str, Any] = {}
        self.prepared: dict[str, Prepared] = {}
        self.seed = 0

    def hello(self, request: Mapping[str, Any]) -> dict[str, Any]:
        import torch

        from blitzbench import __version__
        from blitzbench.workloads.catalog import cases
        from blitzbench.workloads.cifar import DataSource

        if hasattr(os, "sched_setaffinity") and request.get("cores"):
            os.sched_setaffinity(0, [int(core) for core in request["cores"]])
        torch.set_num_threads(int(request["threads"]))
        self.seed = int(request["seed"])
        data = DataSource(str(request["data_kind"]), Path(request["data_root"]))
        found = cases(str(request["level"]), list(request["devices"]), data)
        self.cases = {f"{_prefix(c)}@{c.device}": c for c in found}
        return {"versions": _versions(torch.__version__, __version__),
                "cases": [{"key": key, "benchmark": c.benchmark, "device": c.device,
                           "params": dict(c.params)} for key, c in self.cases.items()],
                "threads": torch.get_num_threads()}

    def prepare(self, request: Mapping[str, Any]) -> dict[str, Any]:
        from blitzbench.seeding import seed_everything
        from blitzbench.timing.clocks import clock_for
        from blitzbench.timing.loop import plan_rounds, round_function

        key = str(request["key"])
        case = self.cases[key]
        seed_everything(self.seed)
        workload = case.build()
        clock = clock_for(case.device)
        calls = request.get("calls")
        plan = plan_rounds(round_function(workload), clock, min_rounds=1, max_time_s=0.0,
                           warmup=case.warmup,
                           calls_per_round=None if calls is None else int(calls))
        self.prepared[key] = Prepared(plan.round_fn, plan.calls_per_round, clock, workload)
        return {"calls": plan.calls_per_round}

    def time(self, request: Mapping[str, Any]) -> dict[str, Any]:
        from blitzbench.timing.loop import timed_round

        ready = self.prepared[str(request["key"])]
        rounds = int(request["rounds"])
        return {"times_s": [timed_round(ready.round_fn, ready.calls, ready.clock) / ready.calls
                            for _ in range(rounds)]}

    def release(self, request: Mapping[str, Any]) -> dict[str, Any]:
        from blitzbench.workloads.measure import release_cuda_memory, teardown

        key = str(request["key"])
        ready = self.prepared.pop(key, None)
        if ready is not None:
            teardown(ready.workload)
            release_cuda_memory(self.cases[key].device)
        return {}


def _prefix(case: Any) -> str:
    from blitzbench.results.names import metric_prefix

    return metric_prefix(case.benchmark, case.params)


def _versions(torch_version: str, blitzbench_version: str) -> dict[str, str]:
    import platform

    return {"torch": torch_version, "blitzbench": blitzbench_version,
            "python": platform.python_version(), "executable": sys.executable}


def _answer(worker: Worker, request: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to one request: its fields and ``ok``, or the error in one line."""
    handlers = {"hello": worker.hello, "prepare": worker.prepare, "time": worker.time,
                "release": worker.release}
    try:
        return {"ok": True, **handlers[str(request["op"])](request)}
    except Exception as exc:  # a case's failure is an answer; the worker goes on
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return {"ok": False, "error": f"{type(exc).__name__}: {first}"[:500]}


def serve(requests: IO[str], answers: IO[str]) -> None:
    """Answer each request line until ``quit`` or the end of input."""
    worker = Worker()
    for line in requests:
        request = json.loads(line)
        if request.get("op") == "quit":
            return
        answers.write(json.dumps(_answer(worker, request)) + "\n")
        answers.flush()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")  # the protocol's own channel
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what a workload prints: stderr
    sys.stdout = sys.stderr
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()

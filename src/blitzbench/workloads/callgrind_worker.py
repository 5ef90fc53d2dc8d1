"""The worker that counts CPU cases inside one valgrind process.

Started by timing/instructions.py as ``valgrind --tool=callgrind --instr-atstart=no
--collect-atstart=no ... python -c "...import main..." REQUEST.json`` (``python -m
blitzbench.workloads.callgrind_worker REQUEST.json`` runs it too). It lives in workloads/
because it builds the catalog's cases (timing/ may not import workloads/).

For each requested case, as workloads/measure.py does for a timing: seed, build, warm up
(the case's own warm-up, at least one call), then count, with collection on only between
torch's ``_valgrind_toggle`` and ``_valgrind_toggle_and_dump_stats``: an empty round and a
one-call round size ``calls`` (the next power of two that makes a round hold the request's
target), then each repetition counts an empty round and a round of ``calls`` calls. Then
tear down. A case that raises is written with its error and the next case goes on. One
JSON line per case is appended to the results file as soon as it is counted, so a worker
killed at its time limit leaves the cases it finished.

A case whose work runs in other processes (a DataLoader with workers) is refused: its
workers' instructions are not in this process's count, so its figure would be the
coordination only.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import torch

from blitzbench.results.instructions import CountSetup, InstructionCount
from blitzbench.results.names import WORKERS_PARAM
from blitzbench.results.records import metric_prefix
from blitzbench.seeding import seed_everything
from blitzbench.timing.callgrind import CallgrindFormatError, dump_path, read_dump
from blitzbench.timing.instructions import RESULTS_FILE, CountRequest
from blitzbench.timing.loop import RoundFn, round_function
from blitzbench.workloads.catalog import Case, cases
from blitzbench.workloads.cifar import resolve_data_source
from blitzbench.workloads.measure import teardown

__all__ = ["CallgrindCollector", "Counter", "calls_for", "count_case", "count_cases",
           "counting_setup", "instrument", "main"]

COUNT_THREADS = 1  # callgrind serializes threads: more would only add their hand-offs
CONTROL_TIMEOUT_S = 120  # callgrind_control took 2.3 s here; it waits on the process
FLAGS_DIGEST_CHARS = 16  # 64 bits of SHA-256: enough to tell two flag sets apart

#: ``counter(round_fn, calls)``: instructions of one collected round of ``calls`` calls.
Counter = Callable[[RoundFn, int], int]


class CallgrindCollector:
    """Counts a round with callgrind's collection switched on around it, then reads (and
    removes) the dump it wrote. Dumps are numbered in the order made; a dump whose part
    number is not the next one means someone else dumped too, and is an error."""

    def __init__(self, folder: str | Path, pid: int) -> None:
        self.folder, self.pid, self.part = Path(folder), pid, 0

    def __call__(self, round_fn: RoundFn, calls: int) -> int:
        gc.collect()  # outside the count: each round starts with the same generations
        torch._C._valgrind_toggle()
        try:
            round_fn(calls)
        finally:
            torch._C._valgrind_toggle_and_dump_stats()
            self.part += 1
        path = dump_path(self.folder, self.pid, self.part)
        if not path.exists():
            raise CallgrindFormatError(f"no callgrind dump at {path}: not running under "
                                       f"valgrind --tool=callgrind")
        totals = read_dump(path)
        path.unlink()
        if totals.part != self.part:
            raise CallgrindFormatError(f"dump {path.name} says part {totals.part}")
        return totals.instructions


def calls_for(one_call: int, target: int, max_calls: int) -> int:
    """The power of two of calls whose round holds at least ``target`` instructions, at
    most ``max_calls``. A power of two keeps the same ``calls`` in two processes whose
    one-call counts differ by a fraction of a percent."""
    wanted = -(-target // max(one_call, 1))
    return min(max_calls, 1 << max(0, (wanted - 1).bit_length()))


def count_case(case: Case, counter: Counter, request: CountRequest
               ) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Seed, build, warm up, size and count one case: ``(calls, round totals, empty
    totals)``. The workload is torn down whatever happens."""
    workers = case.params.get(WORKERS_PARAM, 0)
    if workers:
        raise ValueError(f"runs its work in {workers} DataLoader worker processes, which "
                         f"callgrind does not count in this process")
    seed_everything()
    workload = case.build()
    try:
        round_fn = round_function(workload)
        round_fn(max(case.warmup, 1))
        one_call = counter(round_fn, 1) - counter(round_fn, 0)
        calls = calls_for(one_call, request.target_instructions, request.max_calls)
        rounds, empties = [], []
        for _ in range(request.repetitions):
            empties.append(counter(round_fn, 0))
            rounds.append(counter(round_fn, calls))
        return calls, tuple(rounds), tuple(empties)
    finally:
        teardown(workload)


def count_cases(catalog: Mapping[str, Case], request: CountRequest, counter: Counter,
                setup: CountSetup, out: TextIO) -> None:
    """Count each requested case, appending one JSON line per case to ``out``."""
    for benchmark, params in request.cases:
        started = time.perf_counter()
        case = catalog.get(metric_prefix(benchmark, params))
        try:
            if case is None:
                raise LookupError(f"not a CPU case of level {request.level}")
            torch.set_num_threads(COUNT_THREADS)  # a case may have changed it
            calls, rounds, empties = count_case(case, counter, request)
            count = InstructionCount(benchmark, "cpu", params, calls, rounds, empties, setup)
        except Exception as exc:  # one case's failure is its result; the others go on
            count = InstructionCount(benchmark, "cpu", params, setup=setup,
                                     error=f"{type(exc).__name__}: {_first_line(exc)}")
        count = dataclasses.replace(count, wall_s=time.perf_counter() - started)
        _emit(out, {"kind": "count", "count": count.to_json()})


def counting_setup(valgrind_version: str) -> CountSetup:
    """The setup this process counts on (read inside valgrind: ATen's capability is the
    one valgrind's CPU offers)."""
    model, flags = _host_cpu()
    digest = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()
    return CountSetup(python_version=platform.python_version(),
                      torch_version=torch.__version__, cpu_model=model,
                      cpu_flags_digest=digest[:FLAGS_DIGEST_CHARS],
                      aten_cpu_capability=torch.backends.cpu.get_cpu_capability(),
                      valgrind_version=valgrind_version, torch_threads=torch.get_num_threads())


def main(argv: list[str] | None = None) -> int:
    """Count the cases of the request file named on the command line."""
    request = CountRequest.from_json(json.loads(Path((argv or sys.argv[1:])[0]).read_text()))
    torch.set_num_threads(COUNT_THREADS)
    torch.set_num_interop_threads(COUNT_THREADS)
    if not torch._C._valgrind_supported_platform():
        print("torch was built without valgrind support on this platform", file=sys.stderr)
        return 1
    catalog = {metric_prefix(case.benchmark, case.params): case
               for case in cases(request.level, ["cpu"],
                                 resolve_data_source(request.data_root))}
    instrument(request.callgrind_control)
    counter = CallgrindCollector(request.folder, os.getpid())
    if counter(round_function_of_nothing, 0) <= 0:
        raise RuntimeError("callgrind counted no instructions: instrumentation is off")
    setup = counting_setup(request.valgrind_version)
    with open(Path(request.folder) / RESULTS_FILE, "a", encoding="utf-8") as out:
        _emit(out, {"kind": "ready", "at": time.time()})
        count_cases(catalog, request, counter, setup, out)
    return 0


def instrument(callgrind_control: str) -> None:
    """Switch callgrind's instrumentation on in this process, now that torch and the
    catalog are imported: they were imported uninstrumented (``--instr-atstart=no``),
    which is several times faster than under instrumentation."""
    done = subprocess.run([callgrind_control, "--instr=on", str(os.getpid())],
                          capture_output=True, text=True, timeout=CONTROL_TIMEOUT_S,
                          check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines() or ["no output"]
        raise RuntimeError(f"callgrind_control --instr=on failed (exit {done.returncode}): "
                           f"{output[-1]}")


def round_function_of_nothing(calls: int) -> None:
    """A round that does nothing: the probe that proves collection and dumps work."""


def _host_cpu() -> tuple[str, list[str]]:
    """The host's CPU model and flags from /proc/cpuinfo (valgrind does not virtualise
    the file), or the platform's name and no flags elsewhere."""
    model, flags = platform.processor() or platform.machine() or "unknown", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = value.split()
                if flags and model and key.strip() == "":
                    break  # the first processor's block is enough
    except OSError:
        pass
    return model, flags


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else "no message"


def _emit(out: TextIO, data: Mapping[str, Any]) -> None:
    out.write(json.dumps(data) + "\n")
    out.flush()


if __name__ == "__main__":
    sys.exit(main())

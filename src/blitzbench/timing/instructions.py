"""Counting instructions: one valgrind process counts a list of CPU cases.

Why one process for many cases: importing torch under callgrind costs about a minute
(``import torch`` and a few adds took 68 s under ``valgrind --tool=callgrind`` here,
2026-12-06, this project's 2-core VM), so a process per case would cost that minute per
case. The worker (workloads/callgrind_worker.py, see :data:`WORKER_CODE`) imports torch and
the catalog once, *uninstrumented* (``--instr-atstart=no``; the same import took 20 s so),
switches instrumentation on with ``callgrind_control --instr=on``, then switches
collection on only around each counted round (``--collect-atstart=no`` and torch's
``_valgrind_toggle``) and dumps once per round. Counts do not depend on when
instrumentation started: a 5x3 ``y.add_(x)`` read 6,813.1 instructions per call both ways.
Measured with it (2026-12-06, five processes of scripts/instruction_counts_proof.py and
the end-to-end test): a process starts in 31-76 s (the VM shared with other work), then
a 5x3 tensor op costs 7.5-15 s and a LeNet forward or step at batch 4 10-24 s.

How a case is counted, and why the fixed cost is an empty round: each repetition counts an
empty round (``round_fn(0)``: the toggles, the call into the round function, the loop's
set-up) and a round of ``calls`` calls; the per-call figure is their difference over
``calls``. Counting ``N`` and ``2N`` calls instead would also cancel a per-round cost paid
only when a round has at least one call (in a trial here, 4 calls of a 256x256 ``add_``
counted 1,556 instructions more than 4 times the per-call cost that 4 further calls
showed, 52,036), but costs three rounds of work per repetition instead of one; ``calls``
is chosen so that a round holds at least :data:`TARGET_ROUND_INSTRUCTIONS`, which makes
such a cost a few parts in 10^4 of the round or less.

The interpreter is a parameter (:class:`Interpreter`), never ``python`` from PATH
(torch.utils.benchmark's ``collect_callgrind`` starts ``python`` from PATH, which may be
another installation): a side of an A/B comparison is an argv prefix and an environment,
e.g. ``PYTHONPATH=patches /path/to/python``. The worker runs under one intra-op thread:
callgrind runs one thread at a time, so more threads would add their synchronisation to the
count without running anything in parallel.

The process runs in its own process group with a time limit; on time-out, Ctrl-C or an
exception the whole group is killed and its temporary folder removed. If the caller itself
is killed (SIGTERM, SIGKILL), valgrind dies with it (``PR_SET_PDEATHSIG``) but the folder
under the temporary directory stays: no ``finally`` runs in a killed process. Cases
counted before a time-out are kept; the others carry an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blitzbench.errors import UsageError
from blitzbench.results.instructions import MAX_CALLS, InstructionCount
from blitzbench.results.records import metric_prefix
from blitzbench.timing.callgrind import OUT_FILE_PATTERN

__all__ = ["DEFAULT_REPETITIONS", "DEFAULT_TIME_LIMIT_S", "RESULTS_FILE",
           "TARGET_ROUND_INSTRUCTIONS", "VALGRIND_INSTALL", "WORKER_CODE", "WORKER_MODULE",
           "CaseName", "CountRequest", "CountRun", "CountingUnavailable", "Interpreter",
           "count_instructions", "valgrind_unavailable"]

VALGRIND_INSTALL = "apt-get install valgrind"
WORKER_MODULE = "blitzbench.workloads.callgrind_worker"
#: The worker's entry as ``-c`` code, not ``-m``: runpy would run a second copy of the
#: module as __main__, and a patch a sitecustomize applies to the importable one (a
#: planted change on one side of an A/B) would not reach it (runner/sides.py does the same).
WORKER_CODE = f"import sys; from {WORKER_MODULE} import main; sys.exit(main(sys.argv[1:]))"
DEFAULT_REPETITIONS = 3
#: Instructions a counted round holds at least (calls are the next power of two that
#: reaches it): 1,024 calls of a 5x3 ``add_`` (7.0 M instructions), 2 LeNet forwards at
#: batch 4; three repetitions of such a case cost 8-15 s under callgrind here.
TARGET_ROUND_INSTRUCTIONS = 4_000_000
DEFAULT_TIME_LIMIT_S = 1800.0
#: Library thread pools held to one thread: callgrind serializes threads anyway.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                  "OPENBLAS_NUM_THREADS": "1"}
REQUEST_FILE = "request.json"
RESULTS_FILE = "counts.jsonl"
LOG_FILE = "worker.log"
PR_SET_PDEATHSIG = 1  # prctl(2): a signal the child gets when its parent dies

#: A case by name: its benchmark and parameters (``Case.benchmark``, ``Case.params``).
CaseName = tuple[str, Mapping[str, Any]]


class CountingUnavailable(UsageError):
    """Counts cannot be taken here (no valgrind, or a platform valgrind does not run on):
    the message is one line with the install command, for the caller to mark counts
    SKIPPED."""


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the worker: ``argv`` (interpreter first, then its options)
    and ``env``, added to this process's environment. ``argv[0]`` must be the interpreter
    itself, not a wrapper such as ``env``: valgrind follows no ``exec``. An A/B side as
    the user wrote it (runner/sides.py's ``SideSpec``) is ``Interpreter(spec.command,
    spec.env)``."""

    argv: tuple[str, ...] = (sys.executable,)
    env: Mapping[str, str] = field(default_factory=dict)

    def label(self) -> str:
        """The interpreter as a shell line, for reports."""
        return shlex.join([*(f"{k}={v}" for k, v in self.env.items()), *self.argv])

    def program(self) -> str:
        """The interpreter's path, checked: a missing one is a UsageError naming it."""
        found = shutil.which(self.argv[0])
        if found is None:
            raise UsageError(f"interpreter {self.argv[0]!r} not found: give the path of a "
                             f"Python that has blitzbench and torch installed")
        return str(Path(found).absolute())  # not resolved: a venv's python is a symlink


@dataclass(frozen=True)
class CountRequest:
    """What the launcher asks the worker to count (written as JSON beside the dumps)."""

    level: str
    cases: tuple[CaseName, ...]
    repetitions: int
    target_instructions: int
    max_calls: int
    valgrind_version: str
    folder: str
    callgrind_control: str
    data_root: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level,
                "cases": [{"benchmark": b, "params": dict(p)} for b, p in self.cases],
                "repetitions": self.repetitions,
                "target_instructions": self.target_instructions,
                "max_calls": self.max_calls, "valgrind_version": self.valgrind_version,
                "folder": self.folder, "callgrind_control": self.callgrind_control,
                "data_root": self.data_root}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CountRequest:
        """The launcher's own file: a malformed one is a bug, so plain KeyError/TypeError."""
        cases = tuple((str(c["benchmark"]), dict(c["params"])) for c in data["cases"])
        return cls(str(data["level"]), cases,
                   int(data["repetitions"]), int(data["target_instructions"]),
                   int(data["max_calls"]), str(data["valgrind_version"]), str(data["folder"]),
                   str(data["callgrind_control"]),
                   None if data.get("data_root") is None else str(data["data_root"]))


@dataclass(frozen=True)
class CountRun:
    """One valgrind process's counts, one per requested case in the order asked, with
    what the process cost: ``startup_s`` from launch until the worker had imported torch
    and blitzbench (None if it never got there), ``wall_s`` in all."""

    counts: tuple[InstructionCount, ...]
    startup_s: float | None
    wall_s: float
    interpreter: Interpreter

    def by_prefix(self) -> dict[str, InstructionCount]:
        return {count.prefix: count for count in self.counts}


def valgrind_unavailable() -> str | None:
    """Why counts cannot be taken on this machine (one line, with the install command),
    or None when valgrind is there."""
    if not sys.platform.startswith("linux"):
        return f"instruction counts need valgrind on Linux; this is {sys.platform}"
    for program in ("valgrind", "callgrind_control"):
        if shutil.which(program) is None:
            return (f"{program} is not installed: instruction counts need valgrind "
                    f"({VALGRIND_INSTALL})")
    return None


def count_instructions(cases: Sequence[CaseName], level: str, *,
                       interpreter: Interpreter | None = None,
                       repetitions: int = DEFAULT_REPETITIONS,
                       time_limit_s: float = DEFAULT_TIME_LIMIT_S,
                       target_instructions: int = TARGET_ROUND_INSTRUCTIONS,
                       data_root: str | None = None) -> CountRun:
    """Count the CPU cases of ``level`` named in ``cases`` (``(benchmark, params)``, as a
    catalog case or a Measurement has them) in one valgrind process.

    Raises :class:`CountingUnavailable` when valgrind is missing. A case the worker could
    not count, or did not reach before the process ended, comes back with ``error`` set.
    """
    reason = valgrind_unavailable()
    if reason is not None:
        raise CountingUnavailable(reason)
    if repetitions < 1:
        raise UsageError(f"repetitions must be at least 1, got {repetitions}")
    interpreter = interpreter or Interpreter()
    program = interpreter.program()
    if not cases:
        return CountRun((), None, 0.0, interpreter)
    folder = tempfile.mkdtemp(prefix="blitzbench-callgrind-")
    try:
        named = tuple((benchmark, dict(params)) for benchmark, params in cases)
        request = CountRequest(level, named, repetitions, target_instructions, MAX_CALLS,
                               _valgrind_version(), folder,
                               shutil.which("callgrind_control") or "callgrind_control",
                               data_root)
        return _run(request, interpreter, program, time_limit_s)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(request: CountRequest, interpreter: Interpreter, program: str,
         time_limit_s: float) -> CountRun:
    folder = Path(request.folder)
    (folder / REQUEST_FILE).write_text(json.dumps(request.to_json()), encoding="utf-8")
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
               "--trace-children=no", f"--callgrind-out-file={folder / OUT_FILE_PATTERN}",
               f"--log-file={folder / 'valgrind.%p.log'}", program, *interpreter.argv[1:],
               "-c", WORKER_CODE, str(folder / REQUEST_FILE)]
    env = {**os.environ, **ONE_THREAD_ENV, **interpreter.env}
    started = time.time()
    ended = _run_group(command, env, folder / LOG_FILE, time_limit_s)
    setup_at, counts = _read_results(folder / RESULTS_FILE)
    missing = _ended_reason(ended, time_limit_s, folder)
    return CountRun(_in_order(request, counts, missing),
                    None if setup_at is None else max(0.0, setup_at - started),
                    time.time() - started, interpreter)


def _run_group(command: list[str], env: Mapping[str, str], log: Path,
               time_limit_s: float) -> int | None:
    """Run ``command`` in its own process group; its exit status, or None when it ran
    past ``time_limit_s``. The group is killed on time-out and on any exception
    (Ctrl-C included); a child also dies with this process (PR_SET_PDEATHSIG)."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, env=dict(env),
                                   start_new_session=True, preexec_fn=_die_with_parent)
    try:
        return process.wait(timeout=time_limit_s)
    except subprocess.TimeoutExpired:
        return None
    finally:
        _kill_group(process)


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL it when the launcher dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _valgrind_version() -> str:
    """``3.19.0`` from ``valgrind --version`` (``valgrind-3.19.0``)."""
    done = subprocess.run(["valgrind", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    text = done.stdout.strip()
    if done.returncode != 0 or not text:
        raise CountingUnavailable(f"valgrind --version failed (exit {done.returncode}): "
                                  f"reinstall it ({VALGRIND_INSTALL})")
    return text.removeprefix("valgrind-")


def _read_results(path: Path) -> tuple[float | None, list[InstructionCount]]:
    """The worker's lines: when it was ready, and each case's count as it finished (a
    killed worker leaves the complete lines of the cases before)."""
    if not path.exists():
        return None, []
    ready_at, counts = None, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.endswith("}"):
            continue  # the last line of a killed worker may be cut short
        data = json.loads(line)
        if data.get("kind") == "ready":
            ready_at = float(data["at"])
        elif data.get("kind") == "count":
            counts.append(InstructionCount.from_json(data["count"], f"counts[{number}]"))
    return ready_at, counts


def _ended_reason(ended: int | None, time_limit_s: float, folder: Path) -> str:
    """What a case the worker did not reach is told."""
    if ended is None:
        return f"not counted: the valgrind process passed its {time_limit_s:g} s time limit"
    return f"not counted: the valgrind process ended (exit {ended}): {_last_line(folder)}"


def _last_line(folder: Path) -> str:
    """The worker's last line of output, or valgrind's when the worker printed none."""
    for log in (folder / LOG_FILE, *sorted(folder.glob("valgrind.*.log"))):
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()[:300]
    return "no output"


def _in_order(request: CountRequest, counts: list[InstructionCount],
              missing: str) -> tuple[InstructionCount, ...]:
    """One count per requested case, in the order asked; unreached ones carry
    ``missing``."""
    found = {count.prefix: count for count in counts}
    return tuple(found.get(metric_prefix(benchmark, params))
                 or InstructionCount(benchmark, "cpu", params, error=missing)
                 for benchmark, params in request.cases)

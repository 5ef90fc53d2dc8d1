"""Running the ``data.main_guard`` scripts in fresh interpreters, in the background.

Why in the background: each run is a new interpreter importing torch (~1.5 s of CPU on
this machine's cores, measured 2026-12-07 with ``python -c "import torch"``), and a run
under spawn or forkserver imports it three times (the script, then each of its two workers
imports the script again; Python 3.11's fork server does not import it for them). The six
runs of a matrix cell cost ~20 s of CPU (user + system: ``pytest checks --device cpu``
with and without the claim, 2026-12-07), so :class:`ScriptBatch` starts them when the
claim is warmed (before the first claim is judged) and they overlap the other claims; the
judge only collects.

Each run is its own process group (``start_new_session``): a run past its time limit is
killed with everything it started (workers, fork server, resource tracker), and so is
whatever a finished run left behind. A batch still running when the process exits (Ctrl-C,
``pytest -x``) is killed at exit; a judge interrupted while it waits kills its batch first.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.claims.guard_script import (
    OUTPUT_FILE,
    REPORT_FILE,
    RunEnd,
    ScriptRun,
    classify_run,
    write_run_folder,
)

__all__ = ["RunPlan", "ScriptBatch"]

#: One run's limit. Measured here (2 shared cores, 2026-12-07): 2-13 s each under load,
#: the spawn and forkserver runs the slowest; the unguarded forkserver run needs >= 5 s
#: whatever the load, since torch notices a dead fork-served worker only at its 5 s status
#: check (torch.utils.data._utils.MP_STATUS_CHECK_INTERVAL). Seven times the slowest seen.
TIME_LIMIT_S = 90.0
POLL_S = 0.02  # how often the driver looks at its runs: small against a run's seconds
#: Runs at a time. Two keeps a 2-core machine's other claims going while the runs that
#: wait (the 5 s check above, a worker's import) overlap.
PARALLEL = 2
#: The environment of every run: one thread each (the scripts' tensors are tiny, and
#: several interpreters share the cores).
RUN_ENV = {"OMP_NUM_THREADS": "1"}


@dataclass(frozen=True)
class RunPlan:
    """One run to make: the start method asked for and the variant."""

    method: str
    guarded: bool

    @property
    def name(self) -> str:
        return f"{self.method}-{'guarded' if self.guarded else 'unguarded'}"


@dataclass
class _Running:
    plan: RunPlan
    process: subprocess.Popen[bytes]
    started: float


class ScriptBatch:
    """Every run of one matrix cell, at most :data:`PARALLEL` at a time, driven by a
    daemon thread from :meth:`start`; :meth:`wait` collects them in plan order."""

    def __init__(self, plans: Sequence[RunPlan], root: Path, device: str, *,
                 parallel: int = PARALLEL, time_limit_s: float = TIME_LIMIT_S) -> None:
        self.plans = tuple(plans)
        self.root, self.device = root, device
        self.parallel, self.time_limit_s = parallel, time_limit_s
        self._folder = Path(tempfile.mkdtemp(prefix="blitzbench-guard-"))
        self._results: dict[RunPlan, ScriptRun] = {}
        self._running: list[_Running] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._done = threading.Event()
        self.started = self.finished = 0.0
        self._owner = 0
        self._thread = threading.Thread(target=self._drive, name="blitzbench-guard-runs",
                                        daemon=True)

    def start(self) -> ScriptBatch:
        self.started = time.monotonic()
        self._owner = os.getpid()
        _LIVE.append(self)
        self._thread.start()
        return self

    def wait(self) -> list[ScriptRun]:
        """Every run's end, in plan order; Ctrl-C while waiting kills the runs."""
        try:
            while not self._done.wait(POLL_S * 10):
                pass
        except BaseException:
            self.stop()
            raise
        shutil.rmtree(self._folder, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)
        return [self._results.get(plan) or ScriptRun(
            plan.method, plan.guarded, RunEnd.NOT_STARTED, "the batch was stopped first", 0.0)
            for plan in self.plans]

    def stop(self) -> None:
        """Kill every run still going, start no other, remove the scripts (safe to call
        twice, and after the batch finished)."""
        with self._lock:
            self._stopped = True
            for running in self._running:
                _kill_group(running.process.pid)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _drive(self) -> None:
        """The thread: keep up to ``parallel`` runs going until every plan has ended."""
        pending = list(self.plans)
        try:
            while pending or self._running:
                while pending and len(self._running) < self.parallel:
                    if not self._launch(pending.pop(0)):
                        return
                self._reap()
                time.sleep(POLL_S)
        finally:
            self.finished = time.monotonic()
            self._done.set()

    def _launch(self, plan: RunPlan) -> bool:
        """Start one run (False once the batch was stopped); a run that cannot start is
        recorded as such."""
        folder = self._folder / plan.name
        with self._lock:
            if self._stopped:
                return False
            started = time.monotonic()
            try:
                script = write_run_folder(folder, guarded=plan.guarded, method=plan.method,
                                          root=self.root, device=self.device)
                with open(folder / OUTPUT_FILE, "wb") as output:
                    process = subprocess.Popen(
                        [sys.executable, str(script)], cwd=folder, stdin=subprocess.DEVNULL,
                        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                        env={**os.environ, **RUN_ENV})
            except OSError as exc:
                self._results[plan] = ScriptRun(plan.method, plan.guarded, RunEnd.NOT_STARTED,
                                                f"{sys.executable} {folder.name}: {exc}", 0.0)
                return True
            self._running.append(_Running(plan, process, started))
        return True

    def _reap(self) -> None:
        """Record every run that ended or ran out of time, and kill what it left."""
        with self._lock:
            for running in list(self._running):
                seconds = time.monotonic() - running.started
                code = running.process.poll()
                if code is None and seconds < self.time_limit_s:
                    continue
                _kill_group(running.process.pid)
                if code is None:
                    running.process.wait()
                self._results[running.plan] = self._ended(running, code, seconds)
                self._running.remove(running)

    def _ended(self, running: _Running, code: int | None, seconds: float) -> ScriptRun:
        folder = self._folder / running.plan.name
        try:
            output = (folder / OUTPUT_FILE).read_text(errors="replace")
        except OSError:  # removed by stop(): the run was killed
            output = ""
        return classify_run(running.plan.method, running.plan.guarded, returncode=code,
                            output=output, report=_read_report(folder / REPORT_FILE),
                            seconds=seconds)


def _read_report(path: Path) -> Any:
    """The script's report, or None when it wrote none or half of one."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _kill_group(pgid: int) -> None:
    """SIGKILL a run's process group; a group already gone is fine. The group's id stays
    reserved while any member lives, so it cannot name another program's group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


#: Batches started by this process, stopped at exit (Ctrl-C, pytest -x, an exception).
_LIVE: list[ScriptBatch] = []


@atexit.register
def _stop_all() -> None:
    """At exit, stop this process's batches: a forked child that runs atexit handlers
    inherits the list, and must not kill its parent's runs."""
    for batch in _LIVE:
        if batch._owner == os.getpid():
            batch.stop()

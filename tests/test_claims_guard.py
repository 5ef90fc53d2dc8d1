"""The data.main_guard judge's logic: how a run's end is read, the verdict from the runs
of every start method, the two script variants, and the runner's time limit and clean-up.

The logic tests run no interpreter (a few milliseconds together); the runner's tests at
the end start small Python processes (no torch): about 1.3 s together, most of it the
one-second time limit of the first.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from blitzbench.claims import claim_by_id, data_guard, guard_runs
from blitzbench.claims.guard_script import (
    BOOTSTRAP_MARK,
    DATA_EXIT,
    RunEnd,
    ScriptRun,
    classify_run,
    script_text,
    started_by,
)
from blitzbench.claims.model import Verdict

METHODS = ("fork", "spawn", "forkserver")
BOOTSTRAP_OUTPUT = f"""Traceback (most recent call last):
  File "loader_script.py", line 70, in <module>
RuntimeError:
        An attempt has been made to start a new process before the
        current process has {BOOTSTRAP_MARK}.
Traceback (most recent call last):
RuntimeError: DataLoader worker (pid(s) 9862, 9863) exited unexpectedly
"""
FORK_WORKER = {"parent_is_script": True, "main_module": "__main__"}
SPAWN_WORKER = {"parent_is_script": True, "main_module": "__mp_main__"}
SERVED_WORKER = {"parent_is_script": False, "main_module": "__mp_main__"}


def ran(method: str, guarded: bool, started: str | None = None) -> ScriptRun:
    return ScriptRun(method, guarded, RunEnd.RAN, "2 batches from 2 workers", 2.0,
                     (started or method,) * 2, "fork", "3.11.7")


def ended(method: str, guarded: bool, end: RunEnd, reason: str = "why") -> ScriptRun:
    return ScriptRun(method, guarded, end, reason, 3.0)


def linux_runs() -> list[ScriptRun]:
    """What Linux before Python 3.14 shows: the guard needed under spawn and forkserver."""
    return [ran("fork", False), ran("fork", True), ran("spawn", True),
            ended("spawn", False, RunEnd.BOOTSTRAP), ran("forkserver", True),
            ended("forkserver", False, RunEnd.BOOTSTRAP)]


def judge(runs: list[ScriptRun], offered: tuple[str, ...] = METHODS):
    return data_guard.guard_outcome(runs, offered, "synthetic CIFAR-10")


# --- how a run ended ----------------------------------------------------------------------


def test_a_killed_run_timed_out():
    run = classify_run("spawn", True, returncode=None, output="", report=None, seconds=90.2)
    assert run.end is RunEnd.TIMED_OUT
    assert run.reason == "killed after 90 s"


def test_a_run_that_exited_0_with_its_report_ran_and_names_how_workers_started():
    report = {"batches_ok": True, "workers": [SERVED_WORKER, SERVED_WORKER],
              "default_start_method": "fork", "python": "3.11.7"}
    run = classify_run("forkserver", True, returncode=0, output="", report=report,
                       seconds=4.0)
    assert run.end is RunEnd.RAN
    assert run.workers_started_by == ("forkserver", "forkserver") and run.honoured
    assert run.default_start_method == "fork"


@pytest.mark.parametrize("report", [None, {"batches_ok": True}, {"workers": "x"}])
def test_exit_0_without_a_whole_report_is_an_error(report):
    run = classify_run("fork", True, returncode=0, output="", report=report, seconds=1.0)
    assert run.end is RunEnd.ERROR
    assert "report" in run.reason


def test_wrong_batches_are_an_error_even_with_exit_0():
    report = {"batches_ok": False, "workers": [FORK_WORKER, FORK_WORKER]}
    run = classify_run("fork", False, returncode=0, output="", report=report, seconds=1.0)
    assert run.end is RunEnd.ERROR
    assert run.reason == "batches differ from the data set's items"


def test_the_bootstrapping_error_is_recognised_and_its_pids_dropped():
    run = classify_run("spawn", False, returncode=1, output=BOOTSTRAP_OUTPUT, report=None,
                       seconds=5.0)
    assert run.end is RunEnd.BOOTSTRAP
    assert run.reason.endswith("RuntimeError: DataLoader worker exited unexpectedly")
    assert "9862" not in run.reason


def test_another_failure_keeps_its_exception_line():
    output = "Traceback (most recent call last):\n  ...\nTypeError: cannot pickle 'X' object\n"
    run = classify_run("spawn", True, returncode=1, output=output, report=None, seconds=1.0)
    assert (run.end, run.reason) == (RunEnd.ERROR, "TypeError: cannot pickle 'X' object")
    silent = classify_run("spawn", True, returncode=-11, output="", report=None, seconds=1.0)
    assert silent.reason == "exit code -11"


def test_an_unreadable_data_set_is_no_data():
    output = "data set unreadable: [Errno 2] No such file or directory: 'test_batch'\n"
    run = classify_run("fork", True, returncode=DATA_EXIT, output=output, report=None,
                       seconds=1.0)
    assert run.end is RunEnd.NO_DATA


def test_how_a_worker_started_follows_from_its_parent_and_main_module():
    assert started_by(FORK_WORKER) == "fork"
    assert started_by(SPAWN_WORKER) == "spawn"
    assert started_by(SERVED_WORKER) == "forkserver"
    assert started_by({"parent_is_script": False, "main_module": "__main__"}) == "unknown"
    assert started_by({}) == "unknown"


# --- the verdict ------------------------------------------------------------------------


def test_linux_before_314_is_conditional_and_names_where_the_guard_is_needed():
    outcome = judge(linux_runs())
    assert outcome.verdict is Verdict.CONDITIONAL
    assert outcome.summary.startswith("needed under spawn and forkserver")
    assert "not needed under fork, this Python's default (3.11.7)" in outcome.summary
    assert outcome.evidence["guard_needed_under"] == ["spawn", "forkserver"]
    assert outcome.evidence["guard_not_needed_under"] == ["fork"]
    assert outcome.evidence["by_method"]["fork"] == {"unguarded": "ran", "guarded": "ran"}
    assert outcome.inputs_tried == 6


def test_a_default_that_needs_the_guard_is_said_so():
    runs = [r if r.end is not RunEnd.RAN else
            ScriptRun(r.method, r.guarded, r.end, r.reason, 1.0, r.workers_started_by,
                      "forkserver", "3.14.0") for r in linux_runs()]
    outcome = judge(runs)
    assert outcome.verdict is Verdict.CONDITIONAL
    assert "this Python's default forkserver needs it" in outcome.summary


def test_needed_under_every_method_holds():
    outcome = judge([ran("spawn", True), ended("spawn", False, RunEnd.BOOTSTRAP)],
                    offered=("spawn",))
    assert outcome.verdict is Verdict.HOLDS


def test_an_unguarded_script_that_runs_everywhere_fails_the_claim():
    outcome = judge([ran(m, g) for m in METHODS for g in (False, True)])
    assert outcome.verdict is Verdict.FAILS
    assert "turns nothing on" in outcome.summary


def test_a_guarded_script_that_fails_fails_the_claim():
    runs = [*linux_runs()[:2], ended("spawn", True, RunEnd.ERROR, "TypeError: pickle"),
            *linux_runs()[3:]]
    outcome = judge(runs)
    assert outcome.verdict is Verdict.FAILS
    assert "still fails under spawn (TypeError: pickle)" in outcome.summary


@pytest.mark.parametrize("broken", [
    ended("spawn", True, RunEnd.TIMED_OUT), ended("spawn", False, RunEnd.NOT_STARTED),
    ended("spawn", True, RunEnd.NO_DATA), ran("spawn", True, started="fork")],
    ids=["guarded-timeout", "not-started", "no-data", "method-ignored"])
def test_runs_that_cannot_judge_are_an_error(broken):
    runs = [r for r in linux_runs() if (r.method, r.guarded) != (broken.method, broken.guarded)]
    outcome = judge([*runs, broken])
    assert outcome.verdict is Verdict.ERROR
    assert outcome.summary.startswith("could not judge: the ")


def test_an_unguarded_timeout_counts_as_needing_the_guard():
    runs = [*linux_runs()[:3], ended("spawn", False, RunEnd.TIMED_OUT), *linux_runs()[4:]]
    assert judge(runs).verdict is Verdict.CONDITIONAL


def test_a_method_left_untried_is_an_error():
    outcome = judge([r for r in linux_runs() if r.method != "spawn"])
    assert outcome.verdict is Verdict.ERROR
    assert "this Python offers fork, spawn and forkserver" in outcome.summary


# --- the scripts and the plan -------------------------------------------------------------


def test_the_two_scripts_differ_in_the_guard_alone():
    guarded, unguarded = script_text(True).splitlines(), script_text(False).splitlines()
    guard = 'if __name__ == "__main__":'
    assert guarded.count(guard) == 1 and guard not in unguarded
    at = guarded.index(guard)
    unindented = [line.removeprefix("    ") for line in guarded[at + 1:]]
    assert [*guarded[:at], *unindented] == [line.replace("(unguarded)", "(guarded)")
                                            for line in unguarded]


def test_every_offered_method_is_planned_guarded_and_not():
    plans = data_guard.run_plans(METHODS)
    assert sorted((p.method, p.guarded) for p in plans) == sorted(
        (m, g) for m in METHODS for g in (False, True))
    assert plans[0].method == "forkserver"  # the run that waits longest starts first


def test_the_claim_declares_its_input_space():
    claim = claim_by_id("data.main_guard")
    assert claim.expected is Verdict.CONDITIONAL and claim.warm is not None
    assert claim.inputs.workers == (2,)
    assert dict(claim.inputs.facets)["start methods"] == tuple(
        __import__("multiprocessing").get_all_start_methods())


# --- the runner: time limit, clean-up (real processes, no torch) -------------------------

HANGING = """import os, subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
Path("child.pid").write_text(str(child.pid))
time.sleep(60)
"""


def _hanging_script(folder: Path, **_: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "loader_script.py"
    script.write_text(HANGING)
    return script


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")  # a killed child of init may linger as a zombie
    return not (status.exists() and status.read_text().split(") ")[-1].startswith("Z"))


def _child_pid(batch: guard_runs.ScriptBatch, name: str) -> int:
    path = batch._folder / name / "child.pid"
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(path.read_text())


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_a_run_past_its_limit_is_killed_with_what_it_started(monkeypatch):
    monkeypatch.setattr(guard_runs, "write_run_folder", _hanging_script)
    batch = guard_runs.ScriptBatch([guard_runs.RunPlan("spawn", True)], Path("/nowhere"),
                                   "cpu", time_limit_s=1.0).start()
    child = _child_pid(batch, "spawn-guarded")
    (run,) = batch.wait()
    assert run.end is RunEnd.TIMED_OUT and 1.0 <= run.seconds < 5
    time.sleep(0.1)
    assert not _alive(child), "the run's own child outlived the time limit"


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_stopping_a_batch_kills_its_runs_and_starts_no_more(monkeypatch):
    written: list[str] = []

    def write(folder: Path, **settings: object) -> Path:
        written.append(folder.name)
        return _hanging_script(folder)

    monkeypatch.setattr(guard_runs, "write_run_folder", write)
    plans = [guard_runs.RunPlan("fork", False), guard_runs.RunPlan("fork", True)]
    batch = guard_runs.ScriptBatch(plans, Path("/nowhere"), "cpu", parallel=1).start()
    child = _child_pid(batch, "fork-unguarded")
    batch.stop()
    batch._thread.join(5)
    assert not batch._thread.is_alive()
    assert not _alive(child)
    assert written == ["fork-unguarded"], "a run started after stop()"
    assert not batch._folder.exists(), "the scripts were left behind"


def test_an_interpreter_that_cannot_start_is_recorded_not_started(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    batch = guard_runs.ScriptBatch([guard_runs.RunPlan("spawn", True)], tmp_path, "cpu")
    (run,) = batch.start().wait()
    assert run.end is RunEnd.NOT_STARTED
    assert "no-python" in run.reason
    assert judge([*linux_runs()[:2], run, *linux_runs()[3:]]).verdict is Verdict.ERROR

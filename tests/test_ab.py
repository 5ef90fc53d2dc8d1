"""``blitzbench ab`` end to end, with real workers: two interpreters measuring the same
tiny cases in alternating slots, and the faults a side can have (not an interpreter, no
blitzbench, a case only one side has, a worker that dies or hangs on a case, Ctrl-C).

Faults are planted in side B by tests/ab_faults/sitecustomize.py on its PYTHONPATH. Each
run selects one to four microsecond cases with ``-k``: a run costs two interpreters
importing torch (3-8 s on the 2-core VM) and about a second a case. The crash, the hang and
the one-sided case share one run; it and the Ctrl-C run are slow tests (CI: --run-slow).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from blitzbench.cli import main
from blitzbench.errors import EXIT_NOT_JUDGED, UsageError
from blitzbench.results.ab import ABRecord
from blitzbench.results.reader import read_run
from blitzbench.runner import sides as sides_module
from blitzbench.runner.sides import parse_side

PYTHON = sys.executable
FAULTS = Path(__file__).parent / "ab_faults"
TINY = r"tensor_ops\.add_out\[scale=tutorial"
FAULTY_CASES = r"tensor_ops\.(add_out|add_inplace|add_function|add_operator)\[scale=tutorial"


def faulty(fault: str) -> str:
    """Side B with ``fault`` planted (tests/ab_faults)."""
    return f"PYTHONPATH={FAULTS} AB_FAULT={fault} {PYTHON}"


def ab(tmp_path: Path, side_b: str, *args: str) -> int:
    return main(["ab", PYTHON, side_b, "--device", "cpu", "--out", str(tmp_path / "r"),
                 "--processes", "2", *args])


def only_run(tmp_path: Path):
    (folder,) = (tmp_path / "r" / "runs").iterdir()
    return read_run(folder)


def test_a_side_is_written_as_a_shell_would():
    side = parse_side("B", f"PYTHONPATH='a b' OMP_NUM_THREADS=1 {PYTHON} -X dev")
    assert side.env == {"PYTHONPATH": "a b", "OMP_NUM_THREADS": "1"}
    assert side.command == (PYTHON, "-X", "dev")
    with pytest.raises(UsageError, match="names no interpreter"):
        parse_side("B", "PYTHONPATH=x")
    with pytest.raises(UsageError, match="is not an executable"):
        parse_side("A", "/no/such/python")
    with pytest.raises(UsageError, match="cannot be read as a command"):
        parse_side("A", "'unclosed")


@pytest.mark.slow  # two worker pairs end to end: 26 s here (2026-12-06); CI runs it
def test_two_sides_compare_a_case_pair_by_pair(tmp_path, capsys):
    code = ab(tmp_path, PYTHON, "-k", TINY, "--format", "json")
    shown = json.loads(capsys.readouterr().out)
    (figure,) = shown["figures"]
    assert code in (0, EXIT_NOT_JUDGED)  # SAME, or NOISY on a busy machine: never SLOWER
    assert figure["verdict"] in ("SAME", "NOISY") and figure["pairs"] == 2 * 5  # quick
    assert {"benchmark", "params", "device", "ratio", "ci_low", "ci_high", "measured",
            "detectable_change"} <= set(figure)
    stored = only_run(tmp_path)
    (case,) = stored.results.ab.cases
    assert stored.results.complete and stored.results.ab.complete
    assert case.pairs == figure["pairs"] and case.blocks == (5, 5)
    assert "t over 2 pairs of processes" in figure["evidence"]
    assert stored.results.ab.a.versions["torch"] == stored.results.ab.b.versions["torch"]
    assert "A/B comparison" in (stored.folder / "report.md").read_text()


@pytest.mark.parametrize(("side", "fragment"), [
    ("/bin/echo", "not blitzbench's worker protocol"),
    (f"PYTHONPATH= {PYTHON} -S", "No module named"),  # no site-packages: no blitzbench
])
def test_a_side_that_cannot_start_is_one_line_and_exit_9(tmp_path, capsys, side, fragment):
    assert ab(tmp_path, side, "-k", TINY) == 9
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("blitzbench: error: side B")
    assert fragment in err and "pip install" in err
    assert not (tmp_path / "r").exists()  # refused before any run folder


@dataclass(frozen=True)
class FaultyRun:
    """One A/B run whose side B crashes on one case, hangs on another and lacks a third."""

    code: int
    record: ABRecord
    shown: str
    seconds: float
    children_left: list[psutil.Process]


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> FaultyRun:
    """Side B crashes preparing add_inplace, hangs preparing add_function (the request
    timeout cut to 8 s) and has no add_out; add_operator is measured after both restarts.
    One run (about a minute here under load) read by the crash and the hang tests."""
    tmp_path = tmp_path_factory.mktemp("ab-faults")
    fault = r"crash:add_inplace;hang:add_function;drop:add_out\\["
    before = set(psutil.Process().children(recursive=True))
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.setattr(sides_module, "REQUEST_TIMEOUT_S", 8.0)
        code = ab(tmp_path, faulty(fault), "-k", FAULTY_CASES)
    seconds = time.monotonic() - started
    left = [p for p in psutil.Process().children(recursive=True) if p not in before]
    return FaultyRun(code, only_run(tmp_path).results.ab, out.getvalue(), seconds, left)


@pytest.mark.slow  # the faulty run: 40-70 s here under load (2026-12-06)
def test_a_crash_costs_its_case_and_a_one_sided_case_is_listed(faulty_run: FaultyRun):
    by_name = {case.benchmark: case for case in faulty_run.record.cases}
    assert faulty_run.code == EXIT_NOT_JUDGED
    assert "exit code 3" in by_name["tensor_ops.add_inplace"].error
    assert by_name["tensor_ops.add_operator"].pairs == 10  # the worker was restarted
    assert any("add_out" in item and "only in A" in item
               for item in faulty_run.record.not_compared)
    assert "add_inplace" in faulty_run.shown  # listed: not SAME


@pytest.mark.slow  # the same faulty run
def test_a_side_that_hangs_is_killed_and_named(faulty_run: FaultyRun):
    hung = next(c for c in faulty_run.record.cases if c.benchmark == "tensor_ops.add_function")
    assert faulty_run.code == EXIT_NOT_JUDGED and "no answer to prepare in 8 s" in hung.error
    assert faulty_run.seconds < 120
    assert not faulty_run.children_left  # the hung worker is gone, none left behind


@pytest.mark.slow  # 70 s here under load (2026-12-06): a full-level LeNet case interrupted
def test_ctrl_c_kills_both_workers_and_marks_the_folder(tmp_path):
    out = tmp_path / "r"
    process = subprocess.Popen(
        [PYTHON, "-m", "blitzbench", "ab", PYTHON, PYTHON, "--device", "cpu", "--out",
         str(out), "-k", r"lenet\.train_step", "--level", "full"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("runs/*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run folder (incomplete)" in err
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    results = only_run(tmp_path).results
    assert results.interrupted and not results.complete


def test_more_threads_than_cores_is_refused(tmp_path):
    cores = len(os.sched_getaffinity(0))
    with pytest.raises(UsageError, match="more than this machine"):
        from blitzbench.commands.ab import _check_threads

        _check_threads(cores + 1)

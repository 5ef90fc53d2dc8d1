"""Faults during a run: Ctrl-C keeps finished results, two runs at once do not collide.

Each starts whole ``blitzbench claims`` runs (tens of seconds on the 2-core VM): slow
tests, run by CI (--run-slow)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blitzbench.errors import EXIT_INTERRUPTED

STARTUP_TIMEOUT_S = 240
EXIT_TIMEOUT_S = 60
POLL_S = 0.2


def start_claims(out: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "blitzbench.cli", "claims", "--device",
                             "cpu", "--format", "json", "--out", str(out)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    """A shell's background job starts with SIGINT ignored, and Python keeps it ignored:
    give the child the terminal's default, as a user's Ctrl-C meets it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def saved_claims(reports: Path) -> list[dict]:
    for path in reports.glob("runs/*/results.json"):
        try:
            return json.loads(path.read_text()).get("claims", [])
        except json.JSONDecodeError:  # pragma: no cover - would be a half-written file
            raise AssertionError(f"{path} is not whole JSON") from None
    return []


@pytest.mark.slow  # 11-17 s here under load 2-4 (2026-12-06): a claims run interrupted
def test_ctrl_c_keeps_finished_claims_and_exits_130(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    process = start_claims(reports, tmp_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while len(saved_claims(reports)) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "no claim was saved in time"
        time.sleep(POLL_S)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=EXIT_TIMEOUT_S)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    (results_path,) = reports.glob("runs/*/results.json")
    results = json.loads(results_path.read_text())
    assert results["complete"] is False and results["interrupted"] is True
    assert len(results["claims"]) >= 2
    assert not list(reports.rglob("*.tmp")), "a temporary file was left behind"


@pytest.mark.slow  # 61-71 s here under load 4-5 (2026-12-06): two whole claims runs at once
def test_two_runs_into_one_reports_folder_both_complete(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first, second = start_claims(reports, tmp_path), start_claims(reports, tmp_path)
    for process in (first, second):
        process.communicate(timeout=STARTUP_TIMEOUT_S * 2)
        assert process.returncode == 0
    folders = sorted(reports.glob("runs/*/results.json"))
    assert len(folders) == 2
    for path in folders:
        results = json.loads(path.read_text())
        assert results["complete"] is True and results["claims"]

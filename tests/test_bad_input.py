"""The README's bad-input table, row by row: each input gets one line on stderr naming the
thing and the fix, its own exit code, no traceback, and leaves nothing half-written (no
temporary file, no run folder for a run that never began).

Rows marked ``e2e`` run the real command in a subprocess, as a user would; the rest call
``blitzbench.cli.main`` in-process, which is the same code without the ~6 s torch import.
Rows already tested elsewhere are named here, not repeated:

- data root missing: tests/test_cli_claims.py::test_missing_data_root_exits_3 (e2e)
- ``--device tpu`` / ``cuda:7``: tests/test_cli_claims.py::test_bad_device_exits_4 (e2e),
  tests/test_devices.py::test_unknown_device_names, ::test_cuda_index_beyond_the_machine
- CUDA asked for without a GPU: tests/test_cli_claims.py::test_cuda_without_gpu_exits_4
- reports path that is a file: tests/test_profiling.py::test_unwritable_out_is_one_line_and_exit_5
- spec with a NaN or wrongly typed bound: tests/test_acceptance_baseline.py::
  test_bad_spec_through_the_cli_is_one_line_and_exit_2; every spec defect at the parser:
  tests/test_acceptance_spec.py::test_bad_spec_is_one_usage_error_line
- baseline JSON with wrong types, NaN, huge numbers: tests/test_acceptance_baseline.py::
  test_bad_baseline_is_one_line_and_exit_2
- results folder from a newer blitzbench, for ``report`` and ``accept --baseline``:
  tests/test_report.py::test_bad_run_folders_are_one_line_with_an_exit_code,
  tests/test_acceptance_baseline.py::test_newer_results_format_is_its_own_exit_code
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from blitzbench import runs
from blitzbench.cli import main
from blitzbench.errors import DataError, OutputError, ResultsFormatError, UsageError
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import FORMAT_VERSION
from blitzbench.workloads.cifar import (
    BASE_FOLDER,
    SYNTHETIC_MARKER,
    make_loader,
    write_synthetic_cifar10,
)
from blitzbench.workloads.loading import loader_case

CLI_TIMEOUT_S = 300
SMALL_TRAIN = 30
SMALL_TEST = 10
REPORTS = "reports"
SPEC_RULE = ('[[rule]]\nid = "claims-ok"\nmetric = "claims.all_as_expected"\nop = "=="\n'
             'bound = true\n')


# --- inputs --------------------------------------------------------------------------------

def cifar(tmp_path: Path) -> Path:
    """A small synthetic CIFAR-10 at ``data/`` to damage."""
    return write_synthetic_cifar10(tmp_path / "data", train_count=SMALL_TRAIN,
                                   test_count=SMALL_TEST)


def truncated(tmp_path: Path) -> None:
    path = cifar(tmp_path) / BASE_FOLDER / "data_batch_2"
    path.write_bytes(path.read_bytes()[:100])


def md5_mismatch(tmp_path: Path) -> None:
    (cifar(tmp_path) / SYNTHETIC_MARKER).unlink()  # now it is read, and checked, as real


def corrupt_pickle(tmp_path: Path) -> None:
    (cifar(tmp_path) / BASE_FOLDER / "test_batch").write_bytes(b"not a pickle at all")


def dump_batch(tmp_path: Path, name: str, rows: int, row_bytes: int, labels: int) -> None:
    with open(cifar(tmp_path) / BASE_FOLDER / name, "wb") as handle:
        pickle.dump({"data": np.zeros((rows, row_bytes), np.uint8), "labels": [0] * labels},
                    handle)


def wrong_shape(tmp_path: Path) -> None:
    dump_batch(tmp_path, "data_batch_1", rows=7, row_bytes=1000, labels=7)


def labels_short(tmp_path: Path) -> None:
    dump_batch(tmp_path, "data_batch_4", rows=6, row_bytes=3 * 32 * 32, labels=4)


def spec_file(text: str) -> Callable[[Path], None]:
    def write(tmp_path: Path) -> None:
        (tmp_path / "spec.toml").write_text(text)
    return write


def results_folder(**top: object) -> Callable[[Path], None]:
    """A run folder ``run/`` whose results.json carries ``top`` over a minimal header."""
    def write(tmp_path: Path) -> None:
        folder = tmp_path / "run"
        folder.mkdir()
        payload = {"format_version": FORMAT_VERSION, "command": "accept",
                   "environment": {}, **top}
        (folder / RESULTS_FILE).write_text(json.dumps(payload))
    return write


def two_runs_one_newer(tmp_path: Path) -> None:
    for name, version in (("run", FORMAT_VERSION), ("newer", FORMAT_VERSION + 1)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / RESULTS_FILE).write_text(json.dumps({"format_version": version}))


def two_hosts_other_gpus(tmp_path: Path) -> None:
    for name, gpus in (("run", []), ("other", [{"index": 0, "name": "NVIDIA H200"}])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / RESULTS_FILE).write_text(json.dumps({
            "format_version": FORMAT_VERSION, "environment": {"torch": "2.x", "gpus": gpus}}))


def nothing(tmp_path: Path) -> None:
    """The argument alone is the bad input."""


@dataclass(frozen=True)
class Row:
    """One row of the README table: what is set up, the command, what must come out."""

    name: str
    make: Callable[[Path], None]
    argv: tuple[str, ...]
    code: int
    text: str
    e2e: bool = False


DATA = ("--device", "cpu", "--data-root", "data", "--out", REPORTS)
ROWS = [
    Row("truncated CIFAR-10 file", truncated, ("accept", *DATA), DataError.exit_code,
        "data_batch_2 is not a CIFAR-10 pickle (UnpicklingError", e2e=True),
    Row("real CIFAR-10 failing its MD5", md5_mismatch, ("profile", *DATA),
        DataError.exit_code, "data_batch_1 fails its MD5 check"),
    Row("corrupt pickle", corrupt_pickle, ("profile", *DATA), DataError.exit_code,
        "test_batch is not a CIFAR-10 pickle"),
    Row("wrong image shape", wrong_shape, ("claims", *DATA), DataError.exit_code,
        "data_batch_1 holds uint8 data of shape (7, 1000)"),
    Row("labels not matching images", labels_short, ("accept", *DATA), DataError.exit_code,
        "data_batch_4 has labels that do not match its 6 images"),
    Row("batch size 0", nothing, ("profile", "--batch-size", "0"), UsageError.exit_code,
        "argument --batch-size: 0 is invalid: use a positive integer", e2e=True),
    Row("negative batch size", nothing, ("profile", "--batch-size", "-3"),
        UsageError.exit_code, "argument --batch-size: -3 is invalid"),
    Row("malformed TOML spec", spec_file("[[rule]\nid ="),
        ("accept", "--device", "cpu", "--spec", "spec.toml", "--out", REPORTS),
        UsageError.exit_code, "malformed TOML"),
    Row("spec with a huge bound", spec_file(SPEC_RULE.replace(
        'metric = "claims.all_as_expected"\nop = "=="\nbound = true',
        'metric = "claims.all_as_expected"\nop = ">="\nbound = 1e300')),
        ("accept", "--device", "cpu", "--spec", "spec.toml", "--out", REPORTS),
        UsageError.exit_code, "out of range"),
    Row("results.json with a non-object field",
        results_folder(benchmarks=[{"benchmark": "x", "device": "cpu", "params": [64]}]),
        ("report", "run"), UsageError.exit_code,
        "benchmarks[0].params must be a JSON object, got list"),
    Row("results.json with a wrongly typed section", results_folder(
        profiles=[{"device": "cpu", "workload": "train_step", "summary": "x"}]),
        ("report", "run"), UsageError.exit_code,
        "profiles[0].summary must be a JSON object, got string"),
    Row("results.json whose per-round times are missing", results_folder(benchmarks=[
        {"benchmark": "lenet.train_step", "device": "cpu", "median_s": 0.01}]),
        ("compare", "run", "run"), UsageError.exit_code,
        "benchmarks[0].times_s must be a list of per-round times in seconds, got null",
        e2e=True),
    Row("two runs of different hardware given to compare", two_hosts_other_gpus,
        ("compare", "run", "other"), UsageError.exit_code,
        "were measured on different hardware or torch (GPUs none in A (run), ['NVIDIA "
        "H200'] in B (other)): pass --force to compare anyway"),
    Row("results folder from a newer blitzbench", two_runs_one_newer,
        ("fleet", "newer", "run"), ResultsFormatError.exit_code,
        f"format version {FORMAT_VERSION + 1}, newer than this blitzbench reads", e2e=True),
]


# --- checks --------------------------------------------------------------------------------

def run_cli(argv: tuple[str, ...], cwd: Path, e2e: bool,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of ``blitzbench ARGV`` run in ``cwd``."""
    if e2e:
        done = subprocess.run([sys.executable, "-m", "blitzbench.cli", *argv], cwd=cwd,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                              check=False)
        return done.returncode, done.stderr
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, expected_code: int, text: str) -> str:
    assert code == expected_code, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blitzbench: error: "), err
    assert text in lines[0], lines[0]
    return lines[0]


def assert_nothing_left(tmp_path: Path) -> None:
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"
    runs_folder = tmp_path / REPORTS / "runs"
    assert not runs_folder.is_dir() or not any(runs_folder.iterdir()), \
        "a run folder for a run that never began"


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_row(row: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths, as in the README
    row.make(tmp_path)
    code, err = run_cli(row.argv, tmp_path, row.e2e, capsys)
    assert_one_line(code, err, row.code, row.text)
    assert_nothing_left(tmp_path)


def unwritable_folder(tmp_path: Path) -> Path | None:
    """A folder this process cannot create anything in: a read-only one for a normal user;
    for root, who writes through permission bits, /sys (read-only sysfs) if it refuses."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        return folder
    probe = Path("/sys/blitzbench-probe")
    try:
        probe.mkdir()
    except OSError:
        return Path("/sys")
    probe.rmdir()
    return None


def test_unwritable_reports_folder_e2e(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = unwritable_folder(tmp_path)
    if folder is None:
        pytest.skip("no folder here refuses this user's writes")
    out = folder / REPORTS
    try:
        code, err = run_cli(("profile", "--device", "cpu", "--out", str(out)), tmp_path,
                            True, capsys)
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o700)
    line = assert_one_line(code, err, OutputError.exit_code, f"cannot write {out}")
    assert "permission denied" in line and "--out" in line
    assert not out.exists()


def test_full_reports_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """Every write goes to /dev/full, which fails with ENOSPC as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    real_mkstemp = runs.tempfile.mkstemp

    def full_mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    monkeypatch.setattr(runs.tempfile, "mkstemp", full_mkstemp)
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(("profile", "--device", "cpu", "--out", REPORTS), tmp_path, False,
                        capsys)
    assert_one_line(code, err, OutputError.exit_code, "the disk is full: choose another "
                                                       "folder with --out")
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize(("batch_size", "workers", "text"), [
    (4, -1, "num_workers -1 is invalid"),
    (4, 10_000, "num_workers 10000 is far above this machine's"),
    (0, 0, "batch size 0 is invalid"),
])
def test_bad_loader_arguments_through_the_loader_and_the_catalog(
        batch_size: int, workers: int, text: str) -> None:
    """num_workers has no CLI option; it reaches the loader through the Python API and the
    benchmark catalog, and both refuse it before a worker starts.
    (check_loader_args alone: tests/test_cifar.py::test_bad_loader_arguments_are_usage_errors)"""
    import torch

    with pytest.raises(UsageError, match=text):
        make_loader([], batch_size, num_workers=workers)
    with pytest.raises(UsageError, match=text):
        loader_case(torch.device("cpu"), None, batch_size, workers, 64, ("quick",))

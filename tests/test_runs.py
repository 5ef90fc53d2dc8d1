"""Run folders and atomic writes: unique ids, whole files, clear errors."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from blitzbench.errors import OutputError, ResultsFormatError, UsageError
from blitzbench.results.reader import read_run
from blitzbench.results.records import FORMAT_VERSION, Measurement
from blitzbench.runs import RunRecorder, create_run_folder, write_json_atomic


def test_concurrent_run_folders_are_distinct(tmp_path: Path) -> None:
    folders: list[Path] = []
    threads = [threading.Thread(target=lambda: folders.append(create_run_folder(tmp_path)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 8


def test_json_is_strict_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = write_json_atomic(tmp_path / "r.json", {"x": float("nan"), "y": [1.5]})
    assert json.loads(path.read_text()) == {"x": None, "y": [1.5]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_unwritable_folder_is_an_output_error(tmp_path: Path) -> None:
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            create_run_folder(tmp_path)
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def test_reports_path_that_is_a_file_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write"):
        create_run_folder(blocker)


def test_full_disk_is_an_output_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OutputError, match="the disk is full"):
        _write_to_full_disk(tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []  # the temporary file was removed


def _write_to_full_disk(path: Path) -> None:
    """Write through /dev/full, which fails every write with ENOSPC."""
    from blitzbench import runs

    real_mkstemp = runs.tempfile.mkstemp

    def full_mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    runs.tempfile.mkstemp = full_mkstemp
    try:
        write_json_atomic(path, {"big": "x" * 10})
    finally:
        runs.tempfile.mkstemp = real_mkstemp


def test_recorder_marks_incomplete_until_finished(tmp_path: Path) -> None:
    recorder = RunRecorder(create_run_folder(tmp_path), "test")
    measured = Measurement("tensor_ops.add_operator", "cpu", {"size": "5x3"}, (2e-6, 3e-6))
    recorder.extend("benchmarks", [measured])
    assert read_run(recorder.folder).results.complete is False
    recorder.finish(interrupted=True)
    results = read_run(recorder.folder).results
    assert results.interrupted is True and results.complete is False
    assert results.benchmarks == (measured,)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "results.json", {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(ResultsFormatError, match="upgrade blitzbench"):
        read_run(tmp_path)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"format_version": "1"}'])
def test_malformed_results_are_usage_errors(tmp_path: Path, content: str) -> None:
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(UsageError):
        read_run(tmp_path)


def test_missing_run_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        read_run(tmp_path / "nope")

"""Running a tutorial's blocks: one namespace across blocks, a shim only when a block
fails (with the namespace rolled back), and every bad input as one line with its own exit
code, the blocks after it NOT RUN. Small tutorials of the project's own, no torch in the
worker except where a test says, so each run takes a fraction of a second."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from blitzbench.cli import main
from blitzbench.results.tutorial import TutorialResults
from blitzbench.tutorial.execute import device_env

TUTORIALS = Path(__file__).parent / "tutorials"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["tutorial", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _verdicts(folder: Path, device: str = "cpu") -> list[tuple[str, str]]:
    results = TutorialResults.from_json(json.loads((folder / "tutorial.json").read_text()))
    run = next(r for r in results.runs if r.device == device)
    return [(b.verdict, b.detail) for b in run.blocks]


def test_blocks_share_a_namespace_and_write_only_in_their_temp_folder(capsys, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, TUTORIALS / "basics.md", "--device", "cpu", "--format",
                          "json", "--out", tmp_path / "run")
    assert code == 0, err
    results = TutorialResults.from_json(json.loads(out))
    assert results.to_json() == json.loads((tmp_path / "run" / "tutorial.json").read_text())
    verdicts = [(b.verdict, b.shims) for b in results.runs[0].blocks]
    assert verdicts == [("RUNS AS WRITTEN", ())] * 3 + [
        ("RUNS WITH A SHIM", ("y.creator -> y.grad_fn",))]
    assert list(tmp_path.iterdir()) == [tmp_path / "run"]  # the block's file is not here


ROLLBACK = """\
```python
counter = 0
class Node:
    grad_fn = "AddBackward0"
class Old:
    creator = "still here"
```

```python
counter += 1
print(Node().creator)
```

```python
print(counter, Old().creator)
```

```
1 still here
```
"""


def test_a_shim_runs_only_after_a_failure_and_from_a_rolled_back_namespace(capsys,
                                                                           tmp_path):
    (tmp_path / "rollback.md").write_text(ROLLBACK)
    code, _, err = _run(capsys, tmp_path / "rollback.md", "--device", "cpu", "--out",
                        tmp_path)
    assert code == 0, err
    verdicts = [v for v, _ in _verdicts(tmp_path)]
    # block 3 prints 1, not 2: the failed try of block 2 was rolled back; Old().creator
    # worked as written, so no shim touched block 3
    assert verdicts == ["RUNS AS WRITTEN", "RUNS WITH A SHIM", "RUNS AS WRITTEN"]


@pytest.mark.parametrize("name, exit_code, detail", [
    ("loops_forever.md", 22, "timed out after 1 s"),
    ("kills_itself.md", 23, "killed by signal 9 (SIGKILL)"),
    ("asks_input.md", 24, "asks for input ('your name? ')"),
])
def test_bad_blocks_fail_with_their_exit_code_and_stop_the_run(capsys, tmp_path, name,
                                                               exit_code, detail):
    code, _, err = _run(capsys, TUTORIALS / name, "--device", "cpu", "--timeout-s", "1",
                        "--out", tmp_path, "--format", "markdown")
    assert code == exit_code
    assert err.count("\n") == 1 and detail in err and "Traceback" not in err
    verdicts = _verdicts(tmp_path)
    failed = next(i for i, (v, _) in enumerate(verdicts) if v == "FAILS")
    assert detail in verdicts[failed][1]
    assert all(v == "NOT RUN" for v, _ in verdicts[failed + 1:]) and verdicts[failed + 1:]


def test_a_write_outside_the_working_folder_is_refused(capsys, tmp_path):
    target = tmp_path / "outside.txt"
    (tmp_path / "t.md").write_text(f"```python\nopen({str(target)!r}, 'w').write('x')\n"
                                   f"```\n\n```python\nprint(1)\n```\n")
    code, _, err = _run(capsys, tmp_path / "t.md", "--device", "cpu")
    assert code == 25 and f"writes outside its working folder: open {target}" in err
    assert not target.exists()
    assert "block 2 not run" in err


def test_os_exit_is_a_crash_named_by_its_status(capsys, tmp_path):
    (tmp_path / "t.md").write_text("```python\nimport os\nos._exit(3)\n```\n")
    code, _, err = _run(capsys, tmp_path / "t.md", "--device", "cpu")
    assert code == 23 and "exited with status 3" in err


CHILD = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(300)"


def test_a_timeout_kills_everything_the_block_started(capsys, tmp_path):
    """The block starts a child (which, not being the worker, may write its pid where the
    test reads it), then loops: the time limit must kill the child with the worker."""
    pid_file = tmp_path / "child.pid"
    (tmp_path / "t.md").write_text(
        "```python\nimport subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {CHILD!r}, {str(pid_file)!r}])\n"
        "while True:\n    time.sleep(0.01)\n```\n")
    code, _, err = _run(capsys, tmp_path / "t.md", "--device", "cpu", "--timeout-s", "5")
    assert code == 22 and pid_file.exists(), err
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and time.monotonic() < deadline:
        if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    assert not psutil.pid_exists(child) or \
        psutil.Process(child).status() == psutil.STATUS_ZOMBIE, "the child outlived the worker"


@pytest.mark.parametrize("path, exit_code, fragment", [
    (TUTORIALS / "absent.md", 20, "does not exist"),
    (TUTORIALS / "no_code.md", 20, "holds no code block"),
])
def test_not_a_tutorial(capsys, path, exit_code, fragment):
    code, out, err = _run(capsys, path)
    assert code == exit_code and fragment in err and err.count("\n") == 1 and not out


def test_a_malformed_notebook(capsys, tmp_path):
    (tmp_path / "bad.ipynb").write_text('{"cells": [')
    code, _, err = _run(capsys, tmp_path / "bad.ipynb")
    assert code == 21 and "is not valid JSON" in err


def test_cpu_runs_hide_gpus_and_a_cuda_run_shows_exactly_one():
    assert device_env("cpu", {})["CUDA_VISIBLE_DEVICES"] == ""
    assert device_env("cuda:1", {"CUDA_VISIBLE_DEVICES": "4,5"})["CUDA_VISIBLE_DEVICES"] == "5"
    assert device_env("cuda:2", {})["CUDA_VISIBLE_DEVICES"] == "2"


DEVICE_PROBE = """\
```python
import torch
print(torch.cuda.is_available(), torch.cuda.device_count(), torch.ones(1).cuda().device
      if torch.cuda.is_available() else "cpu only")
```
"""


def test_each_device_runs_the_tutorial_with_only_its_own_device(capsys, tmp_path):
    (tmp_path / "probe.md").write_text(DEVICE_PROBE)
    code, out, err = _run(capsys, tmp_path / "probe.md", "--format", "json", "--timeout-s",
                          "120")
    assert code == 0, err
    runs = {r.device: r for r in TutorialResults.from_json(json.loads(out)).runs}
    assert runs["cpu"].blocks[0].verdict == "RUNS AS WRITTEN"
    if not torch.cuda.is_available():
        assert runs["cuda:0"].skipped.startswith("torch sees no CUDA device here")
        pytest.skip("no CUDA device: the cuda:0 run was reported skipped (checked above)")
    assert all(runs[f"cuda:{i}"].passed for i in range(torch.cuda.device_count()))


def test_ctrl_c_kills_the_worker_and_exits_130(tmp_path):
    """The worker is in its own process group, so a terminal's Ctrl-C reaches only the
    command; the command must kill the worker's group on its way out."""
    command = [sys.executable, "-m", "blitzbench", "tutorial",
               str(TUTORIALS / "loops_forever.md"), "--device", "cpu", "--timeout-s", "120"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=tmp_path, preexec_fn=_default_sigint)
    try:
        worker = _wait_for_worker(process.pid)
        time.sleep(0.5)  # in block 2's endless loop by now
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and b"interrupted" in err
    assert not psutil.pid_exists(worker) or \
        psutil.Process(worker).status() == psutil.STATUS_ZOMBIE


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job would inherit "ignore"


def _wait_for_worker(parent: int, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in psutil.Process(parent).children():
            if "blitzbench.tutorial.worker" in " ".join(child.cmdline()):
                return child.pid
        time.sleep(0.05)
    raise AssertionError("the command started no worker")


def test_the_markdown_table_names_each_shim_with_its_release(capsys):
    code, out, _ = _run(capsys, TUTORIALS / "basics.md", "--device", "cpu", "--format",
                        "markdown")
    assert code == 0
    assert "| 4 | 48 | RUNS WITH A SHIM |" in out
    assert "- y.creator -> y.grad_fn: torch 0.2.0 (Aug 2017)" in out


def test_blocks_are_offline_so_a_download_fails_at_once(capsys, tmp_path):
    (tmp_path / "t.md").write_text("```python\nimport urllib.request\n"
                                   "urllib.request.urlopen('https://example.com/data.tar.gz')\n"
                                   "```\n")
    code, _, err = _run(capsys, tmp_path / "t.md", "--device", "cpu", "--timeout-s", "10")
    assert code == 1 and "network disabled for tutorial blocks: looking up 'example.com'" in err


def test_a_worker_that_cannot_start_is_named_so(tmp_path, monkeypatch):
    from blitzbench.tutorial.process import WorkerDied, WorkerProcess

    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(WorkerDied, match="did not start"):
        WorkerProcess(tmp_path, {})


def test_notebook_cells_show_their_last_value_and_magics_are_shimmed(capsys, tmp_path):
    code, _, err = _run(capsys, TUTORIALS / "notebook_basics.ipynb", "--device", "cpu",
                        "--out", tmp_path)
    assert code == 0, err
    assert [v for v, _ in _verdicts(tmp_path)] == [
        "RUNS WITH A SHIM", "RUNS AS WRITTEN", "RUNS AS WRITTEN", "RUNS WITH A SHIM"]
    details = [d for _, d in _verdicts(tmp_path)]
    assert details[0].startswith("with IPython magic -> skipped; output matches")
    assert details[2] == "output matches"  # [2, 4, 6] was displayed, not printed

"""The real TensorBoard, with the PyTorch Profiler plugin, serves a trace blitzbench wrote.

TensorBoard runs as a subprocess on 127.0.0.1 with ``--port 0`` (the OS picks a free
port; TensorBoard prints the address it bound), is polled until the plugin lists the run,
and is stopped by its PID. Skipped when the optional ``tensorboard`` extra is
not installed.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blitzbench.cli import main
from blitzbench.results.reader import read_run

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None
    or importlib.util.find_spec("torch_tb_profiler") is None,
    reason="TensorBoard or torch-tb-profiler not installed: pip install -e '.[tensorboard]'")

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0  # TensorBoard's start, importing TensorFlow-free tensorboard
LOAD_TIMEOUT_S = 90.0  # the plugin parses traces in the background
POLL_S = 0.5
REQUEST_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
PLUGIN = "/data/plugin/pytorch_profiler"
EXPECTED_VIEWS = {"Overview", "Operator", "Trace", "Memory"}
ADDRESS = re.compile(r"TensorBoard \S+ at http://127\.0\.0\.1:(\d+)/")


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`blitzbench profile --device cpu --workload train_step`: the run folder (its traces
    live inside it) and the TensorBoard run name (the trace folder relative to
    <run folder>/profiler)."""
    reports = tmp_path_factory.mktemp("reports")
    assert main(["profile", "--device", "cpu", "--workload", "train_step",
                 "--out", str(reports)]) == 0
    (run,) = (reports / "runs").iterdir()
    (entry,) = read_run(run).results.to_json()["profiles"]
    return run, str(Path(entry["trace_dir"]).relative_to("profiler").as_posix())


@pytest.fixture(scope="module")
def tensorboard(profiled: tuple[Path, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A TensorBoard process on the run folder's profiler folder (the command the report
    prints); yields its base URL."""
    reports, _ = profiled
    log = tmp_path_factory.mktemp("tb") / "tensorboard.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(reports / "profiler"),
             "--host", HOST, "--port", "0"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield f"http://{HOST}:{_wait_for_port(process, log)}"
    finally:
        _stop(process)


def test_plugin_lists_the_run_and_its_views(tensorboard: str,
                                            profiled: tuple[Path, str]) -> None:
    _, run = profiled
    runs = _poll_runs(tensorboard, run)
    assert run in runs
    views = _get_json(f"{tensorboard}{PLUGIN}/views?run={run}")
    assert set(views) >= EXPECTED_VIEWS, views
    (worker,) = _get_json(f"{tensorboard}{PLUGIN}/workers?run={run}&view=Overview")
    spans = _get_json(f"{tensorboard}{PLUGIN}/spans?run={run}&worker={worker}")
    query = f"run={run}&worker={worker}&span={spans[0] if spans else ''}"
    overview = _get_json(f"{tensorboard}{PLUGIN}/overview?{query}")
    steps = overview["steps"]["rows"]
    assert len(steps) == 3, "the three active profiler steps"
    operators = _get_json(f"{tensorboard}{PLUGIN}/operation?{query}&group_by=Operation")
    names = {row[0] for row in operators["host_self_time"]["rows"]}
    assert any(name.startswith("aten::") for name in names)
    trace = _get_json(f"{tensorboard}{PLUGIN}/trace?{query}")
    assert any(str(e.get("name", "")).startswith("ProfilerStep#")
               for e in trace["traceEvents"])
    memory = _get_json(f"{tensorboard}{PLUGIN}/memory?{query}")
    assert memory, "memory view is empty"


def test_traces_are_chrome_trace_json(profiled: tuple[Path, str]) -> None:
    """Perfetto and chrome://tracing read this format: an object with traceEvents."""
    reports, run = profiled
    (trace,) = (reports / "profiler" / run).glob("*.pt.trace.json")
    with open(trace, encoding="utf-8") as handle:
        data = json.load(handle)
    assert isinstance(data["traceEvents"], list) and data["traceEvents"]
    assert all("ph" in e and "name" in e for e in data["traceEvents"])


def _wait_for_port(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = ADDRESS.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            pytest.fail(f"TensorBoard exited with {process.returncode}: {_tail(log)}")
        time.sleep(POLL_S)
    pytest.fail(f"TensorBoard printed no address within {START_TIMEOUT_S} s: {_tail(log)}")


def _poll_runs(base: str, run: str) -> list[str]:
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    runs: list[str] = []
    while time.monotonic() < deadline:
        answer = _get_json(f"{base}{PLUGIN}/runs")
        runs = answer.get("runs", []) if isinstance(answer, dict) else answer
        if run in runs:
            return runs
        time.sleep(POLL_S)
    pytest.fail(f"the plugin did not list {run} within {LOAD_TIMEOUT_S} s (it lists {runs})")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip" or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
    return json.loads(body)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-1500:]

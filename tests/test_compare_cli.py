"""`blitzbench compare RUN_A RUN_B`: a verdict per case, exit 1 when one is SLOWER.

Every figure here is made up in the test."""

from __future__ import annotations

import json
from pathlib import Path

from blitzbench.cli import main
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import FORMAT_VERSION, Measurement

SPREAD = (0.98, 0.99, 1.0, 1.0, 1.01, 1.02) * 5
ENV = {"host": "h", "torch": "2.x", "cpu": "Xeon", "cpu_count": 2, "gpus": []}


def run_folder(root: Path, name: str, step_s: float, add_s: float = 1e-3) -> Path:
    records = [Measurement("lenet.train_step", "cpu", {"batch_size": 64, "variant": "eager"},
                           tuple(step_s * k for k in SPREAD)),
               Measurement("tensor_ops.add_out", "cpu", {"scale": "memory"},
                           tuple(add_s * k for k in SPREAD))]
    folder = root / name
    folder.mkdir()
    (folder / RESULTS_FILE).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "environment": ENV,
        "benchmarks": [m.to_json() for m in records]}))
    return folder


def test_a_slower_case_is_named_and_exits_1(tmp_path, capsys):
    a, b = run_folder(tmp_path, "a", 0.010), run_folder(tmp_path, "b", 0.0125)
    assert main(["compare", str(a), str(b), "--format", "json"]) == 1
    figures = {f["benchmark"]: f for f in json.loads(capsys.readouterr().out)["figures"]}
    assert figures["lenet.train_step"]["verdict"] == "SLOWER"
    assert figures["lenet.train_step"]["ratio"] == 1.25
    assert figures["tensor_ops.add_out"]["verdict"] == "SAME"


def test_the_same_runs_exit_0_with_counts_first(tmp_path, capsys):
    a, b = run_folder(tmp_path, "a", 0.010), run_folder(tmp_path, "b", 0.0101)
    assert main(["compare", str(a), str(b)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("compare: 0 FASTER, 0 SLOWER, 2 SAME, 0 NOISY of 2 figures")


def test_a_threshold_outside_0_to_100_is_a_usage_error(tmp_path, capsys):
    a = run_folder(tmp_path, "a", 0.010)
    assert main(["compare", str(a), str(a), "--threshold", "150"]) == 2
    assert "between 0 and 100" in capsys.readouterr().err


def test_two_job_folders_are_compared_rank_by_rank(tmp_path, capsys):
    """Ranks of a torchrun job share a device label: rank 1's figure is set against rank 1's,
    never against rank 0's (that pairing once made a job folder differ from itself)."""
    from blitzbench.results.records import Placement

    def job(name: str, rank_1_s: float) -> Path:
        records = [Measurement("lenet.train_step", "cpu", {"batch_size": 64},
                               tuple(s * k for k in SPREAD),
                               placement=Placement("vm", rank, rank, 0))
                   for rank, s in ((0, 0.010), (1, rank_1_s))]
        folder = tmp_path / name
        folder.mkdir()
        (folder / RESULTS_FILE).write_text(json.dumps({
            "format_version": FORMAT_VERSION, "environment": ENV,
            "benchmarks": [m.to_json() for m in records]}))
        return folder

    assert main(["compare", str(job("a", 0.020)), str(job("b", 0.020)), "--format",
                 "json"]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    assert [(f["rank"], f["verdict"], f["ratio"]) for f in figures] == \
        [(0, "SAME", 1.0), (1, "SAME", 1.0)]

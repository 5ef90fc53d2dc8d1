"""`blitzbench fleet`: two nodes against each other, three or more against the median of
their peers, or every node against a baseline; what cannot be judged is never a pass.

Every figure here is made up in the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blitzbench.acceptance.fleet import Finding, judge_fleet, load_fleet
from blitzbench.cli import main
from blitzbench.errors import EXIT_NOT_JUDGED
from blitzbench.results.compare import FLEET_THRESHOLD
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import FORMAT_VERSION, Measurement

GPU = "NVIDIA H200"
STEP = "lenet.train_step[batch_size=64,variant=eager].images_per_s"
BANDWIDTH = "tensor_ops.add_out[scale=memory,size=2^28].gb_per_s"
SPREAD = (0.98, 0.99, 1.0, 1.0, 1.01, 1.02) * 5  # 30 rounds, IQR about 2% of the median


def node_run(root: Path, host: str, images_per_s: float, gb_per_s: float = 4290.0,
             gpu: str = GPU, folder_name: str | None = None) -> Path:
    """A run folder as `blitzbench accept` writes it, with figures chosen by the test."""
    step_s = 64 / images_per_s
    step = Measurement("lenet.train_step", "cuda:0", {"batch_size": 64, "variant": "eager"},
                       tuple(step_s * k for k in SPREAD), {"images_per_s": images_per_s})
    add_s = 3.2e9 / gb_per_s / 1e9
    add = Measurement("tensor_ops.add_out", "cuda:0", {"scale": "memory", "size": "2^28"},
                      tuple(add_s * k for k in SPREAD), {"gb_per_s": gb_per_s})
    env = {"host": host, "torch": "2.11.0", "cpu": "Xeon", "cpu_count": 16,
           "gpus": [{"index": 0, "name": gpu}]}
    folder = root / (folder_name or host)
    folder.mkdir(parents=True)
    (folder / RESULTS_FILE).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "command": "accept", "environment": env,
        "benchmarks": [step.to_json(), add.to_json()], "claims": []}))
    return folder


def test_a_node_15_percent_below_its_peers_is_an_outlier(tmp_path, capsys):
    low = 1000.0 * (1 - FLEET_THRESHOLD) - 10  # just over 15% below
    runs = [node_run(tmp_path, f"node{i}", 1000.0 + i) for i in range(3)]
    runs.append(node_run(tmp_path, "node-slow", low))
    assert main(["fleet", *map(str, runs)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("fleet: NOT UNIFORM") and "OUTLIER" in out and "node-slow" in out
    verdict = judge_fleet(load_fleet(runs))
    flagged = [(c.node, c.metric) for c in verdict.findings]
    assert flagged == [("node-slow", STEP)], "bandwidth is equal on every node"


def test_no_outlier_within_15_percent_is_uniform(tmp_path, capsys):
    runs = [node_run(tmp_path, f"node{i}", 1000.0 - 40 * i) for i in range(4)]
    assert main(["fleet", *map(str, runs), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["uniform"] is True and payload["verdict"].startswith("UNIFORM: 2 metrics "
                                                                         "on 4 nodes")
    assert payload["nodes"] == ["node0", "node1", "node2", "node3"]
    assert not any(cell["finding"] for cell in payload["cells"])
    assert {cell["metric"] for cell in payload["cells"]} == {STEP, BANDWIDTH}


def test_two_nodes_43_percent_apart_diverge_and_exit_1(tmp_path, capsys):
    runs = [node_run(tmp_path, "a", 1000.0), node_run(tmp_path, "b", 1000.0 / 1.43)]
    assert main(["fleet", *map(str, runs)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("fleet: NOT UNIFORM: 1 figure(s) DIVERGENT among 2 metrics on "
                            "2 nodes")
    verdict = judge_fleet(load_fleet(runs))
    assert {(c.node, c.metric) for c in verdict.findings} == {("a", STEP), ("b", STEP)}
    assert all("b against a" in c.evidence for c in verdict.findings)


def test_two_identical_nodes_are_uniform(tmp_path):
    runs = [node_run(tmp_path, "a", 1000.0), node_run(tmp_path, "b", 1001.0)]
    assert main(["fleet", *map(str, runs)]) == 0


def test_figures_without_enough_peers_are_named_and_not_passed(tmp_path, capsys):
    """Not judged is neither a pass (0) nor a finding (1): exit 8, as in compare and ab."""
    runs = [node_run(tmp_path, f"h{i}", 1000.0) for i in range(3)]
    runs.append(node_run(tmp_path, "other", 1000.0, gpu="NVIDIA A100"))
    assert main(["fleet", *map(str, runs)]) == EXIT_NOT_JUDGED
    out = capsys.readouterr().out.splitlines()
    assert "NOT JUDGED: 2 figure(s)" in out[0] and "NVIDIA A100" in out[0]
    assert "not all judged" in out[0]
    listed = [line for line in out[1:] if line.startswith("NOT JUDGED")]
    assert len(listed) == 2 and all("on other (NVIDIA A100)" in line for line in listed)


def test_two_identical_copies_of_a_noisy_run_are_not_judged_not_failed(tmp_path, capsys):
    """The issue's case: a run against a copy of itself has no finding; rounds too spread
    to tell 15% make it inconclusive (8), where it used to exit 1 like a DIVERGENT node."""
    first = node_run(tmp_path, "n1", 1000.0)
    data = json.loads((first / RESULTS_FILE).read_text())
    for record in data["benchmarks"]:
        median = sorted(record["times_s"])[len(record["times_s"]) // 2]
        record["times_s"] = [median * k for k in (0.4, 0.7, 1.0, 1.6, 2.5) * 2]
    (first / RESULTS_FILE).write_text(json.dumps(data))
    copy = tmp_path / "n2"
    copy.mkdir()
    data["environment"]["host"] = "n2"
    (copy / RESULTS_FILE).write_text(json.dumps(data))
    assert main(["fleet", str(first), str(copy)]) == EXIT_NOT_JUDGED
    assert capsys.readouterr().out.startswith("fleet: NO FINDING")


def test_a_finding_exits_1_even_beside_figures_not_judged(tmp_path):
    runs = [node_run(tmp_path, f"h{i}", 1000.0) for i in range(3)]
    runs += [node_run(tmp_path, "slow", 600.0), node_run(tmp_path, "other", 1000.0,
                                                         gpu="NVIDIA A100")]
    assert main(["fleet", *map(str, runs)]) == 1


def test_every_node_against_a_baseline(tmp_path, capsys):
    base = node_run(tmp_path, "base", 1000.0)
    runs = [node_run(tmp_path, "fast", 1010.0), node_run(tmp_path, "slow", 700.0)]
    assert main(["fleet", *map(str, runs), "--baseline", str(base)]) == 1
    verdict = judge_fleet(load_fleet(runs), load_fleet([base, base])[0])
    assert [(c.node, c.finding) for c in verdict.findings] == [("slow", Finding.SLOWER)]


def test_same_host_twice_is_named_by_run_folder(tmp_path):
    first = node_run(tmp_path, "gpu01", 1000.0, folder_name="run-1")
    second = node_run(tmp_path, "gpu01", 1000.0, folder_name="run-2")
    assert [r.node for r in load_fleet([first, second])] == ["run-1", "run-2"]


def test_json_into_a_closed_pipe_ends_without_a_traceback(tmp_path):
    runs = [node_run(tmp_path, f"n{i}", 1000.0) for i in range(3)]
    done = subprocess.run(f"{sys.executable} -m blitzbench fleet --format json --all "
                          f"{' '.join(map(str, runs))} | head -n 1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "{" and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize(("runs", "expected"), [
    (["one"], "at least two run folders"),
    (["one", "missing"], "does not exist"),
])
def test_bad_fleet_input_is_one_line_and_exit_2(tmp_path, capsys, runs, expected):
    node_run(tmp_path, "one", 1000.0)
    code = main(["fleet", *(str(tmp_path / r) for r in runs)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and "\n" not in err

"""`blitzbench fleet`: a node 15% below its identical peers is flagged, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blitzbench.acceptance.fleet import (
    FLEET_OUTLIER_FRACTION,
    compare_fleet,
    load_fleet,
)
from blitzbench.cli import main
from blitzbench.runs import FORMAT_VERSION, RESULTS_FILE
from blitzbench.timing.measurement import Measurement

GPU = "NVIDIA H200"
STEP = "lenet.train_step[batch_size=64,variant=eager].images_per_s"
BANDWIDTH = "tensor_ops.add_out[scale=memory,size=2^28].gb_per_s"


def node_run(root: Path, host: str, images_per_s: float, gb_per_s: float = 4290.0) -> Path:
    """A run folder as `blitzbench accept` writes it, with figures chosen by the test."""
    step = Measurement("lenet.train_step", "cuda:0", {"batch_size": 64, "variant": "eager"},
                       (64 / images_per_s,) * 5, {"images_per_s": images_per_s})
    add = Measurement("tensor_ops.add_out", "cuda:0", {"scale": "memory", "size": "2^28"},
                      (3.2e9 / gb_per_s / 1e9,) * 5, {"gb_per_s": gb_per_s,
                                                      "calls_per_round": 3})
    env = {"host": host, "torch": "2.11.0", "cpu": "Xeon", "cpu_count": 16,
           "gpus": [{"index": 0, "name": GPU}]}
    folder = root / host
    folder.mkdir(parents=True)
    (folder / RESULTS_FILE).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "command": "accept", "environment": env,
        "benchmarks": [step.to_json(), add.to_json()], "claims": []}))
    return folder


def test_a_node_15_percent_below_its_peers_is_an_outlier(tmp_path, capsys):
    low = 1000.0 * (1 - FLEET_OUTLIER_FRACTION) - 10  # just over 15% below
    runs = [node_run(tmp_path, f"node{i}", 1000.0 + i) for i in range(3)]
    runs.append(node_run(tmp_path, "node-slow", low))
    assert main(["fleet", *map(str, runs)]) == 1
    out = capsys.readouterr().out
    assert "OUTLIER" in out and "node-slow" in out
    cells = compare_fleet(load_fleet(runs))
    flagged = [(c.node, c.metric) for c in cells if c.outlier]
    assert flagged == [("node-slow", STEP)], "bandwidth is equal on every node"


def test_no_outlier_within_15_percent(tmp_path, capsys):
    runs = [node_run(tmp_path, f"node{i}", 1000.0 - 40 * i) for i in range(4)]
    assert main(["fleet", *map(str, runs), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["nodes"] == ["node0", "node1", "node2", "node3"]
    assert not any(cell["outlier"] for cell in payload["cells"])
    assert {cell["metric"] for cell in payload["cells"]} == {STEP, BANDWIDTH}


def test_two_nodes_cannot_name_an_outlier(tmp_path, capsys):
    runs = [node_run(tmp_path, "a", 1000.0), node_run(tmp_path, "b", 500.0)]
    assert main(["fleet", *map(str, runs)]) == 0
    assert "fewer than 3 peers" in capsys.readouterr().out


def test_same_host_twice_gets_distinct_node_names(tmp_path):
    first = node_run(tmp_path / "1", "gpu01", 1000.0)
    second = node_run(tmp_path / "2", "gpu01", 1000.0)
    assert [r.node for r in load_fleet([first, second])] == ["gpu01", "gpu01#2"]


@pytest.mark.parametrize(("runs", "expected"), [
    (["one"], "at least two run folders"),
    (["one", "missing"], "does not exist"),
])
def test_bad_fleet_input_is_one_line_and_exit_2(tmp_path, capsys, runs, expected):
    node_run(tmp_path, "one", 1000.0)
    code = main(["fleet", *(str(tmp_path / r) for r in runs)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and "\n" not in err

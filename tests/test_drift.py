"""``blitzbench drift RUN...``: release run folders (written here, as the tox release
environments would) merged into release x claim and release x block, releases in version
order, each change between consecutive releases marked; bad folders one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_imports import HEAVY, _modules_after

from blitzbench.cli import main
from blitzbench.results.drift import drift_table, read_release_run
from blitzbench.results.records import ClaimCell
from blitzbench.results.tutorial import BlockVerdict, TutorialResults, TutorialRun


def _claim(claim: str, verdict: str) -> dict:
    return ClaimCell(claim=claim, device="cpu", verdict=verdict, expected="HOLDS",
                     passed=verdict == "HOLDS", summary="evidence").to_json()


def _write_run(folder: Path, torch: str, claim_verdict: str, block_verdict: str) -> Path:
    folder.mkdir(parents=True)
    claims = {"data_source": "synthetic", "claims": [_claim("autograd.backward", "HOLDS"),
                                                     _claim("data.loader", claim_verdict)]}
    (folder / "claims.json").write_text(json.dumps(claims))
    shims = ("y.creator -> y.grad_fn",) if block_verdict == "RUNS WITH A SHIM" else ()
    blocks = (BlockVerdict(1, 28, "RUNS AS WRITTEN"),
              BlockVerdict(2, 174, block_verdict, shims=shims))
    results = TutorialResults((TutorialRun("/x/post.txt", "markdown", "cpu", blocks),
                               TutorialRun("/x/post.txt", "markdown", "cuda:0",
                                           skipped="torch sees no CUDA device here")),
                              torch=torch, torchvision="0.x")
    (folder / "tutorial.json").write_text(json.dumps(results.to_json()))
    return folder


@pytest.fixture
def releases(tmp_path) -> list[Path]:
    return [_write_run(tmp_path / "a", "2.11.0", "FAILS", "RUNS WITH A SHIM"),
            _write_run(tmp_path / "b", "2.9.1", "HOLDS", "RUNS AS WRITTEN"),
            _write_run(tmp_path / "c", "2.10.0+cpu", "FAILS", "RUNS AS WRITTEN")]


def test_releases_in_version_order_and_changes_marked(releases):
    table = drift_table([read_release_run(f) for f in releases])
    assert [r.split(" / ")[0] for r in table.releases] == [
        "torch 2.9.1", "torch 2.10.0+cpu", "torch 2.11.0"]
    assert table.rows[:2] == ("claim autograd.backward [cpu]", "claim data.loader [cpu]")
    assert table.changes == [
        "claim data.loader [cpu]: HOLDS -> FAILS at torch 2.10.0+cpu / torchvision 0.x",
        "post.txt block 2 (line 174) [cpu]: RUNS AS WRITTEN -> RUNS WITH A SHIM at "
        "torch 2.11.0 / torchvision 0.x"]


def test_the_markdown_table(capsys, releases):
    assert main(["drift", *map(str, releases), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| row | torch 2.9.1 / torchvision 0.x | torch 2.10.0+cpu" in out
    assert "| claim data.loader [cpu] | HOLDS | **FAILS** (was HOLDS) | FAILS |" in out
    assert "2 verdict change(s) between consecutive releases" in out
    assert "| post.txt (every block) [cuda:0] | SKIPPED | SKIPPED | SKIPPED |" in out


def test_the_terminal_table(capsys, releases):
    assert main(["drift", *map(str, releases)]) == 0
    assert "HOLDS -> FAILS at torch 2.10.0+cpu" in capsys.readouterr().out


@pytest.mark.parametrize("defect, message", [
    ("missing folder", "does not exist"),
    ("no claims", "has no claims.json"),
    ("bad json", "tutorial.json is not valid JSON"),
    ("bad field", "tutorial.json.runs[0].blocks[0].verdict must be one of"),
    ("not claims", "holds no claims"),
    ("same release", "two run folders are for torch 2.9.1"),
])
def test_bad_run_folders_are_one_line_exit_2(capsys, tmp_path, releases, defect, message):
    bad = tmp_path / "bad"
    if defect != "missing folder":
        _write_run(bad, "2.9.1" if defect == "same release" else "2.12.0", "HOLDS",
                   "RUNS AS WRITTEN")
    if defect == "no claims":
        (bad / "claims.json").unlink()
    elif defect == "bad json":
        (bad / "tutorial.json").write_text("{")
    elif defect == "bad field":
        text = (bad / "tutorial.json").read_text().replace("RUNS AS WRITTEN", "PASSES", 1)
        (bad / "tutorial.json").write_text(text)
    elif defect == "not claims":
        (bad / "claims.json").write_text('{"claims": []}')
    assert main(["drift", *map(str, releases), str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_drift_loads_no_torch(releases):
    loaded = _modules_after("from blitzbench.cli import main\n"
                            f"assert main(['drift', *{[str(r) for r in releases]!r}]) == 0")
    assert not set(HEAVY) & set(loaded)

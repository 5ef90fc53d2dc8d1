"""The tutorial run's records: JSON round trip, and a handed-over tutorial.json checked
field by field (one UsageError line naming the field), a newer format refused."""

from __future__ import annotations

import pytest

from blitzbench.errors import ResultsFormatError, UsageError
from blitzbench.results.tutorial import (
    BlockVerdict,
    TutorialResults,
    TutorialRun,
    verdict_counts,
)

BLOCKS = (BlockVerdict(1, 28, "RUNS AS WRITTEN", seconds=2.5, spent_seconds=3.0),
          BlockVerdict(2, 67, "RUNS WITH A SHIM", "with y.creator -> y.grad_fn",
                       ("y.creator -> y.grad_fn",)),
          BlockVerdict(3, 85, "FAILS", "timed out after 1 s", failure="timeout"),
          BlockVerdict(4, 90, "NOT RUN", "not run: block 3 failed before it"))
RESULTS = TutorialResults((TutorialRun("post.md", "markdown", "cpu", BLOCKS, seconds=4.0),
                           TutorialRun("post.md", "markdown", "cuda:0",
                                       skipped="torch sees no CUDA device here")),
                          torch="2.14.1", torchvision="0.29.1", timeout_s=300.0)


def test_round_trip():
    assert TutorialResults.from_json(RESULTS.to_json()) == RESULTS
    assert RESULTS.runs[0].first_failure == BLOCKS[2]
    assert not RESULTS.runs[0].passed and not RESULTS.runs[1].passed  # skipped is no pass
    assert dict(verdict_counts(BLOCKS)) == {"RUNS AS WRITTEN": 1, "RUNS WITH A SHIM": 1,
                                            "FAILS": 1, "NOT RUN": 1}


def _edited(path: tuple, value) -> dict:
    payload = RESULTS.to_json()
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


@pytest.mark.parametrize("path, value, message", [
    (("runs", 0, "blocks", 0, "verdict"), "PASSES", "runs[0].blocks[0].verdict must be one"),
    (("runs", 0, "blocks", 2, "failure"), "", "runs[0].blocks[2].failure must name why"),
    (("runs", 0, "blocks", 0, "failure"), "crash", "must name why exactly when"),
    (("runs", 0, "blocks", 1, "index"), 5, "runs[0].blocks must be numbered"),
    (("runs", 0, "blocks", 0, "seconds"), -1, "runs[0].blocks[0].seconds = -1 is out of"),
    (("runs", 0, "blocks", 0, "shims"), "x", "runs[0].blocks[0].shims must be a list"),
    (("runs", 0, "format"), "pdf", "runs[0].format must be one of"),
    (("torch",), None, "tutorial.json.torch must be a non-empty string"),
    (("surprise",), 1, "has an unknown key 'surprise'"),
])
def test_defects_are_one_line_naming_the_field(path, value, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(")):
        TutorialResults.from_json(_edited(path, value))


def test_a_newer_format_is_refused():
    with pytest.raises(ResultsFormatError, match="format 99, newer"):
        TutorialResults.from_json(_edited(("format_version",), 99))


def test_a_device_skipped_for_want_of_a_tutorial_has_no_path_and_reads_back():
    """accept with no tutorial found records each device skipped with an empty path; the
    report must read that back (a fresh clone without the shared post beside it)."""
    skipped = TutorialResults((TutorialRun("", "markdown", "cpu", skipped="no tutorial found"),),
                              torch="2.14.1", torchvision="0.29.1")
    assert TutorialResults.from_json(skipped.to_json()) == skipped
    ran = _edited(("runs", 0, "path"), "")
    with pytest.raises(UsageError, match=r"runs\[0\]\.path"):
        TutorialResults.from_json(ran)

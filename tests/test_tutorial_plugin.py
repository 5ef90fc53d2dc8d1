"""``pytest --blitz-tutorial PATH`` end to end, driven by pytester as pytest-benchmark
tests its own plugin (in process: a subprocess would import torch again for each run, ~15 s
on a small machine; the blocks still run in their own workers): one item per block and
device, verdicts as outcomes, NOT RUN skipped with its reason (never passed), CUDA skipped
with its reason, a path that is not a tutorial a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

# In-process pytester drops the modules a run imported; torch cannot be imported twice in
# one process, so what the plugin loads is imported here first and kept.
import blitzbench.tutorial.plan
import blitzbench.tutorial.verdicts

pytest_plugins = ["pytester"]

TUTORIALS = Path(__file__).parent / "tutorials"


def test_one_item_per_block_and_device(pytester: pytest.Pytester):
    result = pytester.runpytest("--blitz-tutorial", str(TUTORIALS / "basics.md"),
                                           "--device", "cpu", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*basics.md::block-1-line-6?cpu? PASSED*",
                                 "*basics.md::block-4-line-48?cpu? PASSED*",
                                 "*blitzbench tutorial: block verdicts*",
                                 "block 4 (line 48) ?cpu?: RUNS WITH A SHIM: with y.creator "
                                 "-> y.grad_fn; output matches"])


def test_a_failing_block_fails_and_the_rest_are_not_run(pytester: pytest.Pytester):
    result = pytester.runpytest(
        "--blitz-tutorial", str(TUTORIALS / "loops_forever.md"), "--device", "cpu",
        "--blitz-tutorial-timeout", "1", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*block 2 (line 6) on cpu: FAILS: timed out after 1 s*",
                                 "*NOT RUN: not run: block 2 failed before it*"])


def test_cuda_items_skip_with_the_reason_when_torch_sees_none(pytester: pytest.Pytester):
    if blitzbench.tutorial.plan.cuda_available():
        pytest.skip("this machine has CUDA: its items run (the execute tests cover them)")
    result = pytester.runpytest("--blitz-tutorial",
                                           str(TUTORIALS / "notebook_basics.ipynb"), "-rs",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, skipped=4)
    result.stdout.fnmatch_lines(["*cuda:0: torch sees no CUDA device here*"])


def test_a_gallery_script_is_read_as_a_tutorial_not_imported(pytester: pytest.Pytester,
                                                             tmp_path):
    script = tmp_path / "plot_marker.py"
    script.write_text("# %%\n# text\n\nprint(6 * 7)\n\n# Out:\n#   42\n")
    result = pytester.runpytest("--blitz-tutorial", str(script), "--device", "cpu",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_path_that_is_not_a_tutorial_is_a_usage_error(pytester: pytest.Pytester):
    result = pytester.runpytest("--blitz-tutorial", str(TUTORIALS / "no_code.md"),
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*holds no code block*"])
    assert "Traceback" not in result.stderr.str()

"""The terminal side of issue 12: the claims rows' expected verdict, one colour code for
terminal and page, and ``accept --list-metrics`` with units, meanings and wildcards.

Claim cells here are made up in the test."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest
from rich.console import Console

from blitzbench.acceptance.metrics import metric_listing
from blitzbench.acceptance.spec import metric_pattern
from blitzbench.report.html import STYLE
from blitzbench.report.terminal import print_claim_matrix
from blitzbench.report.tones import COMPARE_TONES, STATUS_TONES, TONE_STYLES, VERDICT_TONES
from blitzbench.results.compare import Verdict
from blitzbench.results.records import CLAIM_VERDICTS, FINDING_STATUSES, ClaimCell

#: rich's ANSI colour for each style word the tones use, and the hue the page draws the
#: same tone in (html.py's style sheet), checked to be the same colour family
HUES = {"green": "#1a7f37", "bold red": "#cf222e", "yellow": "#9a6700", "blue": "#0550ae",
        "dim": "#6e7781"}


def _cell(claim: str, verdict: str, expected: str) -> ClaimCell:
    return ClaimCell(claim, "cpu", verdict, expected, verdict == expected, "evidence (fake)")


def test_the_claims_rows_are_status_first_and_name_the_expected_verdict() -> None:
    cells = [_cell("numpy_bridge.from_numpy_shares_memory", "HOLDS", "HOLDS"),
             _cell("autograd.variable", "FAILS", "OUTDATED")]
    narrow = io.StringIO()
    print_claim_matrix(cells, "synthetic", Console(file=narrow, width=70, color_system=None))
    lines = narrow.getvalue().splitlines()
    assert any(line.startswith("HOLDS") and "numpy_bridge.from_numpy_shares_memory on cpu"
               in line for line in lines)  # the id whole, beside its verdict
    failed = next(line for line in lines if "autograd.variable" in line)
    assert failed.startswith("FAILS") and failed.endswith("(expected OUTDATED)")
    assert lines[-1] == "2 cells, 1 not as expected"


def test_terminal_and_page_colour_each_verdict_alike() -> None:
    """Issue 12: CONDITIONAL was yellow in the terminal and blue on the page."""
    for tones in (VERDICT_TONES, STATUS_TONES, COMPARE_TONES):
        for word, tone in tones.items():
            style = TONE_STYLES[tone]
            if tone:
                assert f".{tone} {{ color: {HUES[style]}" in STYLE, (word, tone)
    assert VERDICT_TONES["CONDITIONAL"] == VERDICT_TONES["OUTDATED"] == "info"
    assert set(VERDICT_TONES) == set(CLAIM_VERDICTS) and set(STATUS_TONES) >= set(
        FINDING_STATUSES)
    assert set(COMPARE_TONES) == {v.value for v in Verdict}
    assert COMPARE_TONES["SLOWER"] == STATUS_TONES["FAIL"] == VERDICT_TONES["FAILS"] == "bad"


def test_list_metrics_names_units_meanings_and_wildcards() -> None:
    """Issue 12: --list-metrics printed 302 bare names."""
    names = ["claims.all_as_expected", "claims.autograd.variable",
             "lenet.train_step[batch_size=4,variant=eager].images_per_s",
             "lenet.train_step[batch_size=64,variant=eager].images_per_s",
             "lenet.train_step[batch_size=4,variant=eager].median_s",
             "lenet.cuda_crossover_batch_size"]
    lines = metric_listing(names)
    assert "wildcard" in lines[0]
    groups = [line for line in lines[1:] if not line.startswith(" ")]
    members = {line.strip() for line in lines[1:] if line.startswith(" ")}
    assert "lenet.train_step[*].images_per_s  [images/s]  images per second (2 names)" in groups
    assert "lenet.train_step[*].median_s  [s]  median time per call (1 name)" in groups
    assert any(g.startswith("lenet.cuda_crossover_batch_size  [batch size]") for g in groups)
    assert all("[no unit]" not in g for g in groups)
    for name in names:  # every name is listed, under a pattern that matches it
        pattern = next(g.split("  ")[0] for g in groups
                       if metric_pattern(g.split("  ")[0]).match(name))
        assert name == pattern or name in members


def test_native_profiler_noise_is_dropped_and_real_lines_kept(
        capfd: pytest.CaptureFixture[str]) -> None:
    """Issue 12: Kineto's USDT lines and c10's allocator note printed mid-output."""
    from blitzbench.profiling.quiet import native_noise_dropped

    with native_noise_dropped():
        for line in ("USDT:2026-12-03 08:47:08 1:1 SyncActivityProfilerHandler.cpp:46] "
                     "profiler_stop",
                     "[W1203 08:47:08.779 CPUAllocator.cpp:245] Memory block of unknown size "
                     "was allocated before the profiling started, profiler results will not "
                     "include the deallocation event",
                     "a real error the user must see"):
            os.write(2, (line + "\n").encode())
    out, err = capfd.readouterr()
    assert err.strip() == "a real error the user must see" and out == ""


SPARSE_PROBE = """
import json, warnings, torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    t = torch.sparse_coo_tensor(torch.tensor([[0, 1], [1, 0]]), torch.tensor([1.0, 2.0]), (2, 2))
    t.sparse_resize_((3, 3), 2, 0)
print(json.dumps([str(w.message) for w in caught if issubclass(w.category, UserWarning)]))
"""


def test_the_sparse_warning_filter_matches_what_torch_says() -> None:
    """In a fresh interpreter: torch warns once per process, so a test run that built a
    sparse tensor before would see nothing."""
    from blitzbench.commands.accept import SPARSE_WARNING

    done = subprocess.run([sys.executable, "-c", SPARSE_PROBE], capture_output=True,
                          text=True, timeout=120, check=True)
    said = json.loads(done.stdout)
    assert said and all(re.search(SPARSE_WARNING, text) for text in said), said

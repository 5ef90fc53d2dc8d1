"""The machinery of claims judged as properties: the input-space record and its coverage
line, the ERROR verdict (the judge broke: never a pass, never FAILS), where an exception
arises, and Hypothesis runs that are reproducible and report the shrunk smallest input."""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from blitzbench.claims.faults import JudgeError, observe, raised_by_library
from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import DEPTH_ENV, _ctrl_c_kept, budget, run_property
from blitzbench.claims.runner import MatrixCell, escaped, evaluate
from blitzbench.errors import UsageError
from blitzbench.results.records import ClaimCell

ADD_SPACE = InputSpace("add_ in place", operands=("tensor", "scalar"),
                       layouts=("contiguous", "transposed", "sliced", "stepped"),
                       dtypes=("float32", "float64", "float16", "bfloat16", "int64", "int32"),
                       examples=40)


def _claim(judge, inputs: InputSpace | None = ADD_SPACE) -> Claim:
    return Claim("test.claim", "test", "a statement", "nowhere", Verdict.HOLDS, judge,
                 inputs=inputs)


def test_coverage_line_names_every_dimension():
    assert ADD_SPACE.coverage(240) == ("add_ in place: 240 inputs over 6 dtypes, 4 layouts, "
                                       "tensor and scalar operands")
    data = InputSpace("loader", epochs=(0, 1), workers=(0, 2), seeds=(0,), ranks=(0, 4),
                      facets=(("batch sizes", (1, 4)),), examples=8)
    assert data.coverage() == ("loader: up to 8 inputs over 2 epochs, 0, ranks 0-4, "
                               "workers 0, 2, batch sizes 1, 4")


def test_error_is_never_passed_and_round_trips():
    cell = MatrixCell(_claim(lambda ctx: Outcome(Verdict.ERROR, "broke")), "cpu",
                      Outcome(Verdict.ERROR, "broke", inputs_tried=3))
    assert not cell.passed
    record = cell.record()
    assert record.coverage.startswith("add_ in place: 3 inputs")
    assert ClaimCell.from_json(record.to_json()) == record
    with pytest.raises(UsageError, match="never passed"):
        ClaimCell.from_json({**record.to_json(), "passed": True})


def _judge_bug(ctx: ClaimContext) -> Outcome:
    return {"a": 1}["b"]  # the judge's own KeyError


def test_judge_bug_is_error_not_fails(tmp_path):
    outcome = evaluate(_claim(_judge_bug), torch.device("cpu"), None)  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.ERROR
    assert "claims_properties" in outcome.evidence["raised_at"]


def test_library_exceptions_and_removed_apis_are_fails():
    try:
        torch.zeros(2).creator  # noqa: B018 - an API PyTorch removed
    except AttributeError as exc:
        assert raised_by_library(exc)
        assert escaped(exc).verdict is Verdict.FAILS
    try:
        torch.nn.functional.conv2d(torch.zeros(1), torch.zeros(1))
    except RuntimeError as exc:
        assert escaped(exc).verdict in (Verdict.FAILS, Verdict.ERROR)
    assert observe(torch.zeros(2).view, 3).raised is not None
    assert escaped(ConnectionResetError("worker killed")).verdict is Verdict.ERROR


def _lt_100(value: int) -> str | None:
    return None if value < 100 else f"{value} >= 100"


def test_property_reports_the_shrunk_smallest_input():
    run = run_property(st.integers(0, 10_000), _lt_100, 50)
    assert not run.held and run.counterexample == "100" and run.problem == "100 >= 100"
    again = run_property(st.integers(0, 10_000), _lt_100, 50)
    assert again == run  # one seed, no database: reproduced input for input


def test_property_that_holds_counts_its_inputs():
    run = run_property(st.integers(0, 99), _lt_100, 30)
    assert run.held and 1 <= run.tried <= 30


def _reshape_to_7(n: int) -> str | None:
    seen = observe(np.zeros(n).reshape, 7)  # numpy's C code raises into this frame
    return seen.text if seen.raised is not None else None


def _close_to_zero(n: int) -> str | None:
    torch.testing.assert_close(torch.tensor(float(n)), torch.tensor(0.0))  # raises in torch
    return None


def test_library_exception_in_a_check_is_a_contradiction():
    run = run_property(st.integers(1, 5), _reshape_to_7, 10)
    assert not run.held and run.counterexample == "1" and "ValueError" in run.problem
    run = run_property(st.integers(0, 5), _close_to_zero, 10)
    assert run.counterexample == "1" and "AssertionError" in run.problem


def test_judge_bug_in_a_check_is_a_judge_error_with_the_input():
    with pytest.raises(JudgeError) as caught:
        run_property(st.integers(0, 50), lambda n: [][n] if n > 3 else None, 30)
    assert caught.value.example == "4"
    assert escaped(caught.value).verdict is Verdict.ERROR


def test_depth_multiplies_the_budget(monkeypatch):
    monkeypatch.setenv(DEPTH_ENV, "full")
    assert budget(20) == 200
    monkeypatch.setenv(DEPTH_ENV, "deepest")
    with pytest.raises(UsageError, match="BLITZBENCH_DEPTH"):
        budget(20)


# --- the laws: goodness-of-fit tests that can fail -------------------------------------

def test_critical_values_follow_their_closed_forms():
    from blitzbench.claims.tensors import chi_square_critical, ks_critical_distance

    # DKW-Massart: 2 exp(-2 n d^2) = alpha at the critical distance
    d = ks_critical_distance(1 << 18)
    assert 2 * math.exp(-2 * (1 << 18) * d * d) == pytest.approx(1e-6)
    # Wilson-Hilferty against the exact tail of an even-dof chi-square,
    # P(X > x) = exp(-x/2) sum_{i < k/2} (x/2)^i / i!: conservative (never above alpha), and
    # within a factor 4 of it from 2 degrees of freedom up
    for dof in (2, 4, 8, 16):
        x = chi_square_critical(dof)
        tail = math.exp(-x / 2) * sum((x / 2) ** i / math.factorial(i) for i in range(dof // 2))
        assert 0.25e-6 < tail <= 1e-6, dof


def test_ks_and_chi_square_tell_uniform_from_biased_draws():
    from blitzbench.claims.tensors import (
        chi_square_critical,
        chi_square_uniform,
        ks_critical_distance,
        ks_distance,
    )

    generator = torch.Generator().manual_seed(1)
    uniform = torch.rand(1 << 18, generator=generator)
    biased = uniform ** 1.02  # 1% toward 0: a shift no range or mean check of 1e6 sees
    assert ks_distance(uniform) < ks_critical_distance(1 << 18) < ks_distance(biased)
    coarse = torch.floor(uniform * 64) / 64
    assert chi_square_uniform(uniform) < chi_square_critical(15)
    assert ks_distance(coarse) > ks_critical_distance(1 << 18)


def test_scaling_law_test_rejects_a_shifted_distribution():
    from blitzbench.claims.scaling import chi_square_k, octant_probabilities
    from blitzbench.claims.tensors import chi_square_critical

    law = octant_probabilities(20)
    exact = {k: round(p * 10_000) for k, p in law.items() if round(p * 10_000)}
    statistic, dof = chi_square_k(exact, sum(exact.values()))
    assert statistic < 1 and dof >= 3
    shifted = {10: 5500, 11: 3900, 12: 520, 13: 70, 14: 10}  # 51.2% -> 55%
    assert chi_square_k(shifted, 10_000)[0] > chi_square_critical(dof)
    assert chi_square_k({9: 1, 10: 9999}, 10_000)[0] == math.inf


def test_covering_rows_pair_the_first_two_dimensions():
    from blitzbench.claims.properties import covering_rows

    rows = covering_rows("ab", "xyz", (1, 2))
    assert {(a, b) for a, b, _ in rows} == {(a, b) for a in "ab" for b in "xyz"}
    assert {c for *_, c in rows} == {1, 2}


def test_every_claim_of_this_part_declares_its_input_space():
    from blitzbench.claims import SECTIONS

    mine = ("tensors", "inplace", "numpy_bridge", "autograd", "scaling")
    undeclared = [c.id for s in mine for c in SECTIONS[s]
                  if c.inputs is None and c.id != "scaling.printed_example"]
    assert undeclared == []


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler for the test (a shell's background job starts with
    SIGINT ignored, and then the guard rightly stays out of the way)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_dropped_inside_the_run_is_raised_after_it(default_sigint):
    """As when the KeyboardInterrupt lands in Hypothesis's gc callback, which drops it."""
    with pytest.raises(KeyboardInterrupt), _ctrl_c_kept():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # what "Exception ignored in: gc_callback" does to it
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_ctrl_c_no_interrupt(default_sigint):
    with _ctrl_c_kept():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

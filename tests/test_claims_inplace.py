"""The underscore judges: what they enumerate, and that they notice each kind of defect."""

from __future__ import annotations

import pytest
import torch

from blitzbench.claims import inplace
from blitzbench.claims.model import ClaimContext, Verdict

CPU = torch.device("cpu")


def context() -> ClaimContext:
    return ClaimContext(device=CPU, data=None)  # type: ignore[arg-type]


def case(method: str) -> inplace.InplaceCase:
    return next(c for c in inplace.SWEEP if c.method == method)


def test_inventory_lists_single_underscore_public_methods() -> None:
    names = inplace.underscore_methods()
    assert {"add_", "t_", "zero_", "fill_", "exp_"} <= set(names)
    assert not [n for n in names if n.startswith("_") or n.endswith("__")]


def test_sweep_is_large_and_every_method_exists() -> None:
    methods = [c.method for c in inplace.SWEEP]
    assert len(methods) >= inplace.MIN_SWEEP
    assert len(set(methods)) == len(methods)
    assert set(methods) <= set(inplace.underscore_methods())


def test_sweep_and_probes_cover_every_underscore_method() -> None:
    covered = {c.method for c in inplace.SWEEP} | {p.method for p in inplace.PROBES}
    assert set(inplace.underscore_methods()) - covered == set()


def test_run_case_passes_a_true_inplace_method() -> None:
    samples = inplace.sample_inputs(CPU, seed=0)
    result = inplace.run_case(case("add_"), samples, seed=0)
    assert result.ok and result.bit_exact


def test_run_case_catches_a_method_that_returns_a_new_tensor(monkeypatch) -> None:
    monkeypatch.setattr(torch.Tensor, "exp_", lambda self: torch.exp(self))
    result = inplace.run_case(case("exp_"), inplace.sample_inputs(CPU, 0), seed=0)
    assert not result.returns_self and not result.ok


def test_run_case_catches_wrong_values(monkeypatch) -> None:
    original = torch.Tensor.sqrt_
    monkeypatch.setattr(torch.Tensor, "sqrt_", lambda self: original(self).mul_(1.001))
    result = inplace.run_case(case("sqrt_"), inplace.sample_inputs(CPU, 0), seed=0)
    assert result.in_place and not result.matches_twin


def test_run_case_catches_a_moved_storage(monkeypatch) -> None:
    def relocating_neg_(self: torch.Tensor) -> torch.Tensor:
        return self.set_(torch.neg(self))

    monkeypatch.setattr(torch.Tensor, "neg_", relocating_neg_)
    result = inplace.run_case(case("neg_"), inplace.sample_inputs(CPU, 0), seed=0)
    assert result.returns_self and not result.keeps_storage and result.matches_twin


def test_comparison_twins_are_recorded_as_other_dtype() -> None:
    result = inplace.run_case(case("eq_"), inplace.sample_inputs(CPU, 0), seed=0)
    assert result.ok and result.twin_dtype_differs


def test_judges_give_their_expected_verdicts_on_cpu() -> None:
    for claim in inplace.CLAIMS:
        assert claim.judge(context()).verdict is claim.expected, claim.id


def test_inventory_fails_on_an_unexplained_exception(monkeypatch) -> None:
    original = torch.Tensor.map_
    monkeypatch.setattr(torch.Tensor, "map_",
                        lambda self, other, fn: original(self.clone(), other, fn))
    outcome = inplace.judge_inventory(context())
    assert outcome.verdict is Verdict.FAILS
    assert "map_" in outcome.evidence["unexplained"]


def test_inventory_fails_when_a_named_exception_behaves(monkeypatch) -> None:
    known = {"cpu": {**inplace.KNOWN_EXCEPTIONS["cpu"], "abs_": "invented"}}
    monkeypatch.setattr(inplace, "KNOWN_EXCEPTIONS", known)
    outcome = inplace.judge_inventory(context())
    assert outcome.verdict is Verdict.FAILS
    assert outcome.evidence["named_but_not_observed"] == ["abs_"]


def test_inventory_fails_when_a_boundary_is_allowed(monkeypatch) -> None:
    allowed = inplace.Boundary("harmless", lambda d: torch.ones(2, device=d).add_(1))
    monkeypatch.setattr(inplace, "BOUNDARIES", (*inplace.BOUNDARIES, allowed))
    outcome = inplace.judge_inventory(context())
    assert outcome.verdict is Verdict.FAILS
    assert outcome.evidence["boundaries"]["harmless"] == "allowed"


@pytest.mark.parametrize("boundary", inplace.BOUNDARIES, ids=lambda b: b.name)
def test_each_boundary_raises(boundary: inplace.Boundary) -> None:
    assert inplace.boundary_outcome(boundary, CPU) == "raises RuntimeError"

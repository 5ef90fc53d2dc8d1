"""The CUDA judges' comparison helpers, run on the CPU (the CPU standing in for the device,
a ``meta`` tensor for a second device), against the defects a GPU run must catch."""

from __future__ import annotations

import math

import pytest
import torch

from blitzbench.claims import cuda
from blitzbench.claims.model import ClaimContext, Scope, Verdict

CPU = torch.device("cpu")


def context(device: torch.device = CPU) -> ClaimContext:
    return ClaimContext(device=device, data=None)  # type: ignore[arg-type]


def test_agreement_accepts_identical_and_rejects_perturbed() -> None:
    reference = torch.tensor([1.0, -2.0, 0.5])
    assert cuda.agreement("same", reference, reference.clone(), 1e-4).ok
    off = reference + torch.tensor([0.0, 0.0, 2.0 * 1e-4 * 2.0])  # 2x tolerance on scale 2
    result = cuda.agreement("off", reference, off, 1e-4)
    assert not result.ok and math.isclose(result.scaled_error, 2e-4, rel_tol=1e-3)


def test_agreement_rejects_nan_and_shape_mismatch() -> None:
    reference = torch.ones(3)
    assert not cuda.agreement("nan", reference, torch.tensor([1.0, math.nan, 1.0]), 1.0).ok
    assert not cuda.agreement("shape", reference, torch.ones(4), 1.0).ok


def test_agreement_on_an_all_zero_reference() -> None:
    zeros = torch.zeros(3)
    assert cuda.agreement("zeros", zeros, zeros.clone(), 1e-4).ok
    assert not cuda.agreement("zeros", zeros, torch.full((3,), 1e-3), 1e-4).ok


def test_tolerance_follows_tf32() -> None:
    off = cuda.Tf32State(False, False, None, None)
    assert cuda.tolerance_for(off) == cuda.FP32_SCALED_TOLERANCE
    assert cuda.tolerance_for(cuda.Tf32State(False, True, None, None)) == (
        cuda.TF32_SCALED_TOLERANCE)
    assert cuda.FP32_SCALED_TOLERANCE < cuda.TF32_SCALED_TOLERANCE


def test_tf32_switches_are_restored() -> None:
    before = cuda.tf32_state()
    with cuda.tf32_enabled(not before.cudnn_allow_tf32) as inside:
        assert inside.cudnn_allow_tf32 is not before.cudnn_allow_tf32
    assert cuda.tf32_state() == before


def test_lenet_comparisons_agree_exactly_cpu_against_cpu() -> None:
    forward = cuda.lenet_forward_agreement(CPU, seed=0, tolerance=cuda.FP32_SCALED_TOLERANCE)
    assert forward.ok and forward.max_abs_diff == 0.0 and forward.scale > 0
    backward = cuda.lenet_backward_agreements(CPU, seed=0,
                                              tolerance=cuda.FP32_SCALED_TOLERANCE)
    assert len(backward) == 11 and all(a.ok and a.max_abs_diff == 0.0 for a in backward)


def test_lenet_comparisons_catch_parameters_changed_on_the_way(monkeypatch) -> None:
    original = torch.nn.Module.to

    def perturbing_to(self, *args, **kwargs):
        moved = original(self, *args, **kwargs)
        with torch.no_grad():
            for p in moved.parameters():
                p.mul_(1.05)
        return moved

    monkeypatch.setattr(torch.nn.Module, "to", perturbing_to)
    tol = cuda.TF32_SCALED_TOLERANCE
    assert not cuda.lenet_forward_agreement(CPU, seed=0, tolerance=tol).ok
    assert not all(a.ok for a in cuda.lenet_backward_agreements(CPU, seed=0, tolerance=tol))


def test_lenet_backward_catches_scaled_gradients(monkeypatch) -> None:
    original = torch.Tensor.backward
    calls = []

    def second_call_scaled(self, gradient=None, *args, **kwargs):
        calls.append(1)  # the reference runs first; the candidate's gradients are scaled
        if len(calls) == 2:
            gradient = torch.ones_like(self) * 1.05
        original(self, gradient, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", second_call_scaled)
    results = cuda.lenet_backward_agreements(CPU, seed=0, tolerance=cuda.TF32_SCALED_TOLERANCE)
    assert results[0].ok  # the loss itself is unchanged
    assert not all(a.ok for a in results[1:])


def test_tutorial_grad_is_exactly_4_5() -> None:
    assert torch.equal(cuda.tutorial_grad(CPU), torch.full((2, 2), cuda.EXPECTED_GRAD))


def test_mixed_devices_raise_and_name_both() -> None:
    seen = cuda.mixed_device_observation(torch.device("meta"))
    assert seen.raised and seen.error_type == "RuntimeError" and seen.names_both
    assert seen.scalar_result_device == "meta"


def test_mixed_devices_catch_a_silent_move(monkeypatch) -> None:
    original = torch.Tensor.__add__

    def moving_add(self, other):  # moves the CPU operand (meta data cannot be copied out)
        if isinstance(other, torch.Tensor) and other.device != self.device:
            self = self.to(other.device)
        return original(self, other)

    monkeypatch.setattr(torch.Tensor, "__add__", moving_add)
    seen = cuda.mixed_device_observation(torch.device("meta"))
    assert not seen.raised and not seen.names_both


def test_names_both_devices_needs_both_names() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert cuda.names_both_devices("found cuda:0 and cpu", cpu, gpu)
    assert not cuda.names_both_devices("expected all tensors on one device", cpu, gpu)


def test_cuda_scoped_judges_skip_on_the_cpu() -> None:
    for claim in cuda.CLAIMS:
        if claim.scope is Scope.CUDA:
            assert claim.judge(context()).verdict is Verdict.SKIPPED, claim.id


def test_availability_guard_holds_here_and_catches_a_lie(monkeypatch) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the lie would be the truth")
    assert cuda.judge_availability_guard(context()).verdict is Verdict.HOLDS
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cuda.judge_availability_guard(context()).verdict is Verdict.FAILS

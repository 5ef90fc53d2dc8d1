"""Claims of the tutorial's CUDA section: moving tensors to the GPU and computing there.

Most claims here compare a CUDA device with the CPU, so they are judged only on CUDA
devices (Scope.CUDA); on a machine without a GPU their cells are absent and the CUDA
column of ``pytest checks`` shows as skipped. One claim, that the tutorial's
``if torch.cuda.is_available():`` guard tells the truth, is judged on every device.

The comparisons are factored into helpers that run on any device (CPU against CPU, or a
``meta`` tensor standing in for a second device), so tests/test_claims_cuda.py exercises
them on a machine without a GPU.

Tolerances are relative to the reference's scale (max |reference|): a wrong kernel is off
by the order of the output, rounding differences by a few units of the format's precision.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from blitzbench.claims.faults import observe
from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Scope, Verdict
from blitzbench.claims.properties import judged_properties, run_property
from blitzbench.claims.tensor_inputs import (
    ARITHMETIC_DTYPES,
    TensorSpec,
    dtype_names,
    shapes,
    tensor_specs,
)
from blitzbench.claims.verdicts import judged, skipped
from blitzbench.devices import device_label
from blitzbench.workloads.lenet import LeNet, synthetic_batch

__all__ = ["CLAIMS", "FP32_SCALED_TOLERANCE", "SECTION", "TF32_SCALED_TOLERANCE", "Agreement",
           "Tf32State", "agreement", "lenet_backward_agreements", "lenet_forward_agreement",
           "mixed_device_observation", "tf32_enabled", "tf32_state", "tolerance_for"]

SECTION = "cuda"
WHERE = "CUDA传感器: if torch.cuda.is_available(): x = x.cuda(); y = y.cuda(); x + y"
SHAPE = (5, 3)  # the tutorial's x and y
BATCH = 8  # LeNet batch for the CPU/CUDA comparison: small, so the check stays fast
# float32 (unit roundoff 6e-8): CPU and GPU sum LeNet's dot products (length <= 400) in
# different orders and cuDNN may pick FFT or Winograd convolutions, whose error is larger
# than a direct sum. Measured here, float32 against float64 on the CPU: 2e-7 (forward) and
# 9e-7 (gradients) of the output's scale. 1e-4 leaves two orders of magnitude of margin.
FP32_SCALED_TOLERANCE = 1e-4
# TF32 rounds matmul/conv inputs to 10 mantissa bits (unit roundoff 4.9e-4). Rounding only
# LeNet's input and weights that way moves its output by 3.4e-4 of its scale (measured here
# on the CPU); with every layer rounded and gradients summed over the batch, 1e-2 is about
# 20 units of TF32 precision.
TF32_SCALED_TOLERANCE = 1e-2
SCALE_FLOOR = 1e-12  # a reference that is all zeros compares on absolute error
# the tutorial's autograd example, x = ones(2, 2): x.grad is 1.5 (x + 2) = 4.5, exactly
# representable, and every intermediate (3, 9, 27, 0.25, 0.75, 2.25) is too
AUTOGRAD_SHAPE = (2, 2)
EXPECTED_GRAD = 4.5


# --- comparison helpers (device-agnostic) ---------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How far a candidate is from a reference, on the reference's scale."""

    name: str
    max_abs_diff: float
    scale: float
    tolerance: float

    @property
    def scaled_error(self) -> float:
        return self.max_abs_diff / max(self.scale, SCALE_FLOOR)

    @property
    def ok(self) -> bool:
        return self.scaled_error <= self.tolerance  # False for NaN

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "max_abs_diff": self.max_abs_diff, "scale": self.scale,
                "scaled_error": self.scaled_error, "tolerance": self.tolerance, "ok": self.ok}


def agreement(name: str, reference: torch.Tensor, candidate: torch.Tensor,
              tolerance: float) -> Agreement:
    """Compare in float64 on the CPU; a shape mismatch never agrees."""
    ref = reference.detach().to("cpu", torch.float64)
    cand = candidate.detach().to("cpu", torch.float64)
    if ref.shape != cand.shape:
        return Agreement(name, float("inf"), 0.0, tolerance)
    diff = float((ref - cand).abs().max()) if ref.numel() else 0.0
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    return Agreement(name, diff, scale, tolerance)


@dataclass(frozen=True)
class Tf32State:
    """Whether float32 matmuls and convolutions may use TF32 on CUDA."""

    matmul_allow_tf32: bool
    cudnn_allow_tf32: bool
    matmul_fp32_precision: str | None
    conv_fp32_precision: str | None

    @property
    def enabled(self) -> bool:
        return self.matmul_allow_tf32 or self.cudnn_allow_tf32

    def to_json(self) -> dict[str, object]:
        return {"torch.backends.cuda.matmul.allow_tf32": self.matmul_allow_tf32,
                "torch.backends.cudnn.allow_tf32": self.cudnn_allow_tf32,
                "torch.backends.cuda.matmul.fp32_precision": self.matmul_fp32_precision,
                "torch.backends.cudnn.conv.fp32_precision": self.conv_fp32_precision}


def _precision(read: object) -> str | None:
    """The newer fp32_precision setting where this torch has it."""
    try:
        return str(read())  # type: ignore[operator]
    except (AttributeError, RuntimeError):
        return None


def tf32_state() -> Tf32State:
    backends = torch.backends
    return Tf32State(
        matmul_allow_tf32=bool(backends.cuda.matmul.allow_tf32),
        cudnn_allow_tf32=bool(backends.cudnn.allow_tf32),
        matmul_fp32_precision=_precision(lambda: backends.cuda.matmul.fp32_precision),
        conv_fp32_precision=_precision(lambda: backends.cudnn.conv.fp32_precision))


def tolerance_for(state: Tf32State) -> float:
    return TF32_SCALED_TOLERANCE if state.enabled else FP32_SCALED_TOLERANCE


@contextmanager
def tf32_enabled(enabled: bool) -> Iterator[Tf32State]:
    """Set both TF32 switches, yield the state, and put the previous settings back.

    The legacy switches are the documented way to turn TF32 off; on torch versions with
    the newer fp32_precision settings, those are restored too, since toggling a legacy
    switch rewrites them ("none" becomes "ieee").
    """
    backends = torch.backends
    saved = tf32_state()
    backends.cuda.matmul.allow_tf32 = enabled
    backends.cudnn.allow_tf32 = enabled
    try:
        yield tf32_state()
    finally:
        backends.cuda.matmul.allow_tf32 = saved.matmul_allow_tf32
        backends.cudnn.allow_tf32 = saved.cudnn_allow_tf32
        _restore_precision(saved)


def _restore_precision(saved: Tf32State) -> None:
    backends = torch.backends
    if saved.matmul_fp32_precision is not None:
        backends.cuda.matmul.fp32_precision = saved.matmul_fp32_precision
    if saved.conv_fp32_precision is not None:
        backends.cudnn.conv.fp32_precision = saved.conv_fp32_precision


def _lenet_pair(device: torch.device, seed: int,
                ) -> tuple[LeNet, torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The same seeded LeNet on the CPU and on ``device``, and a seeded CPU batch."""
    torch.manual_seed(seed)
    reference = LeNet()
    candidate = copy.deepcopy(reference).to(device)
    images, labels = synthetic_batch(BATCH, "cpu", torch.Generator().manual_seed(seed))
    return reference, candidate, images, labels


def lenet_forward_agreement(device: torch.device, seed: int, tolerance: float) -> Agreement:
    reference, candidate, images, _ = _lenet_pair(device, seed)
    with torch.no_grad():
        expected = reference(images)
        observed = candidate(images.to(device))
    return agreement("logits", expected, observed, tolerance)


def lenet_backward_agreements(device: torch.device, seed: int,
                              tolerance: float) -> list[Agreement]:
    """The loss and every parameter's gradient, each on its own scale."""
    reference, candidate, images, labels = _lenet_pair(device, seed)
    ref_loss = F.cross_entropy(reference(images), labels)
    ref_loss.backward()
    loss = F.cross_entropy(candidate(images.to(device)), labels.to(device))
    loss.backward()
    results = [agreement("loss", ref_loss, loss, tolerance)]
    for (name, ref_param), param in zip(reference.named_parameters(), candidate.parameters(),
                                        strict=True):
        if ref_param.grad is None or param.grad is None:
            results.append(Agreement(f"grad {name}", float("inf"), 0.0, tolerance))
            continue
        results.append(agreement(f"grad {name}", ref_param.grad, param.grad, tolerance))
    return results


def tutorial_grad(device: torch.device) -> torch.Tensor:
    """x.grad of the tutorial's out = mean(3 (x + 2)^2) at x = ones(2, 2), on ``device``."""
    x = torch.ones(*AUTOGRAD_SHAPE, device=device, requires_grad=True)
    y = x + 2
    (y * y * 3).mean().backward()
    assert x.grad is not None
    return x.grad.detach().cpu()


@dataclass(frozen=True)
class MixedDevices:
    """What adding a CPU tensor and a tensor on another device did."""

    raised: bool
    error_type: str | None
    message: str
    names_both: bool
    scalar_result_device: str | None

    def to_json(self) -> dict[str, object]:
        return {"raised": self.raised, "error_type": self.error_type,
                "message": self.message[:300], "names_both_devices": self.names_both,
                "cpu_scalar_plus_device_tensor_on": self.scalar_result_device}


def names_both_devices(message: str, first: torch.device, second: torch.device) -> bool:
    text = message.lower()
    return first.type in text and second.type in text


def mixed_device_observation(device: torch.device) -> MixedDevices:
    """cpu (5,3) + device (5,3) must raise RuntimeError naming both; a 0-dim CPU tensor is
    the documented exception (treated like a Python scalar) and is added on the device."""
    cpu = torch.device("cpu")
    on_cpu = torch.ones(*SHAPE)
    on_device = torch.ones(*SHAPE, device=device)
    try:
        on_cpu + on_device  # the expression is the experiment
    except RuntimeError as exc:
        raised, error_type, message = True, type(exc).__name__, str(exc)
    except Exception as exc:
        raised, error_type, message = False, type(exc).__name__, str(exc)
    else:
        raised, error_type, message = False, None, ""
    try:
        scalar_device: str | None = str((torch.tensor(2.0) + on_device).device)
    except Exception as exc:
        scalar_device = f"raised {type(exc).__name__}"
    return MixedDevices(raised, error_type, message,
                        raised and names_both_devices(message, cpu, device), scalar_device)


# --- judges ---------------------------------------------------------------------------


def _cuda_only(ctx: ClaimContext) -> Outcome | None:
    if ctx.device.type != "cuda":
        return skipped(f"compares CUDA with the CPU: not judged on {ctx.device}")
    return None


def judge_add_on_gpu(ctx: ClaimContext) -> Outcome:
    if (skip := _cuda_only(ctx)) is not None:
        return skip
    g = torch.Generator().manual_seed(ctx.seed)
    # seeded values, not the tutorial's uninitialized torch.Tensor(5, 3): garbage may be NaN
    x, y = torch.rand(*SHAPE, generator=g), torch.rand(*SHAPE, generator=g)
    on_gpu = x.cuda(ctx.device) + y.cuda(ctx.device)
    on_cpu = x + y
    equal = torch.equal(on_gpu.cpu(), on_cpu)  # IEEE float32 addition: bit-exact everywhere
    ok = on_gpu.device.type == "cuda" and equal
    return judged(ok, Verdict.HOLDS,
                  f"x.cuda() + y.cuda() ran on {on_gpu.device} and equals the CPU sum "
                  f"bit for bit: {equal}",
                  result_device=str(on_gpu.device), bit_exact=equal,
                  max_abs_diff=float((on_gpu.cpu() - on_cpu).abs().max()))


def judge_mixed_devices(ctx: ClaimContext) -> Outcome:
    if (skip := _cuda_only(ctx)) is not None:
        return skip
    seen = mixed_device_observation(ctx.device)
    ok = (seen.raised and seen.names_both
          and seen.scalar_result_device == device_label(ctx.device))
    return judged(ok, Verdict.HOLDS,
                  f"cpu + {ctx.device} raised {seen.error_type} naming both devices: "
                  f"{seen.names_both}; a 0-dim CPU tensor is added on "
                  f"{seen.scalar_result_device}", **seen.to_json())


Compared = Agreement | list[Agreement]


def _two_modes(compare: Callable[[float], Compared]) -> tuple[bool, dict[str, Any], Tf32State]:
    """Compare with TF32 forced off (float32 tolerance) and with the settings as found
    (the tolerance those settings call for); return the found settings too."""
    found = tf32_state()
    with tf32_enabled(False) as strict:
        strict_result = compare(tolerance_for(strict))
    results = {"tf32_off": strict_result, "as_configured": compare(tolerance_for(found))}
    groups = {name: r if isinstance(r, list) else [r] for name, r in results.items()}
    ok = all(a.ok for group in groups.values() for a in group)
    evidence: dict[str, Any] = {
        name: ([a.to_json() for a in group] if isinstance(results[name], list)
               else group[0].to_json()) for name, group in groups.items()}
    evidence["tf32_as_configured"] = found.to_json()
    evidence["tolerances"] = {"fp32": FP32_SCALED_TOLERANCE, "tf32": TF32_SCALED_TOLERANCE}
    return ok, evidence, found


def judge_lenet_forward(ctx: ClaimContext) -> Outcome:
    if (skip := _cuda_only(ctx)) is not None:
        return skip
    ok, evidence, found = _two_modes(
        lambda tol: lenet_forward_agreement(ctx.device, ctx.seed, tol))
    strict, configured = evidence["tf32_off"], evidence["as_configured"]
    return judged(ok, Verdict.HOLDS,
                  f"LeNet logits CPU vs {ctx.device}: {strict['scaled_error']:.1e} of scale "
                  f"with TF32 off (tol {strict['tolerance']:.0e}), "
                  f"{configured['scaled_error']:.1e} as configured (TF32 "
                  f"{'on' if found.enabled else 'off'}, tol {configured['tolerance']:.0e})",
                  **evidence)


def judge_autograd(ctx: ClaimContext) -> Outcome:
    if (skip := _cuda_only(ctx)) is not None:
        return skip
    on_cpu, on_device = tutorial_grad(torch.device("cpu")), tutorial_grad(ctx.device)
    tutorial_ok = (torch.equal(on_cpu, on_device)
                   and bool((on_device == EXPECTED_GRAD).all()))
    ok, evidence, found = _two_modes(
        lambda tol: lenet_backward_agreements(ctx.device, ctx.seed, tol))
    worst = max((a["scaled_error"] for group in ("tf32_off", "as_configured")
                 for a in evidence[group]), default=float("nan"))
    return judged(ok and tutorial_ok, Verdict.HOLDS,
                  f"x.grad on {ctx.device} is {on_device.flatten().tolist()} like the CPU's: "
                  f"{tutorial_ok}; LeNet loss and gradients: worst {worst:.1e} of scale (TF32 "
                  f"{'on' if found.enabled else 'off'} as configured)",
                  tutorial_grad_cpu=on_cpu.tolist(), tutorial_grad_device=on_device.tolist(),
                  tutorial_grad_exact=tutorial_ok, **evidence)


#: The ways a learner puts a tensor on the GPU, beyond the tutorial's x.cuda().
TO_CUDA_FORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x.cuda()": lambda x: x.cuda(),
    "x.to('cuda')": lambda x: x.to("cuda"),
    "x.to(torch.device('cuda'))": lambda x: x.to(torch.device("cuda")),
    "torch.ones(shape, device='cuda')": lambda x: torch.ones(x.shape, device="cuda"),
    "torch.zeros_like(x, device='cuda')": lambda x: torch.zeros_like(x, device="cuda"),
}
GUARD_EXAMPLES = 20  # example budget (quick depth) of the guard's property


def _guard_problem(case: tuple[str, TensorSpec]) -> str | None:
    """is_available() agrees with device_count(), and each form lands on a GPU exactly
    when one is available (raising otherwise)."""
    form, spec = case
    available, count = torch.cuda.is_available(), torch.cuda.device_count()
    if available != (count > 0):
        return f"is_available() = {available} but device_count() = {count}"
    moved = observe(TO_CUDA_FORMS[form], spec.build())
    on_gpu = moved.raised is None and moved.value.device.type == "cuda"
    if available and not on_gpu:
        return f"{form} gave {moved.text} with a GPU available"
    if not available and moved.raised is None:
        return f"{form} ran on {moved.value.device} without a GPU"
    return None


def _guard_runs() -> dict[str, object]:
    specs = tensor_specs(shape=shapes(0, 3))
    corners = [(form, TensorSpec(torch.float32, (5, 3))) for form in TO_CUDA_FORMS]
    return {"every way to the GPU": run_property(
        st.tuples(st.sampled_from(list(TO_CUDA_FORMS)), specs), _guard_problem,
        GUARD_EXAMPLES, explicit=corners)}


def judge_availability_guard(ctx: ClaimContext) -> Outcome:
    """The guard's promise: the GPU branch runs exactly where it can work."""
    available = torch.cuda.is_available()
    count = torch.cuda.device_count()
    try:
        moved = torch.ones(*SHAPE).cuda() + torch.rand(*SHAPE).cuda()
        branch, error = str(moved.device), None
    except Exception as exc:
        branch, error = None, f"{type(exc).__name__}: {exc}"[:200]
    on_gpu = branch is not None and branch.startswith("cuda")
    ok = (on_gpu and count > 0) if available else (branch is None)
    return judged_properties(_guard_runs(), ok, Verdict.HOLDS,
                  f"torch.cuda.is_available() = {available}, device_count() = {count}; "
                  + (f"the guarded x.cuda() + y.cuda() ran on {branch}" if branch
                     else "x.cuda() outside the guard raises, so the guard is needed"),
                  is_available=available, device_count=count,
                  torch_version_cuda=torch.version.cuda, guarded_branch_device=branch,
                  cuda_call_error=error, judged_on=str(ctx.device))


CLAIMS: tuple[Claim, ...] = (
    Claim("cuda.availability_guard", SECTION,
          "torch.cuda.is_available() tells the truth, so the tutorial's guarded x.cuda() + "
          "y.cuda() runs on a GPU exactly where one can be used.",
          WHERE, Verdict.HOLDS, judge_availability_guard,
          inputs=InputSpace("the GPU guard", operands=tuple(TO_CUDA_FORMS), ranks=(0, 3),
                            dtypes=dtype_names(ARITHMETIC_DTYPES), examples=GUARD_EXAMPLES)),
    Claim("cuda.add_on_gpu", SECTION,
          "x.cuda() + y.cuda() is computed on the GPU (the result lives there) and equals "
          "the CPU sum.",
          WHERE, Verdict.HOLDS, judge_add_on_gpu, Scope.CUDA),
    Claim("cuda.mixed_devices_error", SECTION,
          "Adding a CPU tensor to a CUDA tensor raises a RuntimeError that names both "
          "devices (a 0-dim CPU tensor is the exception: it is used like a scalar).",
          WHERE, Verdict.HOLDS, judge_mixed_devices, Scope.CUDA),
    Claim("cuda.lenet_forward_agrees", SECTION,
          f"The same seeded LeNet gives the same logits on CUDA as on the CPU, within "
          f"{FP32_SCALED_TOLERANCE:g} of their scale in float32 and {TF32_SCALED_TOLERANCE:g} "
          f"when TF32 is on.",
          WHERE, Verdict.HOLDS, judge_lenet_forward, Scope.CUDA),
    Claim("cuda.autograd_agrees", SECTION,
          "Autograd gives the same values on CUDA as on the CPU: the tutorial's x.grad of "
          "4.5 exactly, and LeNet's loss and gradients within the forward tolerances.",
          WHERE, Verdict.HOLDS, judge_autograd, Scope.CUDA),
)

"""Claims of the tutorial's autograd section: Variable, grad_fn, the 27s and the 4.5s.

The tutorial predates PyTorch 0.4, which merged ``Variable`` into ``Tensor``. Its legacy
lines are judged OUTDATED only when the modern replacement is shown doing what the
tutorial meant; anything else that disagrees is FAILS.

API names the tutorial uses (``torch.autograd.Variable``, ``Tensor.backward``,
``Tensor.norm``) are looked up when a judge runs, not at import, so a patched torch (see
tests/breakages/autograd.py) is what gets judged.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import judged_properties, run_property
from blitzbench.claims.tensor_inputs import LAYOUTS, TensorSpec, shapes, tensor_specs

__all__ = ["CLAIMS", "SECTION"]

SECTION = "autograd"
WHERE = "Autograd：自动分化"
SHAPE = (2, 2)
OFFSET = 2.0  # y = x + 2
FACTOR = 3.0  # z = y * y * 3
EXPECTED_Y = 3.0  # 1 + 2
EXPECTED_Z = 27.0  # 3 * 3 * 3
EXPECTED_GRAD = 4.5  # d mean(3 (x+2)^2) / dx = 6 (x+2) / 4 = 1.5 (x+2) = 4.5 at x = 1
ANALYTIC_SLOPE = 1.5  # the 1.5 in 1.5 (x + 2): 2 * FACTOR / numel
NORM_RTOL = 1e-6  # float32 L2 norm of a few values vs numpy's float64: rounding only
GRADCHECK_DRAWS = 4  # random float64 points at which gradcheck compares with finite differences
EXAMPLES = 40  # example budget (quick depth) of each generated property
GRAD_DTYPES = (torch.float32, torch.float64)  # autograd's claims speak of floating tensors
#: float32 rounding of a few operations on values up to ~100 (the claims compare with float64)
VALUE_RTOL = {torch.float32: 1e-5, torch.float64: 1e-12}
#: The operations whose results name their grad_fn, and the name each must carry.
GRAD_FN_NAMES = {"x + 2": "AddBackward0", "x + w": "AddBackward0", "x * 3": "MulBackward0",
                 "x * w": "MulBackward0", "x - 1": "SubBackward0", "x / 2": "DivBackward0",
                 "x ** 2": "PowBackward0", "x.exp()": "ExpBackward0",
                 "x.mean()": "MeanBackward0", "x.sum()": "SumBackward0"}
GRAD_FN_OPS = {"x + 2": lambda x, w: x + 2, "x + w": lambda x, w: x + w,
               "x * 3": lambda x, w: x * 3, "x * w": lambda x, w: x * w,
               "x - 1": lambda x, w: x - 1, "x / 2": lambda x, w: x / 2,
               "x ** 2": lambda x, w: x ** 2, "x.exp()": lambda x, w: x.exp(),
               "x.mean()": lambda x, w: x.mean(), "x.sum()": lambda x, w: x.sum()}


def _leaf(ctx: ClaimContext, values: torch.Tensor | None = None) -> torch.Tensor:
    """The tutorial's x written the modern way: ones(2, 2) that require grad."""
    if values is None:
        return torch.ones(*SHAPE, device=ctx.device, requires_grad=True)
    return values.to(ctx.device).detach().requires_grad_(True)


def judge_variable(ctx: ClaimContext) -> Outcome:
    variable = torch.autograd.Variable
    legacy = variable(torch.ones(*SHAPE, device=ctx.device), requires_grad=True)
    modern = _leaf(ctx)
    plain = type(legacy) is torch.Tensor
    same = (plain and legacy.requires_grad and legacy.is_leaf and legacy.grad_fn is None
            and torch.equal(legacy.detach(), modern.detach()))
    legacy_grad = _mean_grad(legacy)
    modern_grad = _mean_grad(modern)
    ok = same and torch.equal(legacy_grad, modern_grad)
    return judged_properties(_variable_runs(), ok, Verdict.OUTDATED,
                  f"Variable(t, requires_grad=True) returns {type(legacy).__name__} (plain "
                  f"Tensor: {plain}, requires_grad={legacy.requires_grad}); "
                  f"torch.ones(2, 2, requires_grad=True) gets the same grad: "
                  f"{torch.equal(legacy_grad, modern_grad)}",
                  returned_type=f"{type(legacy).__module__}.{type(legacy).__qualname__}",
                  is_plain_tensor=plain, requires_grad=legacy.requires_grad,
                  is_leaf=legacy.is_leaf,
                  legacy_grad=legacy_grad.cpu().tolist(), modern_grad=modern_grad.cpu().tolist(),
                  modern_form="torch.ones(2, 2, requires_grad=True)")


def _variable_problem(case: tuple[TensorSpec, bool]) -> str | None:
    """Variable(t, requires_grad=r) is a plain Tensor leaf over t's values with r."""
    spec, requires_grad = case
    data = spec.build()
    legacy = torch.autograd.Variable(data, requires_grad=requires_grad)
    if type(legacy) is not torch.Tensor:
        return f"returned {type(legacy).__qualname__}"
    if legacy.requires_grad != requires_grad or not legacy.is_leaf:
        return f"requires_grad {legacy.requires_grad}, leaf {legacy.is_leaf}"
    return None if torch.equal(legacy.detach(), data) else "values differ from t"


def _variable_runs() -> dict[str, object]:
    specs = tensor_specs(GRAD_DTYPES, LAYOUTS, shapes(0, 3))
    corners = [(TensorSpec(d, shape, layout), r) for d in GRAD_DTYPES for r in (True, False)
               for shape, layout in (((), "contiguous"), ((2, 3), "transposed"))]
    return {"Variable(t, requires_grad)": run_property(
        st.tuples(specs, st.booleans()), _variable_problem, EXAMPLES, explicit=corners)}


def _mean_grad(x: torch.Tensor) -> torch.Tensor:
    """The gradient of the tutorial's out = mean(3 (x+2)^2) at x, by Tensor.backward."""
    y = x + OFFSET
    (y * y * FACTOR).mean().backward()
    assert x.grad is not None
    return x.grad.detach().clone()


def _grad_fn_problem(case: tuple[str, TensorSpec]) -> str | None:
    """The op's result has no ``creator`` and a grad_fn of the op's name."""
    op, spec = case
    x = spec.build().requires_grad_(True)
    result = GRAD_FN_OPS[op](x, spec.build().requires_grad_(True))
    if hasattr(result, "creator"):
        return f"({op}).creator exists"
    name = type(result.grad_fn).__name__ if result.grad_fn is not None else None
    return None if name == GRAD_FN_NAMES[op] else f"({op}).grad_fn is {name}"


def _grad_fn_runs() -> dict[str, object]:
    specs = tensor_specs(GRAD_DTYPES, LAYOUTS, shapes(0, 3))
    corners = [(op, TensorSpec(d, (2, 3), "transposed")) for op in GRAD_FN_OPS
               for d in GRAD_DTYPES]
    return {"creator gone, grad_fn named": run_property(
        st.tuples(st.sampled_from(list(GRAD_FN_OPS)), specs), _grad_fn_problem, EXAMPLES,
        explicit=corners)}


def judge_grad_fn(ctx: ClaimContext) -> Outcome:
    y = _leaf(ctx) + OFFSET
    grad_fn_name = type(y.grad_fn).__name__ if y.grad_fn is not None else None
    try:
        creator = y.creator
    except AttributeError as exc:
        creator_error = str(exc)
    else:
        return Outcome(Verdict.HOLDS, f"y.creator still works (returns {creator!r}): the "
                       f"tutorial's legacy attribute is back", {"creator": repr(creator),
                                                                 "grad_fn": grad_fn_name})
    ok = grad_fn_name == "AddBackward0" and bool((y == EXPECTED_Y).all())
    return judged_properties(_grad_fn_runs(), ok, Verdict.OUTDATED,
                  f"y.creator raises AttributeError; y.grad_fn is {grad_fn_name}, as the "
                  f"tutorial's output shows",
                  creator_error=creator_error, grad_fn=grad_fn_name,
                  y=y.detach().cpu().tolist(), modern_form="y.grad_fn")


def _forward_problem(spec: TensorSpec) -> str | None:
    """z = (x + 2)(x + 2) 3 and out = z.mean() equal the same sums in float64."""
    x = spec.build().requires_grad_(True)
    y = x + OFFSET
    z = y * y * FACTOR
    out = z.mean()
    reference = FACTOR * (x.detach().double() + OFFSET) ** 2
    rtol = VALUE_RTOL[spec.dtype]
    if not torch.allclose(z.detach().double(), reference, rtol=rtol, atol=0):
        return "z differs from 3 (x + 2)^2"
    mean = float(reference.sum()) / reference.numel()
    return None if math.isclose(float(out.detach()), mean, rel_tol=rtol) else \
        f"z.mean() = {float(out.detach())}, sum / n = {mean}"


def _value_specs() -> st.SearchStrategy[TensorSpec]:
    return tensor_specs(GRAD_DTYPES, LAYOUTS, shapes(0, 3, min_side=1))


def _value_corners() -> list[TensorSpec]:
    return [TensorSpec(d, shape, layout, i) for i, (d, shape, layout) in enumerate(
        (d, shape, layout) for d in GRAD_DTYPES for shape in ((), (3,), (2, 3), (2, 3, 2))
        for layout in ("contiguous", "transposed"))]


def judge_forward_values(ctx: ClaimContext) -> Outcome:
    y = _leaf(ctx) + OFFSET
    z = y * y * FACTOR
    out = z.mean()
    z_all = bool((z == EXPECTED_Z).all())
    out_value = float(out.detach())
    names = [type(t.grad_fn).__name__ for t in (y, z, out)]
    ok = (z_all and out_value == EXPECTED_Z and out.dim() == 0
          and names == ["AddBackward0", "MulBackward0", "MeanBackward0"])
    runs = {"z and its mean at any x": run_property(_value_specs(), _forward_problem, EXAMPLES,
                                                    explicit=_value_corners())}
    return judged_properties(runs, ok, Verdict.HOLDS,
                  f"z = y*y*3 is all {EXPECTED_Z:g}: {z_all}; z.mean() = {out_value:g}; "
                  f"grad_fns {', '.join(names)}",
                  z=z.detach().cpu().tolist(), out=out_value, grad_fns=names)


def _backward_problem(spec: TensorSpec) -> str | None:
    """out = mean(3 (x + 2)^2) leaves x.grad = 6 (x + 2) / n (1.5 (x + 2) for 2x2)."""
    x = spec.build().requires_grad_(True)
    _tutorial_out(x).backward()
    expected = 2 * FACTOR * (x.detach().double() + OFFSET) / x.numel()
    if x.grad is None:
        return "x.grad is None"
    close = torch.allclose(x.grad.double(), expected, rtol=VALUE_RTOL[spec.dtype], atol=1e-7)
    return None if close else f"x.grad {x.grad.tolist()} != 6 (x + 2) / n"


def judge_backward(ctx: ClaimContext) -> Outcome:
    x = _leaf(ctx)
    grad = _mean_grad(x)
    all_expected = bool((grad == EXPECTED_GRAD).all())
    generator = torch.Generator().manual_seed(ctx.seed)
    random_x = _leaf(ctx, torch.rand(*SHAPE, generator=generator) * 4 - 2)
    random_grad = _mean_grad(random_x)
    analytic = ANALYTIC_SLOPE * (random_x.detach() + OFFSET)
    analytic_ok = torch.allclose(random_grad, analytic)
    gradcheck_ok = _gradcheck(ctx, generator)
    ok = all_expected and analytic_ok and gradcheck_ok
    runs = {"x.grad = 6 (x + 2) / n": run_property(_value_specs(), _backward_problem,
                                                  EXAMPLES, explicit=_value_corners())}
    return judged_properties(runs, ok, Verdict.HOLDS,
                  f"x.grad is all {EXPECTED_GRAD:g}: {all_expected}; equals 1.5*(x+2) at "
                  f"random x: {analytic_ok}; gradcheck in float64 on {ctx.device.type}: "
                  f"{gradcheck_ok}",
                  x_grad=grad.cpu().tolist(), random_x=random_x.detach().cpu().tolist(),
                  random_grad=random_grad.cpu().tolist(),
                  analytic_grad=analytic.cpu().tolist(), gradcheck=gradcheck_ok,
                  gradcheck_dtype="float64", gradcheck_device=str(ctx.device))


def _tutorial_out(x: torch.Tensor) -> torch.Tensor:
    y = x + OFFSET
    return (y * y * FACTOR).mean()


def _gradcheck(ctx: ClaimContext, generator: torch.Generator) -> bool:
    """gradcheck compares autograd's gradient with finite differences, in float64 (its
    tolerances assume double precision), on the context's device."""
    points = [torch.ones(*SHAPE, dtype=torch.float64)]
    points += [torch.rand(*SHAPE, generator=generator, dtype=torch.float64) * 4 - 2
               for _ in range(GRADCHECK_DRAWS)]
    return all(torch.autograd.gradcheck(_tutorial_out,
                                        (p.to(ctx.device).requires_grad_(True),),
                                        raise_exception=False)
               for p in points)


def _norm_problem(spec: TensorSpec) -> str | None:
    """y.data.norm() is sqrt(sum y^2) of y's values (any sign, any rank), and y.data is y's
    memory without grad."""
    y = spec.build().requires_grad_(True) * 2
    data = y.data
    reference = float(np.sqrt(np.sum(data.double().numpy() ** 2)))
    norm = float(data.norm())
    if not math.isclose(norm, reference, rel_tol=NORM_RTOL * 10, abs_tol=1e-12):
        return f"norm {norm} != sqrt(sum y^2) = {reference}"
    return None if data.data_ptr() == y.data_ptr() and not data.requires_grad else \
        "y.data is not y's memory without grad"


def judge_data_norm(ctx: ClaimContext) -> Outcome:
    generator = torch.Generator().manual_seed(ctx.seed)
    x = _leaf(ctx, torch.rand(3, generator=generator))
    y = x * 2
    data = y.data
    norm = float(data.norm())
    values = data.cpu().numpy().astype(np.float64)
    reference = float(np.linalg.norm(values))
    by_hand = float(np.sqrt(np.sum(values * values)))
    ok = (abs(norm - reference) <= NORM_RTOL * reference
          and abs(by_hand - reference) <= NORM_RTOL * reference
          and not data.requires_grad and data.data_ptr() == y.data_ptr())
    runs = {"L2 norm at any y": run_property(_value_specs(), _norm_problem, EXAMPLES,
                                             explicit=_value_corners())}
    return judged_properties(runs, ok, Verdict.HOLDS,
                  f"y.data.norm() = {norm:.6f}, numpy.linalg.norm = {reference:.6f} "
                  f"(L2); y.data shares y's memory without grad",
                  y=values.tolist(), norm=norm, numpy_norm=reference, sqrt_sum_squares=by_hand,
                  data_requires_grad=data.requires_grad, modern_form="y.detach().norm()")


def _space(subject: str, **extra: object) -> InputSpace:
    return InputSpace(subject, ranks=(0, 3), layouts=LAYOUTS, dtypes=("float32", "float64"),
                      examples=EXAMPLES, **extra)  # type: ignore[arg-type]


CLAIMS: tuple[Claim, ...] = (
    Claim("autograd.variable", SECTION,
          "Wrapping a tensor in autograd.Variable with requires_grad=True gives a tensor that "
          "records operations for autograd; today Variable is a legacy alias that returns a "
          "plain Tensor, and creating the tensor with requires_grad=True does the same.",
          f"{WHERE} / 变量: x = Variable(torch.ones(2,2), requires_grad=True)",
          Verdict.OUTDATED, judge_variable,
          inputs=_space("Variable(t, requires_grad)",
                        facets=(("requires_grad", (True, False)),))),
    Claim("autograd.grad_fn", SECTION,
          "A tensor made by an operation knows the function that made it: the tutorial's "
          "y.creator is gone (AttributeError) and y.grad_fn, an AddBackward0 for x + 2, "
          "replaces it.",
          f"{WHERE} / 变量: print(y.creator) and print(y.grad_fn)",
          Verdict.OUTDATED, judge_grad_fn,
          inputs=_space("grad_fn of an op's result", facets=(("ops", tuple(GRAD_FN_OPS)),))),
    Claim("autograd.forward_values", SECTION,
          "With x all ones, z = (x + 2) * (x + 2) * 3 is all 27 and its mean is 27.",
          f"{WHERE} / 变量: z = y * y * 3 and out = z.mean()",
          Verdict.HOLDS, judge_forward_values,
          inputs=_space("z = 3 (x + 2)^2 and its mean")),
    Claim("autograd.backward", SECTION,
          "out.backward() leaves d(out)/dx in x.grad: all 4.5 at x = 1, which is the "
          "analytic 1.5 (x + 2) and what finite differences (gradcheck) give.",
          f"{WHERE} / 梯度: out.backward() and print(x.grad)",
          Verdict.HOLDS, judge_backward, inputs=_space("out.backward() at any x")),
    Claim("autograd.data_norm", SECTION,
          "y.data.norm() is the Euclidean (L2) norm of y's values.",
          f"{WHERE}: the explanation of y.data.norm() under the doubling loop",
          Verdict.HOLDS, judge_data_norm, inputs=_space("y.data.norm()")),
)

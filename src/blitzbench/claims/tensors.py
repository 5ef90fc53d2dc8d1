"""Claims of the tutorial's first section: creating tensors and the basic operations.

Each judge builds the tutorial's tensors on the context's device (the tutorial makes them
on the CPU and moves them with ``.cuda()``; the behaviour claimed is the same).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from blitzbench.claims.model import Claim, ClaimContext, Outcome, Verdict
from blitzbench.claims.verdicts import judged

SECTION = "tensors"
WHERE = "入门 / 张量与操作"
SHAPE = (5, 3)
RAND_DRAWS = 1_000_000
RAND_MEAN_TOLERANCE = 0.005  # 1e6 U[0,1) draws: the mean's standard error is 2.9e-4


@contextlib.contextmanager
def _deterministic_fill() -> Iterator[None]:
    """PyTorch's deterministic mode fills memory it treats as uninitialized with NaN: the
    observable signature of "uninitialized" without ever reading garbage."""
    import torch.utils.deterministic as deterministic

    was_on = torch.are_deterministic_algorithms_enabled()
    was_fill = deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True)
    deterministic.fill_uninitialized_memory = True
    try:
        yield
    finally:
        deterministic.fill_uninitialized_memory = was_fill
        torch.use_deterministic_algorithms(was_on)


def judge_uninitialized(ctx: ClaimContext) -> Outcome:
    with _deterministic_fill():
        legacy = torch.Tensor(*SHAPE).to(ctx.device)
        empty = torch.empty(*SHAPE, device=ctx.device)
    legacy_nan = bool(torch.isnan(legacy).all())
    empty_nan = bool(torch.isnan(empty).all())
    ok = (tuple(legacy.shape) == SHAPE and legacy.dtype == torch.get_default_dtype()
          and legacy_nan and legacy_nan == empty_nan)
    return judged(ok, Verdict.HOLDS,
                  f"torch.Tensor(5,3): shape {tuple(legacy.shape)}, {legacy.dtype}; treated "
                  f"as uninitialized like torch.empty (NaN-filled in deterministic mode: "
                  f"{legacy_nan}/{empty_nan})",
                  shape=list(legacy.shape), dtype=str(legacy.dtype),
                  default_dtype=str(torch.get_default_dtype()),
                  nan_filled_legacy=legacy_nan, nan_filled_empty=empty_nan,
                  modern_form="torch.empty(5, 3)")


def judge_rand_interval(ctx: ClaimContext) -> Outcome:
    draws = torch.rand(RAND_DRAWS, device=ctx.device)
    low, high, mean = float(draws.min()), float(draws.max()), float(draws.mean())
    ok = (low >= 0.0 and high < 1.0 and abs(mean - 0.5) < RAND_MEAN_TOLERANCE
          and tuple(torch.rand(*SHAPE, device=ctx.device).shape) == SHAPE)
    return judged(ok, Verdict.HOLDS,
                  f"{RAND_DRAWS:,} draws in [{low:.2e}, {high:.7f}], mean {mean:.4f}",
                  draws=RAND_DRAWS, min=low, max=high, mean=mean, dtype=str(draws.dtype))


def judge_add_forms(ctx: ClaimContext) -> Outcome:
    x = torch.rand(*SHAPE, device=ctx.device)
    y = torch.rand(*SHAPE, device=ctx.device)
    result = torch.empty(*SHAPE, device=ctx.device)
    storage_before = result.data_ptr()
    returned = torch.add(x, y, out=result)
    same = torch.equal(x + y, torch.add(x, y)) and torch.equal(x + y, result)
    in_place = returned is result and result.data_ptr() == storage_before
    return judged(same and in_place, Verdict.HOLDS,
                  f"x + y, torch.add and out= agree: {same}; out= wrote into result's "
                  f"storage and returned it: {in_place}",
                  forms_agree=same, out_returns_result=returned is result,
                  out_keeps_storage=result.data_ptr() == storage_before)


def judge_add_inplace(ctx: ClaimContext) -> Outcome:
    x = torch.rand(*SHAPE, device=ctx.device)
    y = torch.rand(*SHAPE, device=ctx.device)
    expected = y.clone() + x
    pointer = y.data_ptr()
    returned = y.add_(x)
    mutated = torch.equal(y, expected)
    ok = returned is y and y.data_ptr() == pointer and mutated
    return judged(ok, Verdict.HOLDS,
                  f"y.add_(x) returned y itself: {returned is y}; same storage: "
                  f"{y.data_ptr() == pointer}; y now equals y + x: {mutated}",
                  returns_self=returned is y, keeps_storage=y.data_ptr() == pointer,
                  values_updated=mutated)


def judge_transpose_inplace(ctx: ClaimContext) -> Outcome:
    x = torch.rand(*SHAPE, device=ctx.device)
    original = x.clone()
    pointer, strides = x.data_ptr(), x.stride()
    returned = x.t_()
    ok = (returned is x and tuple(x.shape) == SHAPE[::-1] and x.data_ptr() == pointer
          and x.stride() == strides[::-1] and torch.equal(x, original.t()))
    return judged(ok, Verdict.HOLDS,
                  f"x.t_() kept the object, shape now {tuple(x.shape)}, strides "
                  f"{strides}->{x.stride()}, same storage (no copy)",
                  returns_self=returned is x, shape=list(x.shape),
                  strides_before=list(strides), strides_after=list(x.stride()),
                  keeps_storage=x.data_ptr() == pointer)


def judge_column_view(ctx: ClaimContext) -> Outcome:
    x = torch.rand(*SHAPE, device=ctx.device)
    column = x[:, 1]
    values_match = torch.equal(column, torch.stack([x[i][1] for i in range(SHAPE[0])]))
    shares = column.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    column.fill_(-1.0)
    write_through = bool((x[:, 1] == -1.0).all())
    ok = values_match and shares and write_through and column.is_contiguous() is False
    return judged(ok, Verdict.HOLDS,
                  f"x[:, 1] is column 1 ({values_match}), a strided view (stride "
                  f"{column.stride()}) sharing x's storage; writes show in x: {write_through}",
                  values_match=values_match, shares_storage=shares,
                  stride=list(column.stride()), write_through=write_through)


CLAIMS: tuple[Claim, ...] = (
    Claim("tensors.uninitialized", SECTION,
          "torch.Tensor(5, 3) makes a 5x3 tensor of the default dtype without initializing "
          "its memory, the same as torch.empty(5, 3).",
          f"{WHERE}: the first line of code, x = torch.Tensor(5,3)", Verdict.HOLDS,
          judge_uninitialized),
    Claim("tensors.rand_unit_interval", SECTION,
          "torch.rand draws uniformly from the half-open interval [0, 1).",
          f"{WHERE}: y = torch.rand(5,3)", Verdict.HOLDS, judge_rand_interval),
    Claim("tensors.add_forms", SECTION,
          "The + operator, torch.add and torch.add with out= give the same sum, and out= "
          "writes into the given tensor's storage.",
          f"{WHERE}: the two ways of adding and the out= result tensor", Verdict.HOLDS,
          judge_add_forms),
    Claim("tensors.add_inplace", SECTION,
          "y.add_(x) adds x into y itself and returns y.",
          f"{WHERE}: the in-place add", Verdict.HOLDS, judge_add_inplace),
    Claim("tensors.transpose_inplace", SECTION,
          "x.t_() transposes x in place: the same object, now 3x5, over the same memory.",
          f"{WHERE}: x.t_()", Verdict.HOLDS, judge_transpose_inplace),
    Claim("tensors.column_view", SECTION,
          "x[:, 1] selects column 1 as a view that shares x's memory.",
          f"{WHERE}: print(x[:,1])", Verdict.HOLDS, judge_column_view),
)

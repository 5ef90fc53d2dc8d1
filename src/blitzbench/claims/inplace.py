"""The underscore convention, judged as a general claim over ``torch.Tensor``.

The tutorial notes after ``y.add_(x)`` and ``x.t_()`` that a trailing underscore marks an
operation done in place. Two claims test that rule beyond the two examples:

- the sweep: every in-place method with an out-of-place twin (or a documented factory twin
  for fills) is run on small seeded inputs; each must return the tensor itself, keep its
  memory, and leave it equal to what the twin computes;
- the inventory: every public Tensor method whose name ends in one underscore is run
  (the sweep's cases plus probes for the rest); each must return the tensor itself and
  keep its memory, except a named set of methods that replace or move the storage by
  design. That set, and the rule's boundaries (an in-place form cannot change dtype or
  shape, nor modify a leaf that requires grad), are the condition the verdict names.

Methods are looked up by name when a judge runs, so a patched torch is what gets judged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.tensor_inputs import LAYOUTS, relaid
from blitzbench.claims.verdicts import judged

__all__ = ["CLAIMS", "SECTION", "SWEEP", "InplaceCase", "underscore_methods"]

SECTION = "inplace"
WHERE = "入门 / 张量与操作: the note after y.add_(x) and x.t_() on underscore ops"
SIDE = 4  # sample tensors are 4x4: every op runs in microseconds, shapes stay legible
MIN_SWEEP = 40  # the floor for the number of in-place methods swept
# In-place and out-of-place forms run the same kernel, so they should agree to the bit;
# a few float32 ulps cover a library (cuBLAS, cuDNN) picking another algorithm when the
# output aliases an input. Anything beyond is a wrong result.
SWEEP_RTOL = 1e-6
SWEEP_ATOL = 1e-6
#: Methods judged on contiguous tensors only, and why: the result depends on the layout by
#: definition, or the method refuses views (a boundary of the rule, BOUNDARIES checks it).
LAYOUT_BOUND: Mapping[str, str] = {
    "as_strided_": "reads raw memory: its result depends on the layout by definition",
    "detach_": "refuses views (RuntimeError: Can't detach views in-place)",
}
SUMMARY_NAMES = 6  # names listed in a one-line summary; evidence carries the full lists

Samples = Mapping[str, torch.Tensor]
ArgsBuilder = Callable[[Samples], tuple[Any, ...]]


def _no_args(_: Samples) -> tuple[Any, ...]:
    return ()


@dataclass(frozen=True)
class InplaceCase:
    """One in-place method, the sample it runs on, its arguments and its twin.

    ``twin`` receives an untouched copy of the sample and the arguments; by default it
    calls the method's name without the underscore. ``seed`` reseeds the generator
    before both the method and its twin, for the random fills.
    """

    method: str
    sample: str = "unit"
    args: ArgsBuilder = _no_args
    twin: Callable[..., torch.Tensor] | None = None
    seed: bool = False

    def run_twin(self, base: torch.Tensor, args: tuple[Any, ...]) -> torch.Tensor:
        if self.twin is not None:
            return self.twin(base, *args)
        return getattr(base, self.method[:-1])(*args)


@dataclass(frozen=True)
class CaseResult:
    """What one in-place call did to its tensor."""

    method: str
    returns_self: bool = False
    keeps_storage: bool = False
    matches_twin: bool = False
    bit_exact: bool = False
    twin_dtype_differs: bool = False
    error: str | None = None
    layout: str = "contiguous"

    @property
    def in_place(self) -> bool:
        return self.error is None and self.returns_self and self.keeps_storage

    @property
    def ok(self) -> bool:
        return self.in_place and self.matches_twin


def sample_inputs(device: torch.device, seed: int) -> dict[str, torch.Tensor]:
    """Small seeded tensors, made on the CPU (same values everywhere) and moved."""
    g = torch.Generator().manual_seed(seed)

    def unit(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g) * 0.8 + 0.1  # (0.1, 0.9): every op's domain

    n = SIDE
    samples = {
        "unit": unit(n, n), "other": unit(n, n), "third": unit(n, n),
        "ge1": unit(n, n) + 1.0,  # acosh, mvlgamma need x >= 1
        "double": unit(n, n).double(),
        "int": torch.randint(1, 10, (n, n), generator=g),
        "int_other": torch.randint(1, 4, (n, n), generator=g),
        "vec": unit(n), "vec_other": unit(n),
        "batch": unit(2, n, n), "batch_other": unit(2, n, n),
        "col": unit(n, 1),
        "rows": unit(2, n),  # source rows for the index_* ops
        "flat": unit(n * n),
        "mask": torch.rand(n, n, generator=g) > 0.5,
        # every column a permutation: scatter targets are unique, so no write order matters
        "perm": torch.argsort(torch.rand(n, n, generator=g), dim=0),
        "row_index": torch.tensor([0, 2]),
        "flat_index": torch.tensor([0, 5, 10]),
    }
    return {name: t.to(device) for name, t in samples.items()}


def _unary(names: str, sample: str = "unit") -> list[InplaceCase]:
    return [InplaceCase(f"{name}_", sample) for name in names.split()]


def _binary(names: str, sample: str = "unit", other: str = "other") -> list[InplaceCase]:
    return [InplaceCase(f"{name}_", sample, lambda s, o=other: (s[o],))
            for name in names.split()]


def _diagonal_filled(base: torch.Tensor, value: float) -> torch.Tensor:
    eye = torch.eye(base.shape[0], dtype=torch.bool, device=base.device)
    return torch.where(eye, torch.full_like(base, value), base)


SWEEP: tuple[InplaceCase, ...] = (
    *_unary("abs absolute neg negative sgn sign relu sigmoid square sqrt rsqrt reciprocal "
            "exp exp2 expm1 log log2 log10 log1p logit sin cos tan sinh cosh tanh asin acos "
            "atan asinh atanh arcsin arccos arctan arcsinh arctanh erf erfc erfinv i0 sinc "
            "digamma lgamma ceil floor round trunc fix frac deg2rad rad2deg nan_to_num "
            "conj_physical logical_not detach t tril triu"),
    *_unary("acosh arccosh", "ge1"),
    *_unary("bitwise_not", "int"),
    *_binary("add sub subtract mul multiply div divide true_divide fmod remainder "
             "floor_divide atan2 arctan2 copysign hypot nextafter igamma igammac xlogy "
             "heaviside pow"),
    # comparisons and logical ops: the twin returns bool, the in-place form writes 0/1
    # in self's dtype (recorded as twin_dtype_differs)
    *_binary("eq ne lt le gt ge greater greater_equal less less_equal not_equal "
             "logical_and logical_or logical_xor"),
    *_binary("bitwise_and bitwise_or bitwise_xor gcd lcm", "int", "int"),
    *_binary("bitwise_left_shift bitwise_right_shift", "int", "int_other"),
    InplaceCase("ldexp_", "unit", lambda s: (s["int_other"],)),
    InplaceCase("float_power_", "double", lambda s: (2.0,)),
    InplaceCase("clamp_", "unit", lambda s: (0.3, 0.7)),
    InplaceCase("clip_", "unit", lambda s: (0.3, 0.7)),
    InplaceCase("clamp_min_", "unit", lambda s: (0.4,)),
    InplaceCase("clamp_max_", "unit", lambda s: (0.6,)),
    InplaceCase("lerp_", "unit", lambda s: (s["other"], 0.3)),
    InplaceCase("addcmul_", "unit", lambda s: (s["other"], s["third"])),
    InplaceCase("addcdiv_", "unit", lambda s: (s["other"], s["third"])),
    InplaceCase("addmm_", "unit", lambda s: (s["other"], s["third"])),
    InplaceCase("addmv_", "vec", lambda s: (s["other"], s["vec_other"])),
    InplaceCase("addr_", "unit", lambda s: (s["vec"], s["vec_other"])),
    InplaceCase("addbmm_", "unit", lambda s: (s["batch"], s["batch_other"])),
    InplaceCase("baddbmm_", "batch", lambda s: (s["batch"], s["batch_other"])),
    InplaceCase("polygamma_", "unit", lambda s: (1,)),
    InplaceCase("mvlgamma_", "ge1", lambda s: (2,)),
    InplaceCase("renorm_", "unit", lambda s: (2, 0, 0.5)),
    InplaceCase("cumsum_", "unit", lambda s: (0,)),
    InplaceCase("cumprod_", "unit", lambda s: (1,)),
    InplaceCase("transpose_", "unit", lambda s: (0, 1)),
    InplaceCase("swapaxes_", "unit", lambda s: (0, 1)),
    InplaceCase("swapdims_", "unit", lambda s: (0, 1)),
    InplaceCase("squeeze_", "col"),
    InplaceCase("unsqueeze_", "unit", lambda s: (0,)),
    InplaceCase("as_strided_", "unit", lambda s: ((2, 2), (1, 2))),
    InplaceCase("index_add_", "unit", lambda s: (0, s["row_index"], s["rows"])),
    InplaceCase("index_copy_", "unit", lambda s: (0, s["row_index"], s["rows"])),
    InplaceCase("index_fill_", "unit", lambda s: (0, s["row_index"], -1.0)),
    InplaceCase("index_reduce_", "unit", lambda s: (0, s["row_index"], s["rows"], "prod")),
    InplaceCase("index_put_", "unit", lambda s: ((s["row_index"],), s["rows"])),
    InplaceCase("masked_fill_", "unit", lambda s: (s["mask"], -1.0)),
    InplaceCase("masked_scatter_", "unit", lambda s: (s["mask"], s["flat"])),
    InplaceCase("put_", "unit", lambda s: (s["flat_index"], s["flat"][:3])),
    InplaceCase("scatter_", "unit", lambda s: (0, s["perm"], s["other"])),
    InplaceCase("scatter_add_", "unit", lambda s: (0, s["perm"], s["other"])),
    InplaceCase("scatter_reduce_", "unit", lambda s: (0, s["perm"], s["other"], "sum")),
    # fills: the twin is the factory that makes the same values
    InplaceCase("zero_", twin=lambda base: torch.zeros_like(base)),
    InplaceCase("fill_", args=lambda s: (0.25,),
                twin=lambda base, value: torch.full_like(base, value)),
    InplaceCase("fill_diagonal_", args=lambda s: (0.5,), twin=_diagonal_filled),
    InplaceCase("copy_", args=lambda s: (s["other"],), twin=lambda base, src: src.clone()),
    InplaceCase("uniform_", seed=True, twin=lambda base: torch.rand_like(base)),
    InplaceCase("normal_", seed=True, twin=lambda base: torch.randn_like(base)),
    InplaceCase("random_", args=lambda s: (0, 10), seed=True,
                twin=lambda base, low, high: torch.randint_like(base, low, high)),
    InplaceCase("bernoulli_", args=lambda s: (0.5,), seed=True),
)


def _values_match(result: torch.Tensor, expected: torch.Tensor) -> tuple[bool, bool]:
    """(within the sweep tolerance, bit-exact), comparing in the result's dtype."""
    if result.shape != expected.shape:
        return False, False
    expected = expected.to(result.dtype)
    if torch.equal(result, expected):
        return True, True
    if not result.is_floating_point():
        return False, False
    close = torch.allclose(result, expected, rtol=SWEEP_RTOL, atol=SWEEP_ATOL, equal_nan=True)
    return bool(close), False


def run_case(case: InplaceCase, samples: Samples, seed: int,
             layout: str = "contiguous") -> CaseResult:
    """Call the in-place method on a copy of its sample, laid out as ``layout`` in memory,
    and compare with the twin."""
    try:
        args = case.args(samples)
        base = samples[case.sample]
        if case.seed:
            torch.manual_seed(seed)
        expected = case.run_twin(base.clone(), args)
        target = relaid(base, layout)
        pointer = target.data_ptr()
        if case.seed:
            torch.manual_seed(seed)
        returned = getattr(target, case.method)(*args)
    except Exception as exc:  # a method that is gone or refuses its sample is a finding
        return CaseResult(case.method, error=f"{type(exc).__name__}: {exc}"[:200],
                          layout=layout)
    close, exact = _values_match(target, expected)
    return CaseResult(case.method, returns_self=returned is target,
                      keeps_storage=target.data_ptr() == pointer, matches_twin=close,
                      bit_exact=exact, twin_dtype_differs=expected.dtype != target.dtype,
                      layout=layout)


def layouts_for(case: InplaceCase) -> tuple[str, ...]:
    """The layouts a case runs in: all, except where the result depends on the layout by
    definition (as_strided_ reads raw memory; a random fill's order over memory is not its
    twin's order over a contiguous tensor)."""
    return ("contiguous",) if case.method in LAYOUT_BOUND or case.seed else LAYOUTS


def _worst(results: list[CaseResult]) -> CaseResult:
    """The first layout that broke the rule, else the contiguous result."""
    return next((r for r in results if not r.ok), results[0])


def run_sweep(device: torch.device, seed: int) -> list[CaseResult]:
    """Every case in every layout it allows; one result per method (its worst layout)."""
    samples = sample_inputs(device, seed)
    with warnings.catch_warnings():
        # index_reduce_ announces its beta status once; the sweep judges it all the same
        warnings.filterwarnings("ignore", message=r"index_reduce\(\) is in beta")
        return [_worst([run_case(case, samples, seed, layout) for layout in layouts_for(case)])
                for case in SWEEP]


def sweep_runs() -> int:
    """How many (method, layout) inputs the sweep judges."""
    return sum(len(layouts_for(case)) for case in SWEEP)


def _names(results: list[CaseResult], keep: Callable[[CaseResult], bool]) -> list[str]:
    return [r.method for r in results if keep(r)]


def _short(names: list[str]) -> str:
    shown = ", ".join(names[:SUMMARY_NAMES])
    return shown + (f" (+{len(names) - SUMMARY_NAMES} more)" if len(names) > SUMMARY_NAMES
                    else "")


def judge_sweep(ctx: ClaimContext) -> Outcome:
    results = run_sweep(ctx.device, ctx.seed)
    failed = _names(results, lambda r: not r.ok)
    ok = not failed and len(results) >= MIN_SWEEP
    summary = (f"{len(results) - len(failed)}/{len(results)} in-place methods returned self, "
               f"kept their storage and matched their twin in {len(LAYOUTS)} memory layouts"
               + (f"; failed: {_short(failed)}" if failed else ""))
    outcome = judged(ok, Verdict.HOLDS, summary,
                  swept=len(results), minimum=MIN_SWEEP,
                  bit_exact=sum(r.bit_exact for r in results),
                  failed={r.method: _failure(r) for r in results if not r.ok},
                  twin_returns_other_dtype=_names(results, lambda r: r.twin_dtype_differs),
                  layouts=list(LAYOUTS), contiguous_only=dict(LAYOUT_BOUND))
    return replace(outcome, inputs_tried=sweep_runs())


def _failure(result: CaseResult) -> str:
    return f"{result.layout}: {_failure_text(result)}"


def _failure_text(result: CaseResult) -> str:
    if result.error:
        return result.error
    problems = [text for flag, text in ((result.returns_self, "returned another object"),
                                        (result.keeps_storage, "moved its storage"),
                                        (result.matches_twin, "differs from its twin"))
                if not flag]
    return "; ".join(problems)


# --- the inventory --------------------------------------------------------------------


def underscore_methods() -> tuple[str, ...]:
    """Every public Tensor method whose name ends in exactly one underscore."""
    return tuple(sorted(name for name in dir(torch.Tensor)
                        if name.endswith("_") and not name.endswith("__")
                        and not name.startswith("_")))


@dataclass(frozen=True)
class Probe:
    """An underscore method the sweep cannot compare with a twin: run it once and see
    whether it returns self and keeps the storage (None: no dense storage to compare)."""

    method: str
    call: Callable[[torch.Tensor, torch.device], Any]
    sparse: bool = False


def _sparse(device: torch.device) -> torch.Tensor:
    indices = torch.tensor([[0, 1], [1, 0]])
    return torch.sparse_coo_tensor(indices, torch.tensor([1.0, 2.0]), (2, 2),
                                   check_invariants=True).to(device)


PROBES: tuple[Probe, ...] = (
    Probe("apply_", lambda t, d: t.apply_(lambda v: v * 2)),
    Probe("map_", lambda t, d: t.map_(t.clone(), lambda a, b: a + b)),
    Probe("map2_", lambda t, d: t.map2_(t.clone(), t.clone(), lambda a, b, c: a + b + c)),
    Probe("cauchy_", lambda t, d: t.cauchy_()),
    Probe("exponential_", lambda t, d: t.exponential_()),
    Probe("geometric_", lambda t, d: t.geometric_(0.5)),
    Probe("log_normal_", lambda t, d: t.log_normal_()),
    Probe("requires_grad_", lambda t, d: t.requires_grad_()),
    Probe("resize_", lambda t, d: t.resize_(SIDE * SIDE * 4)),
    Probe("resize_as_", lambda t, d: t.resize_as_(torch.empty(SIDE * SIDE * 4, device=d))),
    Probe("set_", lambda t, d: t.set_(torch.zeros(SIDE, device=d))),
    Probe("share_memory_", lambda t, d: t.share_memory_()),
    Probe("sparse_resize_", lambda t, d: t.sparse_resize_((3, 3), 2, 0), sparse=True),
    Probe("sparse_resize_and_clear_", lambda t, d: t.sparse_resize_and_clear_((3, 3), 2, 0),
          sparse=True),
    Probe("resize_as_sparse_", lambda t, d: t.resize_as_sparse_(_sparse(d)), sparse=True),
)

STORAGE_MOVES = "replaces or reallocates the storage by design"
CPU_ONLY = "runs a Python callable per element: CPU tensors only"
#: Underscore methods that break "returns self and keeps its memory", and why, per device
#: type. share_memory_ copies a CPU tensor into shared memory; on CUDA it is a no-op.
KNOWN_EXCEPTIONS: Mapping[str, Mapping[str, str]] = {
    "cpu": {"resize_": STORAGE_MOVES, "resize_as_": STORAGE_MOVES, "set_": STORAGE_MOVES,
            "share_memory_": "moves a CPU tensor into shared memory (a new allocation)"},
    "cuda": {"resize_": STORAGE_MOVES, "resize_as_": STORAGE_MOVES, "set_": STORAGE_MOVES,
             "apply_": CPU_ONLY, "map_": CPU_ONLY, "map2_": CPU_ONLY},
}


@dataclass(frozen=True)
class Boundary:
    """An in-place call the rule forbids: it must raise, where the twin would not."""

    name: str
    call: Callable[[torch.device], Any]


BOUNDARIES: tuple[Boundary, ...] = (
    # int64 / 2 is float32: an in-place form cannot change self's dtype
    Boundary("dtype: int64.div_(2)", lambda d: torch.arange(4, device=d).div_(2)),
    Boundary("dtype: int64.sqrt_()", lambda d: torch.arange(4, device=d).sqrt_()),
    # (4,) + (4, 4) broadcasts to (4, 4): an in-place form cannot grow self
    Boundary("shape: (4,).add_((4, 4))",
             lambda d: torch.ones(SIDE, device=d).add_(torch.ones(SIDE, SIDE, device=d))),
    Boundary("autograd: leaf requiring grad",
             lambda d: torch.ones(SIDE, device=d, requires_grad=True).add_(1)),
    Boundary("overlap: expanded view",
             lambda d: torch.zeros(1, device=d).expand(SIDE).add_(1)),
    Boundary("views: detach_ on a slice",
             lambda d: torch.zeros(SIDE, SIDE, device=d)[1:].detach_()),
)


#: Probes judged on a contiguous tensor only: they replace or move the storage by design,
#: or their sample is sparse.
PROBE_LAYOUT_BOUND = frozenset({"resize_", "resize_as_", "set_", "share_memory_"})


def run_probe(probe: Probe, device: torch.device, seed: int,
              layout: str = "contiguous") -> CaseResult:
    g = torch.Generator().manual_seed(seed)
    target = _sparse(device) if probe.sparse else relaid(
        torch.rand(SIDE, SIDE, generator=g).to(device), layout)
    pointer = None if probe.sparse else target.data_ptr()
    try:
        returned = probe.call(target, device)
    except Exception as exc:
        return CaseResult(probe.method, error=f"{type(exc).__name__}: {exc}"[:200],
                          layout=layout)
    keeps = True if pointer is None else target.data_ptr() == pointer
    return CaseResult(probe.method, returns_self=returned is target, keeps_storage=keeps,
                      matches_twin=True, layout=layout)


def probe_layouts(probe: Probe) -> tuple[str, ...]:
    bound = probe.sparse or probe.method in PROBE_LAYOUT_BOUND
    return ("contiguous",) if bound else LAYOUTS


def run_probes(device: torch.device, seed: int) -> dict[str, CaseResult]:
    """Every probe in every layout it allows; per method its first layout that was not in
    place, else the contiguous result."""
    results = {}
    for probe in PROBES:
        runs = [run_probe(probe, device, seed, layout) for layout in probe_layouts(probe)]
        results[probe.method] = next((r for r in runs if not r.in_place), runs[0])
    return results


def inventory_runs() -> int:
    """How many (method, layout) inputs the inventory judges."""
    return sweep_runs() + sum(len(probe_layouts(p)) for p in PROBES)


def boundary_outcome(boundary: Boundary, device: torch.device) -> str:
    """'raises RuntimeError' is the rule's answer; anything else is recorded as is."""
    try:
        boundary.call(device)
    except RuntimeError:
        return "raises RuntimeError"
    except Exception as exc:
        return f"raises {type(exc).__name__}"
    return "allowed"


@dataclass(frozen=True)
class Inventory:
    """The underscore methods, what each did, and how that compares with the rule."""

    names: tuple[str, ...]
    results: Mapping[str, CaseResult]
    known: Mapping[str, str]
    boundaries: Mapping[str, str] = field(default_factory=dict)

    @property
    def exceptions(self) -> dict[str, str]:
        return {name: _exception_text(r) for name, r in self.results.items() if not r.in_place}

    @property
    def unexplained(self) -> dict[str, str]:
        return {n: why for n, why in self.exceptions.items() if n not in self.known}

    @property
    def missing(self) -> list[str]:
        """Named exceptions that behaved like ordinary in-place methods after all."""
        return sorted(n for n in self.known if n in self.results and self.results[n].in_place)

    @property
    def unprobed(self) -> list[str]:
        return [n for n in self.names if n not in self.results]

    @property
    def boundaries_ok(self) -> bool:
        return all(v == "raises RuntimeError" for v in self.boundaries.values())


def _exception_text(result: CaseResult) -> str:
    text = _exception_reason(result)
    return text if result.layout == "contiguous" else f"{result.layout}: {text}"


def _exception_reason(result: CaseResult) -> str:
    if result.error:
        return result.error
    return "; ".join(text for flag, text in ((result.returns_self, "returns another object"),
                                             (result.keeps_storage, "storage moved"))
                     if not flag)


def take_inventory(device: torch.device, seed: int) -> Inventory:
    names = underscore_methods()
    results = {r.method: r for r in run_sweep(device, seed)}
    results.update(run_probes(device, seed))
    return Inventory(names=names, results={n: r for n, r in results.items() if n in names},
                     known=KNOWN_EXCEPTIONS.get(device.type, {}),
                     boundaries={b.name: boundary_outcome(b, device) for b in BOUNDARIES})


def judge_inventory(ctx: ClaimContext) -> Outcome:
    inv = take_inventory(ctx.device, ctx.seed)
    sweep_names = {case.method for case in SWEEP}
    exceptions = inv.exceptions
    evidence = dict(
        underscore_methods=len(inv.names), swept=len(sweep_names & set(inv.names)),
        probed=len({p.method for p in PROBES} & set(inv.names)),
        not_swept=sorted(set(inv.names) - sweep_names), unprobed=inv.unprobed,
        exceptions=exceptions, named_exceptions=dict(inv.known),
        unexplained=inv.unexplained, named_but_not_observed=inv.missing,
        boundaries=dict(inv.boundaries),
        condition="in place except the named exceptions; an in-place form cannot change "
                  "self's dtype or shape, write through an expanded view, or modify a leaf "
                  "that requires grad, or detach a view (each raises RuntimeError); "
                  "comparison and logical "
                  "in-place forms write 0/1 in self's dtype")
    in_place = len(inv.results) - len(exceptions)
    summary = (f"{in_place} of {len(inv.names)} underscore methods returned self and kept "
               f"their memory; exceptions: {_short(sorted(exceptions)) or 'none'}; "
               f"unprobed: {len(inv.unprobed)}")
    if inv.unexplained or inv.missing or not inv.boundaries_ok:
        problems = [*(f"{n}: {w}" for n, w in inv.unexplained.items()),
                    *(f"{n} is named but behaved in place" for n in inv.missing),
                    *(f"{n}: {v}" for n, v in inv.boundaries.items()
                      if v != "raises RuntimeError")]
        return Outcome(Verdict.FAILS, f"contradicted: {_short(problems)}", evidence,
                       inventory_runs())
    verdict = Verdict.CONDITIONAL if exceptions else Verdict.HOLDS
    return Outcome(verdict, summary, evidence, inventory_runs())


CLAIMS: tuple[Claim, ...] = (
    Claim("inplace.underscore_sweep", SECTION,
          f"Each of at least {MIN_SWEEP} in-place Tensor methods with an out-of-place twin "
          "(abs_, add_, clamp_, exp_, t_, zero_, fill_, ...) returns the tensor itself, keeps "
          "its memory, and leaves it equal to what the twin computes.",
          WHERE, Verdict.HOLDS, judge_sweep,
          inputs=InputSpace("in-place methods with a twin", layouts=LAYOUTS,
                            dtypes=("float32", "float64", "int64", "bool"),
                            facets=(("methods", ("147 swept",)),))),
    Claim("inplace.underscore_inventory", SECTION,
          "Every public Tensor method whose name ends in one underscore works in place: it "
          "returns the tensor itself and keeps its memory.",
          WHERE, Verdict.CONDITIONAL, judge_inventory,
          inputs=InputSpace("every underscore method", layouts=LAYOUTS,
                            facets=(("methods", ("swept and probed",)),))),
)

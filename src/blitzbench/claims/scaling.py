"""The tutorial's "y = 1024 * x" example: a doubling loop and the gradient it leaves.

The loop doubles y = 2x until its L2 norm reaches 1000, so it stops at y = 2^k x with

    k = max(1, ceil(log2(1000 / ||x||))).

The formula is exact, edge included: doubling is exact in floating point, so the float32
norm of 2^k x is exactly 2^k times the norm of x, and the loop stops at the first k with
2^k ||x|| >= 1000; when 1000 / ||x|| is a power of two, float64 computes it exactly. The
backward pass multiplies the incoming gradient by 2 once per doubling: x.grad = 2^k v.

For x = torch.rand(3), ||x|| < sqrt(3) < 1000/512, so k >= 10 always, and k = 10 exactly
when ||x|| >= 1000/1024: the unit cube minus the octant of a ball of radius 0.9766, whose
probability is 1 - (pi/6) 0.9766^3 = 0.512. "y = 1024 * x" is therefore CONDITIONAL.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from hypothesis import strategies as st

from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import judged_properties, run_property
from blitzbench.claims.tensors import ALPHA, chi_square_critical
from blitzbench.claims.verdicts import judged

__all__ = ["CLAIMS", "SECTION", "closed_form_exponents", "doubling_exponents",
           "octant_probabilities", "tutorial_loop"]

SECTION = "scaling"
WHERE = "Autograd：自动分化 / 自动求导可以做很多疯狂的事情"
THRESHOLD = 1000.0  # the loop runs while ||y|| < 1000
TUTORIAL_EXPONENT = 10  # "y = 1024 * x"
GRADIENT = (0.1, 1.0, 0.0001)  # the v passed to y.backward(v)
PRINTED_Y = (591.5636, 884.0807, 773.9807)  # the tutorial's printed y
PRINTED_GRAD = (102.4, 1024.0, 0.1024)  # the tutorial's printed x.grad, 5 significant digits
PRINTED_RTOL = 1e-4  # the tutorial prints 4 decimals / 5 significant digits
SEED_COUNT = 10_000  # x = torch.rand(3) after seeding with 0..9,999, as the issue measured
LITERAL_LOOPS = 200  # of those, run through the tutorial's own loop (autograd, y.data.norm())
BACKWARD_DRAWS = 5  # seeded draws whose backward pass is checked, besides k = 10, 11, 12
MAX_DOUBLINGS = 200  # float32 overflows to inf before this; only x = 0 would loop forever
#: x = torch.rand(3) through the default generator after torch.manual_seed(s), s < this:
#: the tutorial's own draw (the seeded draws use a torch.Generator).
DEFAULT_DRAWS = 2_000
#: Pearson's chi-square needs about 5 expected draws per category (Cochran's rule): the
#: tail of k beyond the last such category is lumped into it.
MIN_EXPECTED = 5.0
EXAMPLES = 40  # example budget (quick depth) of each generated property
MAX_LENGTH = 6  # the loop and its gradient are judged on x in [0, 1)^n for n = 1..6
#: Components of generated x: in [2^-20, 1), so float32 squares stay normal (no underflow
#: in the norm) and the loop needs at most ~30 doublings.
SMALLEST_COMPONENT = 2.0**-20


def tutorial_loop(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The tutorial's loop as written (``y.data.norm()``), counting the doublings."""
    y = x * 2
    k = 1
    while y.data.norm() < THRESHOLD:
        y = y * 2
        k += 1
        if k > MAX_DOUBLINGS:
            raise RuntimeError(f"doubling loop did not reach {THRESHOLD:g} from x = {x}")
    return y, k


def doubling_exponents(xs: torch.Tensor) -> torch.Tensor:
    """The loop run on every row of ``xs`` at once; returns each row's k (int64)."""
    y = xs * 2
    k = torch.ones(xs.shape[0], dtype=torch.int64, device=xs.device)
    active = y.norm(dim=1) < THRESHOLD
    for _ in range(MAX_DOUBLINGS):
        if not bool(active.any()):
            return k
        y = torch.where(active[:, None], y * 2, y)
        k += active
        active = y.norm(dim=1) < THRESHOLD
    raise RuntimeError(f"doubling loop did not reach {THRESHOLD:g} for some rows")


def closed_form_exponents(norms: np.ndarray) -> np.ndarray:
    """k = max(1, ceil(log2(1000 / ||x||))) from float32 norms, computed in float64."""
    ratio = THRESHOLD / np.asarray(norms, dtype=np.float64)
    return np.maximum(1, np.ceil(np.log2(ratio))).astype(np.int64)


def octant_probabilities(max_k: int) -> dict[int, float]:
    """P(k) for x uniform in [0,1)^3: P(||x|| < r) = (pi/6) r^3 for r <= 1 (ball octant)."""
    def below(k: int) -> float:
        return math.pi / 6 * (THRESHOLD / 2**k) ** 3

    probabilities = {TUTORIAL_EXPONENT: 1 - below(TUTORIAL_EXPONENT)}
    for k in range(TUTORIAL_EXPONENT + 1, max_k + 1):
        probabilities[k] = below(k - 1) - below(k)
    return probabilities


def _seeded_draws(count: int) -> torch.Tensor:
    """x = torch.rand(3) after seeding with 0..count-1 (a fresh CPU generator per seed
    draws what ``torch.manual_seed(s); torch.rand(3)`` draws)."""
    generator = torch.Generator()
    return torch.stack([torch.rand(3, generator=generator.manual_seed(s))
                        for s in range(count)])


def _batch_draws(count: int, seed: int) -> torch.Tensor:
    return torch.rand(count, 3, generator=torch.Generator().manual_seed(seed))


def _exponents(xs: torch.Tensor, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """k by the vectorized loop and by the closed form, for draws made on the CPU."""
    on_device = xs.to(device)
    by_loop = doubling_exponents(on_device).cpu().numpy()
    norms = torch.linalg.vector_norm(on_device, dim=1).cpu().numpy()
    return by_loop, closed_form_exponents(norms)


def _edge_cases(device: torch.device) -> dict[str, int]:
    """||x|| = 1000/1024 exactly stops at k = 10 (the loop needs ||y|| < 1000 to go on);
    one float32 step below needs k = 11."""
    edge = THRESHOLD / 2**TUTORIAL_EXPONENT
    below = float(np.nextafter(np.float32(edge), np.float32(0)))
    cases = {"at_1000_over_1024": edge, "one_ulp_below": below}
    return {name: tutorial_loop(torch.tensor([value, 0.0, 0.0], device=device))[1]
            for name, value in cases.items()}


def unit_vectors() -> st.SearchStrategy[list[float]]:
    """x in [2^-20, 1)^n, n = 1..MAX_LENGTH, as float32 values."""
    return st.lists(st.floats(SMALLEST_COMPONENT, 1.0, exclude_max=True, width=32),
                    min_size=1, max_size=MAX_LENGTH)


#: Explicit inputs: tiny, mid and near-1 components, short and long vectors.
VECTOR_CORNERS = ([2.0**-20], [0.5], [0.999], [2.0**-20] * 3, [0.1, 0.2, 0.3, 0.4],
                  [1e-3] * MAX_LENGTH, [0.9] * MAX_LENGTH)


def _loop_problem(values: list[float]) -> str | None:
    """The tutorial's loop on x stops at k = max(1, ceil(log2(1000 / ||x||)))."""
    x = torch.tensor(values, dtype=torch.float32)
    try:
        _, k = tutorial_loop(x.clone().requires_grad_(True))
    except RuntimeError as exc:  # the loop never reached 1000: that is the contradiction
        return str(exc)[:160]
    closed = int(closed_form_exponents(np.array([float(torch.linalg.vector_norm(x))]))[0])
    return None if k == closed else f"loop stopped at k = {k}, the formula gives {closed}"


def _backward_problem(case: tuple[list[float], list[float]]) -> str | None:
    """After the loop, y.backward(v) leaves x.grad = 2^k v exactly."""
    values, weights = case
    x = torch.tensor(values, dtype=torch.float32).requires_grad_(True)
    v = torch.tensor((weights * len(values))[:len(values)], dtype=torch.float32)
    try:
        y, k = tutorial_loop(x)
    except RuntimeError as exc:
        return str(exc)[:160]
    y.backward(v)
    grad = x.grad
    return None if grad is not None and torch.equal(grad, v * 2**k) else \
        f"x.grad = {None if grad is None else grad.tolist()}, 2^{k} v = {(v * 2**k).tolist()}"


def judge_loop_exponent(ctx: ClaimContext) -> Outcome:
    xs = _seeded_draws(SEED_COUNT)
    by_loop, closed = _exponents(xs, ctx.device)
    literal = np.array([tutorial_loop(x.to(ctx.device).requires_grad_(True))[1]
                        for x in xs[:LITERAL_LOOPS]])
    edges = _edge_cases(ctx.device)
    loop_matches = int((by_loop == closed).sum())
    literal_matches = int((literal == closed[:LITERAL_LOOPS]).sum())
    edges_ok = edges == {"at_1000_over_1024": 10, "one_ulp_below": 11}
    ok = loop_matches == SEED_COUNT and literal_matches == LITERAL_LOOPS and edges_ok
    runs = {"k at any x in [0, 1)^n": run_property(unit_vectors(), _loop_problem, EXAMPLES,
                                                   explicit=VECTOR_CORNERS)}
    return judged_properties(runs, ok, Verdict.HOLDS,
                  f"loop's k = max(1, ceil(log2(1000/||x||))) for {loop_matches}/{SEED_COUNT} "
                  f"draws (vectorized) and {literal_matches}/{LITERAL_LOOPS} (tutorial's "
                  f"loop); ||x|| = 1000/1024 stops at k={edges['at_1000_over_1024']}",
                  draws=SEED_COUNT, vectorized_matches=loop_matches,
                  literal_loops=LITERAL_LOOPS, literal_matches=literal_matches,
                  edge_cases=edges,
                  first_mismatches=_mismatches(xs, by_loop, closed))


def _mismatches(xs: torch.Tensor, by_loop: np.ndarray, closed: np.ndarray,
                limit: int = 3) -> list[dict[str, object]]:
    rows = np.flatnonzero(by_loop != closed)[:limit]
    return [{"seed": int(i), "x": xs[i].tolist(), "loop_k": int(by_loop[i]),
             "formula_k": int(closed[i])} for i in rows]


def _backward_grad(x: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, int]:
    leaf = x.to(device).requires_grad_(True)
    y, k = tutorial_loop(leaf)
    y.backward(torch.tensor(GRADIENT, device=device))
    assert leaf.grad is not None
    return leaf.grad.detach().cpu(), k


def judge_backward_scale(ctx: ClaimContext) -> Outcome:
    v = torch.tensor(GRADIENT)
    printed_y = torch.tensor(PRINTED_Y)
    inputs = [printed_y / 2**k for k in (10, 11, 12)] + list(_seeded_draws(BACKWARD_DRAWS))
    results = [_backward_grad(x, ctx.device) for x in inputs]
    exact = [torch.equal(grad, v * 2**k) for grad, k in results]
    k10_grad = results[0][0]
    printed_ok = results[0][1] == TUTORIAL_EXPONENT and torch.allclose(
        k10_grad, torch.tensor(PRINTED_GRAD), rtol=PRINTED_RTOL, atol=0)
    ok = all(exact) and printed_ok and [k for _, k in results[:3]] == [10, 11, 12]
    weights = st.lists(st.floats(-10, 10, width=32), min_size=1, max_size=MAX_LENGTH)
    corners = [(list(x), [-1.0, 0.5, -0.25, 4.0, -8.0, 0.0]) for x in VECTOR_CORNERS]
    runs = {"x.grad = 2^k v at any x, v": run_property(
        st.tuples(unit_vectors(), weights), _backward_problem, EXAMPLES, explicit=corners)}
    return judged_properties(runs, ok, Verdict.HOLDS,
                  f"x.grad = 2^k v exactly for {sum(exact)}/{len(exact)} inputs; printed y/1024, "
                  f"/2048, /4096 stop at k = {[k for _, k in results[:3]]}; the first "
                  f"gives {[round(g, 4) for g in k10_grad.tolist()]}",
                  v=list(GRADIENT), exponents=[k for _, k in results],
                  grads=[g.tolist() for g, _ in results], exact=exact,
                  k10_grad=k10_grad.tolist(), printed_grad=list(PRINTED_GRAD))


def _distribution(ks: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(ks, return_counts=True)
    return {int(k): int(c) for k, c in zip(values, counts, strict=True)}


def chi_square_k(counts: dict[int, int], total: int) -> tuple[float, int]:
    """Pearson's statistic of the measured k against the analytic law, and its degrees of
    freedom: one category per k from 10 while at least MIN_EXPECTED draws are expected, the
    tail lumped into the last; a k below 10 (impossible for x in [0, 1)^3) is infinite."""
    if any(k < TUTORIAL_EXPONENT for k in counts):
        return math.inf, 1
    law = octant_probabilities(max(max(counts), TUTORIAL_EXPONENT + 8))
    last = max(k for k, p in law.items() if sum(q for j, q in law.items() if j >= k) * total
               >= MIN_EXPECTED)
    statistic = 0.0
    for k in range(TUTORIAL_EXPONENT, last + 1):
        p = law[k] if k < last else sum(q for j, q in law.items() if j >= last)
        n = counts.get(k, 0) if k < last else sum(c for j, c in counts.items() if j >= last)
        statistic += (n - p * total) ** 2 / (p * total)
    return statistic, last - TUTORIAL_EXPONENT


def _default_generator_draws(count: int) -> torch.Tensor:
    """x = torch.rand(3) after torch.manual_seed(s), s = 0..count-1: the tutorial's draw,
    through the default generator."""
    draws = []
    for s in range(count):
        torch.manual_seed(s)
        draws.append(torch.rand(3))
    return torch.stack(draws)


def _law_tests(ctx: ClaimContext) -> dict[str, dict[str, object]]:
    """Per draw set: its k counts, the chi-square statistic against the analytic law, its
    critical value at ALPHA, and whether the closed form agrees with the loop."""
    sets = {"seeds 0..9999 (torch.Generator)": _seeded_draws(SEED_COUNT),
            "one generator": _batch_draws(SEED_COUNT, ctx.seed),
            f"default generator, manual_seed 0..{DEFAULT_DRAWS - 1}":
                _default_generator_draws(DEFAULT_DRAWS)}
    tests = {}
    for name, draws in sets.items():
        loop, closed = _exponents(draws, ctx.device)
        counts = _distribution(loop)
        statistic, dof = chi_square_k(counts, len(draws))
        tests[name] = {"k_counts": counts, "chi_square": round(statistic, 2), "dof": dof,
                       "critical": round(chi_square_critical(dof), 2),
                       "closed_form_agrees": bool((loop == closed).all())}
    return tests


def judge_always_1024(ctx: ClaimContext) -> Outcome:
    tests = _law_tests(ctx)
    counts = next(iter(tests.values()))["k_counts"]
    share = counts.get(TUTORIAL_EXPONENT, 0) / SEED_COUNT
    analytic = octant_probabilities(max(counts))
    evidence = {
        "condition": f"y = 1024 x exactly when ||x|| >= 1000/1024 = "
                     f"{THRESHOLD / 2**TUTORIAL_EXPONENT}",
        "draws": SEED_COUNT, "share_1024": share,
        "multiplier_shares": {2**k: c / SEED_COUNT for k, c in counts.items()},
        "analytic_shares": {2**k: round(p, 5) for k, p in analytic.items()},
        "law_tests": tests, "alpha_per_test": ALPHA,
    }
    summary = (f"y = 1024x for {share:.1%} of x = torch.rand(3) (seeds 0..9999): "
               + ", ".join(f"{2**k}x {c / SEED_COUNT:.1%}" for k, c in counts.items())
               + "; the analytic law passes chi-square at alpha 1e-6 for seeded, one-"
                 "generator and default-generator draws")
    drawn = 2 * SEED_COUNT + DEFAULT_DRAWS
    if share == 1.0:
        return Outcome(Verdict.HOLDS, f"always: {summary}", evidence, drawn)
    ok = 0.0 < share < 1.0 and all(
        t["closed_form_agrees"] and t["chi_square"] <= t["critical"] for t in tests.values())
    return replace(judged(ok, Verdict.CONDITIONAL, summary, **evidence), inputs_tried=drawn)


def judge_printed_example(ctx: ClaimContext) -> Outcome:
    printed_y = torch.tensor(PRINTED_Y)
    norm = float(torch.linalg.vector_norm(printed_y))
    candidates = {2**k: printed_y / 2**k for k in (9, 10, 11)}
    in_cube = {m: bool(((x >= 0) & (x < 1)).all()) for m, x in candidates.items()}
    replay = {m: tutorial_loop(x.to(ctx.device)) for m, x in candidates.items() if in_cube[m]}
    stops = {m: k for m, (_, k) in replay.items()}
    reproduces = {m: torch.allclose(y.detach().cpu(), printed_y, rtol=0, atol=5e-5)
                  for m, (y, _) in replay.items()}
    grad, k = _backward_grad(candidates[1024], ctx.device)
    grad_matches = k == TUTORIAL_EXPONENT and torch.allclose(
        grad, torch.tensor(PRINTED_GRAD), rtol=PRINTED_RTOL, atol=0)
    ok = (THRESHOLD <= norm < 2 * THRESHOLD and not in_cube[512]
          and stops == {1024: 10, 2048: 11} and all(reproduces.values()) and grad_matches)
    return judged(ok, Verdict.HOLDS,
                  f"printed y has norm {norm:.1f} in [1000, 2000); x = y/1024 is in [0,1)^3 "
                  f"and stops at k={stops.get(1024)}; the printed grad = 1024 v: {grad_matches}",
                  printed_y=list(PRINTED_Y), norm=norm, x_1024=candidates[1024].tolist(),
                  in_unit_cube={str(m): v for m, v in in_cube.items()},
                  loop_stops_at={str(m): v for m, v in stops.items()},
                  reproduces_printed_y={str(m): v for m, v in reproduces.items()},
                  grad_for_x_1024=grad.tolist(),
                  note="x = y/2048 (k = 11) would print the same y; only the printed "
                       "gradient, 1024 v rather than 2048 v, singles out k = 10; y/512 has "
                       "a component >= 1, so no torch.rand draw gives k = 9")


CLAIMS: tuple[Claim, ...] = (
    Claim("scaling.loop_exponent", SECTION,
          "The doubling loop (y = 2x, then double while ||y|| < 1000) stops at y = 2^k x "
          "with k = max(1, ceil(log2(1000 / ||x||))), including when 2^k ||x|| is exactly "
          "1000.",
          f"{WHERE}: the while loop on y.data.norm()", Verdict.HOLDS, judge_loop_exponent,
          inputs=InputSpace("the doubling loop's k", operands=("x in [0, 1)^n",),
                            ranks=(1,), dtypes=("float32",), examples=EXAMPLES,
                            facets=(("lengths", ("1-6",)),))),
    Claim("scaling.backward_scale", SECTION,
          "After the loop, y.backward(v) leaves x.grad = 2^k v; for k = 10 and "
          "v = (0.1, 1, 0.0001) that is (102.4, 1024, 0.1024).",
          f"{WHERE}: y.backward(gradients) and print(x.grad)", Verdict.HOLDS,
          judge_backward_scale,
          inputs=InputSpace("x.grad = 2^k v", operands=("x in [0, 1)^n", "v in [-10, 10]^n"),
                            ranks=(1,), dtypes=("float32",), examples=EXAMPLES,
                            facets=(("lengths", ("1-6",)),))),
    Claim("scaling.always_1024", SECTION,
          "The tutorial says the loop makes y = 1024 x; for x = torch.rand(3) that holds "
          "only when ||x|| >= 1000/1024, about half the draws; otherwise y = 2048 x, "
          "4096 x, ...",
          f"{WHERE}: the explanation that y is in fact 1024*x", Verdict.CONDITIONAL,
          judge_always_1024,
          inputs=InputSpace("k of x = torch.rand(3)", dtypes=("float32",),
                            facets=(("draw sets", ("10,000 seeded", "10,000 one generator",
                                                   f"{DEFAULT_DRAWS:,} default generator")),))),
    Claim("scaling.printed_example", SECTION,
          "The tutorial's printed y and x.grad are consistent with k = 10: x = y/1024 is a "
          "possible torch.rand(3) draw that stops at k = 10, and the printed gradient is "
          "1024 v.",
          f"{WHERE}: the printed y and x.grad", Verdict.HOLDS, judge_printed_example),
)

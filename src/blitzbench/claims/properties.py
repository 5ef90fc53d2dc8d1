"""Judge a claim as a property over generated inputs, reproducibly, with Hypothesis.

A tutorial states a rule through one example; a judge states the rule as a check on one
input and lets Hypothesis generate the inputs the statement speaks of. Runs are fixed: one
seed, no example database, no deadline, and a stated example budget per claim, multiplied at
the deep depth (``--blitz-depth full`` or ``BLITZBENCH_DEPTH=full``, which ``accept --level
full`` may set). When the rule breaks, Hypothesis shrinks the input, and the smallest failing
input goes into the evidence.

A check returns None when the rule holds on its input and a sentence saying what was wrong
otherwise. An exception the library raises inside a check (claims/faults.py) is a
contradiction too; any other exception is the judge's: :class:`JudgeError` with the input,
which the runner reports as ERROR.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st

from blitzbench.claims.faults import JudgeError, raised_by_library
from blitzbench.claims.model import Outcome, Verdict
from blitzbench.errors import UsageError

__all__ = ["DEPTH_ENV", "DEPTH_FACTORS", "PROPERTY_SEED", "PropertyRun", "budget",
           "covering_rows", "current_depth", "judged_properties", "run_property"]

T = TypeVar("T")

#: The environment variable that selects the depth (the pytest option sets it too).
DEPTH_ENV = "BLITZBENCH_DEPTH"
#: Each claim's example budget is stated for the quick depth; full multiplies it.
DEPTH_FACTORS = {"quick": 1, "full": 10}
#: One seed for every property, so a run is reproduced input for input.
PROPERTY_SEED = 20191
#: Characters of an input's description kept in evidence.
EXAMPLE_TEXT_LIMIT = 300


@dataclass(frozen=True)
class PropertyRun:
    """What a property run saw: how many inputs it tried, and on a failure the smallest
    failing input Hypothesis shrank to and what was wrong on it."""

    tried: int
    counterexample: str | None = None
    problem: str = ""

    @property
    def held(self) -> bool:
        return self.counterexample is None


class _Contradiction(AssertionError):
    """Raised inside Hypothesis so it shrinks toward the smallest contradicting input."""


def current_depth() -> str:
    """``quick`` unless BLITZBENCH_DEPTH names another depth; a wrong name is a user error."""
    depth = os.environ.get(DEPTH_ENV, "quick") or "quick"
    if depth not in DEPTH_FACTORS:
        raise UsageError(f"{DEPTH_ENV}={depth!r} is not a depth: use one of "
                         f"{', '.join(DEPTH_FACTORS)}")
    return depth


def budget(quick_examples: int) -> int:
    """The example budget at the current depth for a claim stating ``quick_examples``."""
    return quick_examples * DEPTH_FACTORS[current_depth()]


def _settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, database=None,
                    derandomize=False, report_multiple_bugs=False, verbosity=Verbosity.quiet,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
                    suppress_health_check=list(HealthCheck))


def _text(example: Any, describe: Callable[[Any], str]) -> str:
    return describe(example)[:EXAMPLE_TEXT_LIMIT]


def covering_rows(*dimensions: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Every pair of values of the first two dimensions, the others cycled along: a small
    set of inputs on which each value of every dimension appears. Hypothesis draws its
    inputs toward small, repeated cases; these explicit ones make sure no dtype, layout or
    operand kind of the declared space goes untried."""
    first, second, *rest = dimensions
    return [(a, b, *(values[i % len(values)] for values in rest))
            for i, (a, b) in enumerate(itertools.product(first, second))]


def run_property(strategy: st.SearchStrategy[T], check: Callable[[T], str | None],
                 quick_examples: int, describe: Callable[[Any], str] = repr,
                 explicit: Sequence[T] = ()) -> PropertyRun:
    """Judge ``check`` on the ``explicit`` inputs, then on up to
    ``budget(quick_examples)`` inputs drawn from ``strategy``.

    Raises :class:`JudgeError` (the smallest input, the judge's exception) when the judge's
    own code broke; returns the run otherwise.
    """
    seen = {"tried": 0, "failing": None, "problem": "", "error": None}

    def probe(example: T) -> None:
        if seen["failing"] is None:
            seen["tried"] += 1
        try:
            problem = check(example)
        except Exception as exc:  # sorted into contradiction or judge's fault
            if raised_by_library(exc):
                problem = f"raised {type(exc).__name__}: {exc}"[:200]
            else:
                seen.update(failing=_text(example, describe), error=exc)
                raise
        if problem is not None:
            seen.update(failing=_text(example, describe), problem=problem, error=None)
            raise _Contradiction(problem)

    test = given(strategy)(probe)
    for case in reversed(explicit):
        test = example(case)(test)
    test = seed(PROPERTY_SEED)(_settings(budget(quick_examples))(test))
    try:
        with _ctrl_c_kept():
            test()
    except _Contradiction:
        return PropertyRun(seen["tried"], seen["failing"], seen["problem"])
    except Exception as exc:
        cause = seen["error"] or exc
        raise JudgeError(seen["failing"] or "(none drawn)", cause) from cause
    return PropertyRun(seen["tried"])


@contextlib.contextmanager
def _ctrl_c_kept() -> Iterator[None]:
    """A Ctrl-C during a property run is never lost. Hypothesis times the garbage collector
    with a ``gc.callbacks`` hook; a KeyboardInterrupt raised inside a gc callback is
    printed as "Exception ignored" and dropped, and the claims would run on to exit 0 (seen
    in CI). The SIGINT handler therefore also sets a flag, and the interrupt is raised
    again once the run returns. Only on the main thread with Python's default handler (a
    caller's own handler is left alone)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pressed = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        pressed.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed.is_set():
        raise KeyboardInterrupt


def judged_properties(runs: Mapping[str, PropertyRun], example_ok: bool, verdict_if_ok: Verdict,
                      summary: str, **evidence: object) -> Outcome:
    """``verdict_if_ok`` when the tutorial's example (``example_ok``) and every property
    held; FAILS otherwise, naming the first property broken and its smallest input. The
    outcome counts every input tried, for the claim's coverage line."""
    tried = sum(run.tried for run in runs.values())
    evidence = {**evidence, "inputs_tried": {name: run.tried for name, run in runs.items()}}
    broken = {name: run for name, run in runs.items() if not run.held}
    if broken:
        evidence["smallest_failing_input"] = {n: r.counterexample for n, r in broken.items()}
        evidence["problem"] = {n: r.problem for n, r in broken.items()}
        name, run = next(iter(broken.items()))
        return Outcome(Verdict.FAILS, f"contradicted: {name} on {run.counterexample}: "
                                      f"{run.problem}"[:300], evidence, tried)
    if not example_ok:
        return Outcome(Verdict.FAILS, f"contradicted: {summary}", evidence, tried)
    return Outcome(verdict_if_ok, summary, evidence, tried)

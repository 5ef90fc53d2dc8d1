"""Does what a block printed match what the tutorial shows? Matching that knows PyTorch.

Both texts are read into items (:mod:`~blitzbench.tutorial.tensors`). Every item the
tutorial shows must be matched, in order, by a printed one: a tutorial may show part of
what a block prints (the post shows one line for a block that prints two), never something
else. Tensors match on shape, dtype, ``requires_grad`` and ``grad_fn`` always (the device is
the run's choice, so it is not compared); their values exactly to the printed precision
where the block is deterministic, and by their law where it draws random numbers:

- ``unit interval``: a block calling ``torch.rand`` whose shown values lie in [0, 1):
  the printed ones must too;
- ``doubling loop``: ``while y.data.norm() < T: y = y * 2`` ends with T <= ||y|| < 2T;
- ``power of two``: ``y.backward(v)`` after such a loop gives ``x.grad = 2^k * v`` for one
  whole k.

A random block's values without a law are not compared, and the verdict's detail says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from blitzbench.tutorial.tensors import PrintedTensor, TextLine, parse_printed

__all__ = ["LAWS", "Law", "Match", "match_output"]

#: A printed value and a shown one, each rounded to half a unit of its last digit (torch
#: prints 4 decimals by default), agree within one unit; this covers float noise beyond.
FLOAT_REL_TOL = 1e-9
#: A threshold the law compares a norm with is itself computed from rounded values.
PRINT_REL_TOL = 0.5e-4
RANDOM_CALL = re.compile(r"\btorch\.(rand|randn|randint|randperm|normal|bernoulli|"
                         r"multinomial)\b|\.(uniform_|normal_|random_)\(")
DOUBLING = re.compile(r"while\s+(\w+)\.data\.norm\(\)\s*<\s*([\d.]+)\s*:\s*\n\s*\1\s*=\s*"
                      r"\1\s*\*\s*2")
GRADIENT = re.compile(r"(\w+)\s*=\s*torch\.\w*[Tt]ensor\(\s*\[([^\]]*)\]\s*\)[\s\S]*?"
                      r"\.backward\(\s*\1\s*\)")


@dataclass(frozen=True)
class Law:
    """How random values are judged: ``applies`` to a block's code and the shown tensor;
    ``problem`` is None when the printed values obey it."""

    name: str
    applies: Callable[[str, PrintedTensor], bool]
    problem: Callable[[str, PrintedTensor], str | None]


def _unit_applies(code: str, shown: PrintedTensor) -> bool:
    return "torch.rand(" in code and bool(shown.values) and \
        all(0 <= v < 1 for v in shown.values)


def _unit_problem(code: str, printed: PrintedTensor) -> str | None:
    outside = [v for v in printed.values or () if not 0 <= v < 1]
    return f"values {outside[:3]} outside [0, 1)" if outside else None


def _doubling_problem(code: str, printed: PrintedTensor) -> str | None:
    threshold = float(DOUBLING.search(code).group(2))
    norm = math.sqrt(sum(v * v for v in printed.values or ()))
    tolerance = threshold * PRINT_REL_TOL
    if threshold - tolerance <= norm < 2 * threshold + tolerance:
        return None
    return f"norm {norm:.4g} outside [{threshold:g}, {2 * threshold:g})"


def _gradient_problem(code: str, printed: PrintedTensor) -> str | None:
    seed = [float(v) for v in GRADIENT.search(code).group(2).split(",") if v.strip()]
    values = printed.values or ()
    if len(values) != len(seed):
        return f"{len(values)} values for a gradient of {len(seed)}"
    ratios = {round(math.log2(p / s)) for p, s in zip(values, seed, strict=True) if s and p}
    if len(ratios) == 1:
        scale = 2.0 ** ratios.pop()
        units = printed.half_units or (0.0,) * len(values)
        if all(_close(p, scale * s, u)
               for p, s, u in zip(values, seed, units, strict=True)):
            return None
    return f"{list(values)} is not 2^k * {seed} for one whole k"


LAWS: tuple[Law, ...] = (
    Law("power of two", lambda code, shown: bool(GRADIENT.search(code)), _gradient_problem),
    Law("doubling loop", lambda code, shown: bool(DOUBLING.search(code)), _doubling_problem),
    Law("unit interval", _unit_applies, _unit_problem),
)


@dataclass(frozen=True)
class Match:
    """The comparison's outcome: ``difference`` is None when the output matches."""

    difference: str | None
    notes: tuple[str, ...] = ()


def _close(printed: float, shown: float, half_unit: float) -> bool:
    if math.isnan(printed) or math.isnan(shown):
        return math.isnan(printed) and math.isnan(shown)
    return abs(printed - shown) <= 2 * half_unit + FLOAT_REL_TOL * abs(shown)


def _structure_problem(printed: PrintedTensor, shown: PrintedTensor) -> str | None:
    for name in ("shape", "dtype", "requires_grad", "grad_fn"):
        mine, theirs = getattr(printed, name), getattr(shown, name)
        if name == "shape" and (mine is None or theirs is None):
            continue
        if mine != theirs:
            return f"{name} {mine} where the tutorial shows {theirs}"
    return None


def _values_problem(code: str, printed: PrintedTensor, shown: PrintedTensor,
                    notes: list[str]) -> str | None:
    law = next((law for law in LAWS if law.applies(code, shown)), None)
    if law is not None:
        notes.append(f"values judged by law: {law.name}")
        return law.problem(code, printed)
    if RANDOM_CALL.search(code):
        notes.append("random values not compared (no law for them)")
        return None
    if printed.values is None or shown.values is None:
        notes.append("summarized values (...) not compared")
        return None
    if len(printed.values) != len(shown.values) or not all(
            _close(p, s, max(u, w)) for p, s, u, w in
            zip(printed.values, shown.values, printed.half_units, shown.half_units,
                strict=True)):
        return f"values {printed.text} where the tutorial shows {shown.text}"
    return None


def _item_problem(code: str, printed: PrintedTensor | TextLine,
                  shown: PrintedTensor | TextLine, notes: list[str]) -> str | None:
    if isinstance(shown, TextLine):
        if isinstance(printed, TextLine) and printed.text == shown.text:
            return None
        return f"printed {_show(printed)!r} where the tutorial shows {shown.text!r}"
    if not isinstance(printed, PrintedTensor):
        return f"printed {_show(printed)!r} where the tutorial shows a tensor"
    return _structure_problem(printed, shown) or _values_problem(code, printed, shown, notes)


def _show(item: PrintedTensor | TextLine) -> str:
    return item.text[:80]


def match_output(code: str, printed_text: str, shown_text: str) -> Match:
    """Match every shown item, in order, against the printed ones (extra printed items
    are allowed); the first shown item that nothing printed matches is the difference."""
    printed: Sequence = parse_printed(printed_text)
    notes: list[str] = []
    position = 0
    for shown in parse_printed(shown_text):
        first_problem = None
        for index in range(position, len(printed)):
            trial: list[str] = []
            problem = _item_problem(code, printed[index], shown, trial)
            if problem is None:
                notes += trial
                position = index + 1
                break
            first_problem = first_problem or problem
        else:
            return Match(first_problem or f"printed nothing where the tutorial shows "
                                          f"{_show(shown)!r}", tuple(dict.fromkeys(notes)))
    return Match(None, tuple(dict.fromkeys(notes)))

"""Python statements compiled into functions, the way ``timeit`` and ``torch.utils.benchmark``
compile theirs.

A microsecond operation (a 5x3 add) costs about as much as the Python call that would wrap
it, so timing ``run()`` in a loop measures the wrapper too. ``timeit`` (and
``torch.utils.benchmark``, which builds on it) instead pastes the statement into the body
of a compiled loop, so each execution costs the statement and one loop step. blitzbench
does the same, and compiles the untimed ``run`` from the same text, so the two cannot
drift apart.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["compile_round", "compile_run"]

#: ``itertools.repeat(None, n)`` is timeit's own loop: cheaper per step than ``range(n)``.
_ROUND_TEMPLATE = """
def _blitzbench_round(_blitzbench_calls):
    for _ in _blitzbench_repeat(None, _blitzbench_calls):
{body}
        pass
"""
_RUN_TEMPLATE = """
def _blitzbench_run():
{body}
    pass
"""


def compile_round(stmt: str, stmt_globals: Mapping[str, Any]) -> Callable[[int], None]:
    """``round(calls)``: executes ``stmt`` ``calls`` times in one compiled loop."""
    return _compile(_ROUND_TEMPLATE, "_blitzbench_round", stmt, 8,
                    {**stmt_globals, "_blitzbench_repeat": itertools.repeat})


def compile_run(stmt: str, stmt_globals: Mapping[str, Any]) -> Callable[[], None]:
    """``run()``: executes ``stmt`` once (the untimed path, same text as the round)."""
    return _compile(_RUN_TEMPLATE, "_blitzbench_run", stmt, 4, stmt_globals)


def _compile(template: str, name: str, stmt: str, indent: int,
             stmt_globals: Mapping[str, Any]) -> Callable[..., None]:
    body = textwrap.indent(textwrap.dedent(stmt).strip(), " " * indent)
    code = compile(template.format(body=body), f"<blitzbench statement {stmt!r}>", "exec")
    namespace = dict(stmt_globals)  # the statement's names resolve here, as timeit's do
    exec(code, namespace)
    return namespace[name]

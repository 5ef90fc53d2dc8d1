"""What the timing loop times: a built benchmark case, as data.

A :class:`Workload` is either a callable (``run``, one unit of work per call) or, for
microsecond operations, a Python statement with its globals, like
``torch.utils.benchmark.Timer(stmt, globals=...)``: the loop then compiles the statement
into its body (timing/statement.py) instead of calling a Python function per execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from blitzbench.timing.statement import compile_run

__all__ = ["Workload", "statement_workload"]


@dataclass(frozen=True)
class Workload:
    """A built case: ``run`` does one unit of work; ``units`` says what one call processes
    (``images``, ``bytes``, ``link_bytes``, ``flop``: see timing/rates.py).

    ``stmt`` (with ``stmt_globals``), when set, is the same unit of work as a statement;
    the timing loop times it compiled, and ``run`` stays for untimed use.
    ``teardown`` releases what ``build`` took; ``probe`` returns figures gathered while the
    case ran that are not per-call times (a loader's time to first batch).
    """

    run: Callable[[], Any]
    units: Mapping[str, float] = field(default_factory=dict)
    teardown: Callable[[], None] | None = None
    probe: Callable[[], Mapping[str, float]] | None = None
    stmt: str | None = None
    stmt_globals: Mapping[str, Any] = field(default_factory=dict)


def statement_workload(stmt: str, stmt_globals: Mapping[str, Any],
                       units: Mapping[str, float] | None = None) -> Workload:
    """A workload whose ``run`` is compiled from ``stmt`` itself, so the untimed call and
    the timed loop execute the same text on the same objects."""
    return Workload(compile_run(stmt, stmt_globals), dict(units or {}), stmt=stmt,
                    stmt_globals=dict(stmt_globals))

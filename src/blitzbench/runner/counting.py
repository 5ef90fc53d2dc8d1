"""``--count-instructions``: a run's CPU cases counted under callgrind, in one valgrind
process (timing/instructions.py says how and what it costs), as a record; valgrind
missing makes the record say so (with the install line), never a failed run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blitzbench.results.instructions import CountsRecord
from blitzbench.timing.instructions import (
    CountingUnavailable,
    Interpreter,
    count_instructions,
)
from blitzbench.workloads.cifar import DataSource

__all__ = ["count_cases"]


def count_cases(cases: Sequence[Any], level: str, data: DataSource, *,
                interpreter: Interpreter | None = None) -> CountsRecord:
    """The CPU cases among ``cases`` (anything with benchmark, device and params),
    counted in one valgrind process of ``interpreter`` (default: this Python)."""
    wanted = [(case.benchmark, dict(case.params)) for case in cases if case.device == "cpu"]
    if not wanted:
        return CountsRecord(skipped="no CPU case to count")
    try:
        run = count_instructions(wanted, level, interpreter=interpreter,
                                 data_root=None if data.synthetic else str(data.root))
    except CountingUnavailable as exc:
        return CountsRecord(skipped=str(exc))
    return CountsRecord(run.counts, "", run.interpreter.label(), run.startup_s,
                        round(run.wall_s, 1))

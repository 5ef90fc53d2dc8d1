"""Instruction counts against a baseline's: rows of the verdict when both runs carry them.

A count is exact where a time is not (the same cases counted in two processes agree to
0.5%, results/instructions.py), so a change in the code shows on any machine, busy or
not. Counts cannot see memory-bandwidth, cache or threading changes; the timing rules
judge those. Like ``ranks-uniform`` the rule is not a line of the spec: it applies to
whatever was counted, whenever ``accept --baseline`` compares two runs that both counted.
"""

from __future__ import annotations

from blitzbench.acceptance.rules import RuleResult, Status
from blitzbench.acceptance.spec import BoundKind, Rule
from blitzbench.results.compare import Verdict
from blitzbench.results.instructions import (
    COUNT_THRESHOLD,
    CountsRecord,
    compare_count_records,
)

__all__ = ["COUNT_RULE", "count_rows"]

COUNT_RULE = Rule(
    id="baseline-instructions", metric="*.instructions_per_call", op="<=",
    bound=100 * COUNT_THRESHOLD, kind=BoundKind.BASELINE, device="cpu",
    source="instructions per call under callgrind against the baseline's on the same setup "
           "(torch, CPU and flags, ATen capability, valgrind): more than 2% more fails "
           "(results/instructions.py COUNT_THRESHOLD: processes agree to 0.5%); counts "
           "cannot see memory-bandwidth, cache or threading changes")
UNIT = "x baseline instructions"
STATUS = {Verdict.SLOWER: Status.FAIL, Verdict.NOISY: Status.NOISY,
          Verdict.SAME: Status.PASS, Verdict.FASTER: Status.PASS}


def count_rows(run: CountsRecord | None, baseline: CountsRecord | None) -> list[RuleResult]:
    """One row per case counted in both runs; one SKIPPED row when only one run counted
    (nothing when neither did)."""
    if run is None and baseline is None:
        return []
    if run is None or baseline is None or run.skipped or baseline.skipped:
        why = ("this run counted no instructions (--count-instructions)" if run is None
               else run.skipped or ("the baseline has no instruction counts"
                                    if baseline is None else baseline.skipped))
        return [_row(Status.SKIPPED, "cpu", COUNT_RULE.metric, None, "-", why)]
    return [_row(STATUS[c.verdict] if c.verdict is not None else Status.SKIPPED, b.device,
                 f"{b.prefix}.instructions_per_call", c.ratio if c.comparable else None,
                 f"{c.ratio:.3f}x ({b.instructions_per_call:,.0f} vs "
                 f"{a.instructions_per_call:,.0f})" if c.comparable else "-", c.evidence())
            for a, b, c in compare_count_records(baseline, run)]


def _row(status: Status, device: str, metric: str, measured: float | None, shown: str,
         detail: str) -> RuleResult:
    return RuleResult(COUNT_RULE, metric, device, status, measured, shown, UNIT, detail[:600])

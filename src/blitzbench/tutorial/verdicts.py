"""From how a block ended to its verdict: RUNS AS WRITTEN, RUNS WITH A SHIM (naming it),
OUTPUT DIFFERS (the difference), FAILS (the error, the time limit, the crash, the input
asked for, the write outside the folder), NOT RUN (after a failing block). One line each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from blitzbench.results.tutorial import (
    FAILS,
    NOT_RUN,
    OUTPUT_DIFFERS,
    RUNS_AS_WRITTEN,
    RUNS_WITH_A_SHIM,
    BlockVerdict,
    TutorialRun,
)
from blitzbench.tutorial.execute import Attempt, DataPlan, run_blocks
from blitzbench.tutorial.outputs import match_output
from blitzbench.tutorial.sources import Block, Tutorial

__all__ = ["block_verdict", "iter_verdicts", "run_tutorial"]

DETAIL_CHARS = 240  # a verdict's detail is one line of a table


def _source_line(block: Block, error: str) -> str:
    """The worker counts lines inside the block; the reader wants the source's line."""
    found = re.match(r"line (\d+): ", error)
    if not found or block.format == "notebook":
        return error
    return f"line {block.line + int(found.group(1)) - 1}: {error[found.end():]}"


def _one_line(*parts: str) -> str:
    text = "; ".join(p for p in parts if p)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


def _with_shims(shims: tuple[str, ...]) -> str:
    return f"with {', '.join(shims)}" if shims else ""


def block_verdict(block: Block, attempt: Attempt | None, failed_at: int) -> BlockVerdict:
    """The verdict of one block (``failed_at``: the block that stopped the run, or 0)."""
    if attempt is None:
        return BlockVerdict(block.index, block.line, NOT_RUN,
                            f"not run: block {failed_at} failed before it")
    common = {"index": block.index, "line": block.line, "shims": attempt.shims,
              "seconds": attempt.seconds, "spent_seconds": attempt.spent_seconds}
    if attempt.fatal:
        return BlockVerdict(**common, verdict=FAILS, failure=attempt.fatal,
                            detail=_one_line(attempt.fatal_detail, _with_shims(attempt.shims)))
    reply = attempt.reply
    if not reply["ok"]:
        return BlockVerdict(**common, verdict=FAILS, failure=reply["kind"],
                            detail=_one_line(_source_line(block, reply["error"]),
                                             _with_shims(attempt.shims)))
    passing = RUNS_WITH_A_SHIM if attempt.shims else RUNS_AS_WRITTEN
    if block.expected is None:
        return BlockVerdict(**common, verdict=passing,
                            detail=_one_line(_with_shims(attempt.shims),
                                             "the tutorial shows no output for it"))
    match = match_output(block.code, reply["stdout"], block.expected)
    if match.difference is not None:
        return BlockVerdict(**common, verdict=OUTPUT_DIFFERS,
                            detail=_one_line(match.difference, _with_shims(attempt.shims)))
    return BlockVerdict(**common, verdict=passing,
                        detail=_one_line(_with_shims(attempt.shims), "output matches",
                                         *match.notes))


def iter_verdicts(tutorial: Tutorial, device: str, data: DataPlan,
                  timeout_s: float) -> Iterator[BlockVerdict]:
    """Each block's verdict as soon as it is known (the pytest collector reports them
    one test item at a time)."""
    failed_at = 0
    for block, attempt in run_blocks(tutorial.blocks, device, data, timeout_s):
        verdict = block_verdict(block, attempt, failed_at)
        if verdict.verdict == FAILS and not failed_at:
            failed_at = block.index
        yield verdict


def run_tutorial(tutorial: Tutorial, device: str, data: DataPlan,
                 timeout_s: float) -> TutorialRun:
    started = time.perf_counter()
    blocks = tuple(iter_verdicts(tutorial, device, data, timeout_s))
    return TutorialRun(path=str(tutorial.path), format=tutorial.format, device=device,
                       blocks=blocks, seconds=time.perf_counter() - started)

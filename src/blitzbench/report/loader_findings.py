"""What the DataLoader's worker counts did, in words: the finding a table of rates hides.

A table of images/s per worker count leaves the reader to notice that 0 workers beat
every worker count, and why. This section says it, from the figures results/derived.py
computes once for every reader: per pass (a fresh loader, workers started each time, as
the tutorial's loop does) which worker count was fastest and what starting workers cost
before the first batch; and in steady state (workers already running) what share of the
in-process rate one worker drew (the figure the acceptance rule ``loader-worker-share``
judges) and what the best worker count drew.
"""

from __future__ import annotations

from collections.abc import Sequence

from blitzbench.report.document import Block, Heading, Paragraph
from blitzbench.results.derived import loader_pass_findings, loader_worker_shares
from blitzbench.results.records import Measurement

__all__ = ["loader_finding_blocks", "loader_finding_lines"]


def loader_finding_lines(rows: Sequence[Measurement]) -> list[str]:
    """One sentence per device and batch size, per pass first, then steady state."""
    lines = [f"{f.device}: {f.sentence()}." for f in loader_pass_findings(rows)]
    lines += [f"{s.device}: {s.sentence()}." for s in loader_worker_shares(rows)]
    return lines


def loader_finding_blocks(rows: Sequence[Measurement]) -> list[Block]:
    lines = loader_finding_lines(rows)
    if not lines:
        return []
    zero_fastest = any(f.in_process_fastest for f in loader_pass_findings(rows))
    blocks: list[Block] = [Heading(2, "DataLoader: workers against in-process", "loader")]
    blocks += [Paragraph(line, "warn" if zero_fastest and "0 workers was" in line else "")
               for line in lines]
    return blocks

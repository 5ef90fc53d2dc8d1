"""A torchrun job in the report: where each rank ran and how it ended, and the rank x
metric table that shows a rank slower than its peers."""

from __future__ import annotations

from blitzbench.report.document import Block, Cell, Heading, Paragraph, Table
from blitzbench.results.compare import percent
from blitzbench.results.job import JobRecord, RankCell, RankView

__all__ = ["RANKS_HEADER", "rank_blocks"]

RANKS_HEADER = ("rank", "host", "node", "local rank", "device", "hardware", "cores",
                "threads", "state")
STATE_TONES = {"finished": "good", "dead": "bad", "failed": "bad", "stopped": "warn",
               "running": "warn", "unknown": "warn"}


def rank_blocks(job: JobRecord | None) -> list[Block]:
    """Nothing for a run outside torchrun."""
    if job is None:
        return []
    hosts = ", ".join(job.hosts)
    blocks: list[Block] = [
        Heading(2, "Ranks", "ranks"),
        Paragraph(f"A torchrun job of {job.world_size} rank(s) on {job.nodes} node(s) "
                  f"({hosts}), backend {job.backend}, timeout {job.timeout_s:g} s. Ranks "
                  f"sharing a host each ran on their own slice of its cores."),
    ]
    if job.failure:
        blocks.append(Paragraph(f"The job did not finish: {job.failure}.", "bad"))
    rows = tuple((Cell(str(e.rank)), Cell(e.placement.host), Cell(str(e.placement.node_rank)),
                  Cell(str(e.placement.local_rank)), Cell(e.device, code=True),
                  Cell(e.hardware), Cell(_cores(e.cores)), Cell(str(e.threads)),
                  Cell(e.state + (f": {e.detail}" if e.detail else ""),
                       STATE_TONES.get(e.state, "")))
                 for e in job.ranks)
    blocks.append(Table(RANKS_HEADER, rows, frozenset({0, 2, 3, 7})))
    if job.view is not None and job.view.cells:
        blocks += _view_blocks(job.view, [e.rank for e in job.ranks])
    return blocks


def _cores(cores: tuple[int, ...]) -> str:
    return ", ".join(str(c) for c in cores) or "-"


def _view_blocks(view: RankView, ranks: list[int]) -> list[Block]:
    by_key = {(c.metric, c.rank): c for c in view.cells}
    rows = tuple((Cell(metric, code=True), *(_cell(by_key.get((metric, r))) for r in ranks))
                 for metric in view.metrics)
    tested = sum(1 for c in view.cells if c.verdict)
    caption = (f"Each cell: the rank's median time over the median of the ranks with the "
               f"same hardware (1.00x: the job's median). SLOWER: the rank's per-round "
               f"times, tested against the other ranks' pooled as `blitzbench compare` "
               f"does, are more than {view.threshold:.0%} slower at "
               f"{percent(view.confidence)} confidence per figure (Bonferroni over "
               f"{tested} figures).")
    flagged = view.flagged
    verdict = (f"{len(flagged)} figure(s) SLOWER than the same hardware's other ranks."
               if flagged else "No rank is slower than its peers beyond the threshold.")
    return [Heading(3, "Rank x metric", "rank-view"),
            Paragraph(verdict, "bad" if flagged else "good"),
            Table(("case", *(f"rank {r}" for r in ranks)), rows,
                  frozenset(range(1, len(ranks) + 1)), caption)]


def _cell(cell: RankCell | None) -> Cell:
    if cell is None:
        return Cell("-", "muted")
    if cell.ratio is None:
        return Cell("alone", "muted")  # no other rank with its hardware
    text = f"{cell.ratio:.2f}x"
    if cell.flagged:
        return Cell(f"{text} SLOWER", "bad")
    return Cell(text, "warn" if cell.verdict == "NOISY" else "")

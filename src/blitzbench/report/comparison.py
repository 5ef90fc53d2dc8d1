"""Two runs side by side, as a page: what ``blitzbench compare`` computed, rendered.

The statistics are results/compare.py's (Welch t over repeat medians, Bonferroni over the
figures, FASTER/SLOWER/SAME/NOISY); nothing here re-derives them. Like
torch.utils.benchmark's ``Compare`` table, figures are grouped by family with the time
unit stated once per group and the relative columns (B/A, its interval, the change)
beside the two medians; a forest plot shows every ratio with its interval against the
threshold band.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from blitzbench.report.document import Block, Cell, Document, Figure, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, TIME_UNITS, fmt_number, fmt_params
from blitzbench.report.tones import COMPARE_TONES
from blitzbench.results.compare import Comparison, Verdict, percent
from blitzbench.results.records import Measurement
from blitzbench.runs import write_bytes_atomic

__all__ = ["Row", "comparison_document", "comparison_plot", "group_unit", "render_comparison"]

Row = tuple[Measurement, Measurement, Comparison]
DPI = 110
#: the verdict's colour in the plot: report/html.py's class colours for the same tones
TONE_COLOURS = {"good": "#1a7f37", "bad": "#cf222e", "warn": "#9a6700", "muted": "#6e7781"}
ROW_HEIGHT_IN = 0.28
MAX_PLOTTED = 80  # beyond this the plot is unreadable; the tables hold every figure


def group_unit(rows: Sequence[Row]) -> tuple[float, str]:
    """One time unit for a group (s, ms, µs or ns), from the median of its medians, as
    torch.utils.benchmark's Compare picks one per table."""
    medians = [m.median_s for a, b, _ in rows for m in (a, b) if math.isfinite(m.median_s)]
    typical = statistics.median(medians) if medians else 1.0
    return next(((s, u) for s, u in TIME_UNITS if typical >= s), TIME_UNITS[-1])


def comparison_document(name_a: str, name_b: str, rows: Sequence[Row], summary: str,
                        problems: Sequence[str], figure: Figure | None) -> Document:
    """Summary, the environments' differences, the plot, one table per family."""
    level = percent(rows[0][2].confidence) if rows else MISSING
    threshold = f"{rows[0][2].threshold:.0%}" if rows else MISSING
    found = {c.verdict for _, _, c in rows}
    tone = "bad" if Verdict.SLOWER in found else "warn" if Verdict.NOISY in found else "good"
    blocks: list[Block] = [
        Heading(2, "Summary", "summary"),
        Paragraph(f"{summary}: B = {name_b} against A = {name_a}.", tone),
        Paragraph(f"B/A is B's median time over A's (above 1: B is slower); each interval is "
                  f"{level} (Bonferroni over {len(rows)} figures, 95% for all together). "
                  f"FASTER or SLOWER: the interval lies past 1 and the change past the "
                  f"threshold of {threshold}; SAME: the interval lies inside it; NOISY: "
                  f"neither, too spread to decide."),
    ]
    blocks += [Paragraph(f"Compared across environments: {'; '.join(problems)}.", "warn")
               ] if problems else []
    if figure is not None:
        blocks += [Heading(2, "Ratios", "ratios"), figure]
    for family, group in _families(rows).items():
        blocks += [Heading(2, family, family), _family_table(group)]
    return Document(f"blitzbench compare: {name_b} against {name_a}",
                    f"{len(rows)} figures measured in both runs", tuple(blocks))


def _families(rows: Sequence[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[0].family, []).append(row)
    return groups


def _family_table(group: Sequence[Row]) -> Table:
    scale, unit = group_unit(group)
    level = percent(group[0][2].confidence)
    header = ("case", "params", "device", f"A ({unit})", f"B ({unit})", "B/A",
              f"{level} CI", "change", "verdict")
    return Table(header, tuple(_cells(row, scale) for row in group), frozenset(range(3, 8)),
                 f"median time per call in {unit}; B/A and the change are relative")


def _cells(row: Row, scale: float) -> tuple[Cell, ...]:
    a, b, c = row
    tested = math.isfinite(c.ratio)
    tone = COMPARE_TONES.get(c.verdict.value, "")
    return (Cell(a.benchmark, code=True), Cell(fmt_params(a.params)), Cell(a.site),
            Cell(fmt_number(a.median_s / scale)), Cell(fmt_number(b.median_s / scale)),
            Cell(f"{c.ratio:.3f}" if tested else MISSING, tone),
            Cell(f"{c.low:.3f}–{c.high:.3f}" if tested else c.reason),
            Cell(f"{c.change:+.1%}" if tested else MISSING, tone),
            Cell(c.verdict.value, tone))


def comparison_plot(rows: Sequence[Row]) -> MplFigure | None:
    """Every tested ratio with its interval (log axis), coloured by verdict, over the band
    where a change is below the threshold."""
    tested = [r for r in rows if math.isfinite(r[2].ratio)][:MAX_PLOTTED]
    if not tested:
        return None
    fig = MplFigure(figsize=(8.0, max(2.5, ROW_HEIGHT_IN * len(tested) + 1.4)))
    ax = fig.subplots()
    threshold = tested[0][2].threshold
    ax.axvspan(1 / (1 + threshold), 1 + threshold, color="#d0d7de", alpha=0.5,
               label=f"within ±{threshold:.0%} (SAME)")
    ax.axvline(1.0, color="grey", linewidth=1)
    for verdict in Verdict:
        mine = [(i, c) for i, (_, _, c) in enumerate(tested) if c.verdict is verdict]
        if mine:
            colour = TONE_COLOURS[COMPARE_TONES[verdict.value]]
            errors = [[c.ratio - c.low for _, c in mine], [c.high - c.ratio for _, c in mine]]
            ax.errorbar([c.ratio for _, c in mine], [i for i, _ in mine], xerr=errors,
                        fmt="o", color=colour, capsize=3, label=verdict.value, gid=verdict.value)
    ax.set_yticks(range(len(tested)), [f"{a.prefix} {a.site}" for a, _, _ in tested], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("B/A median time (×; above 1: B slower), with its interval")
    ax.set_title("Which figures changed between the two runs, and by how much?")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def render_comparison(path: Path, name_a: str, name_b: str, rows: Sequence[Row],
                      summary: str, problems: Sequence[str]) -> Path:
    """Write the page (plot embedded; its PNG kept in ``plots/`` beside the page)."""
    from blitzbench.report.html import render_html
    from blitzbench.runs import write_text_atomic

    drawn = comparison_plot(rows)
    figure = None
    if drawn is not None:
        buffer = io.BytesIO()
        drawn.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        relative = f"plots/{path.stem}.png"
        write_bytes_atomic(path.parent / relative, buffer.getvalue())
        figure = Figure(relative, "B/A per figure with its interval; grey band: SAME.")
    doc = comparison_document(name_a, name_b, rows, summary, problems, figure)
    return write_text_atomic(path, render_html(doc, path.parent))

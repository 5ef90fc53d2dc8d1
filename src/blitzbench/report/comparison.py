"""Two runs side by side, as a page and as terminal rows: what ``blitzbench compare``
computed, rendered.

The statistics are results/compare.py's (Welch t over repeat medians, Bonferroni over the
figures, FASTER/SLOWER/SAME/NOISY); nothing here re-derives them. Every number shown is one
the verdict rests on: A and B are the figures the ratio is computed from (the geometric
mean of the repeats' medians, not the pooled median of all rounds, which can sit far from
it when one repeat ran on a busy machine), so B/A is B over A as printed; each figure
carries the smallest change it could have detected, and a NOISY one says why. Times are
printed each in the unit that reads best (8 ms, never 7,969,265 ns).

The forest plot shows each ratio with its interval on a log axis held around 1, so that
the band where a change is below the threshold stays visible: a figure beyond the axis is
drawn as an arrow at its edge, labelled with its ratio, instead of stretching the axis to
0.002-20x where a ±5% band is a hairline.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blitzbench.report.document import Block, Cell, Document, Figure, Heading, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_duration_s, fmt_params
from blitzbench.report.terminal import StatusRow
from blitzbench.report.tones import COMPARE_TONES, style_of
from blitzbench.results.compare import (
    Comparison,
    Verdict,
    detectable_change,
    interval_text,
    noisy_why,
    percent,
    shown_figures,
)
from blitzbench.results.records import Measurement
from blitzbench.runs import write_bytes_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["AXIS_LIMIT", "Row", "axis_limit", "comparison_document", "comparison_plot",
           "render_comparison", "status_rows"]

Row = tuple[Measurement, Measurement, Comparison]
DPI = 110
#: the verdict's colour in the plot: report/html.py's class colours for the same tones
TONE_COLOURS = {"good": "#1a7f37", "bad": "#cf222e", "warn": "#9a6700", "muted": "#6e7781"}
ROW_HEIGHT_IN = 0.28
#: The ratio axis keeps this width whatever the case names beside it take (its tick
#: labels would collide on a narrower one), and a name's 7-point character this much.
AXES_WIDTH_IN = 6.0
LABEL_CHAR_IN = 0.06
MAX_PLOTTED = 80  # beyond this the plot is unreadable; the tables hold every figure
#: The plot's axis reaches at most this ratio either way (x2 slower, /2 faster); figures
#: beyond are marked at the edge. At 2x a ±5% band spans 7% of the axis's width.
AXIS_LIMIT = 2.0
#: ...and at least this many thresholds either way, so the band never fills the axis.
MIN_AXIS_THRESHOLDS = 3
#: Tick values on the ratio axis, the 1-2-5 steps of a ratio near 1.
NICE_RATIOS = (0.5, 0.6, 0.67, 0.75, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.25, 1.33,
               1.5, 1.67, 2.0)
#: Neighbouring tick labels are at least this share of the axis apart (no collision).
MIN_TICK_GAP = 0.09
HEADER = ("verdict", "case", "params", "device", "A", "B", "B/A", "CI", "change",
          "could detect", "why NOISY")


def status_rows(rows: Sequence[Row]) -> list[StatusRow]:
    """The terminal's rows: verdict first, the case, then the figures and why below."""
    return [StatusRow(c.verdict.value, style_of(c.verdict.value, COMPARE_TONES),
                      f"{a.prefix} on {a.site}", _below((a, b, c))) for a, b, c in rows]


def _below(row: Row) -> tuple[str, ...]:
    a, b, c = row
    shown_a, shown_b, estimator = shown_figures(a, b, c)
    figures = f"A {fmt_duration_s(shown_a)}, B {fmt_duration_s(shown_b)} ({estimator})"
    if not math.isfinite(c.ratio):
        return (f"{figures}; {c.reason}",)
    lines = [f"B/A {c.ratio:.3f} ({percent(c.confidence)} CI {interval_text(c)}); "
             f"{figures}; could detect {detectable_change(c):.0%}"]
    why = noisy_why(c)
    return (*lines, f"why NOISY: {why}") if why else tuple(lines)


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
        Paragraph(f"A and B are the figures B/A is computed from ({_estimators(rows)}), "
                  f"per call; B/A above 1: B is slower. Each interval (CI) is {level} "
                  f"(Bonferroni over {len(rows)} figures, 95% for all together). FASTER or "
                  f"SLOWER: the interval lies past 1 and the change past the threshold of "
                  f"{threshold}; SAME: the interval lies inside it; NOISY: neither, too "
                  f"spread to decide (the last column says which edge it crosses). 'could "
                  f"detect' is the smallest change the figure's spread could have called."),
    ]
    blocks += [Paragraph(f"Compared across environments: {'; '.join(problems)}.", "warn")
               ] if problems else []
    if figure is not None:
        blocks += [Heading(2, "Ratios", "ratios"), figure]
    for family, group in _families(rows).items():
        blocks += [Heading(2, family, family), _family_table(group)]
    return Document(f"blitzbench compare: {name_b} against {name_a}",
                    f"{len(rows)} figures measured in both runs", tuple(blocks))


def _estimators(rows: Sequence[Row]) -> str:
    """What A and B are, said once: ``geometric mean of the repeats' medians``."""
    return "; ".join(dict.fromkeys(shown_figures(*row)[2] for row in rows)) or MISSING


def _families(rows: Sequence[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[0].family, []).append(row)
    return groups


def _family_table(group: Sequence[Row]) -> Table:
    return Table(HEADER, tuple(_cells(row) for row in group), frozenset(range(4, 10)),
                 "time per call; B/A, its interval and the change are relative")


def _cells(row: Row) -> tuple[Cell, ...]:
    a, b, c = row
    tested = math.isfinite(c.ratio)
    tone = COMPARE_TONES.get(c.verdict.value, "")
    shown_a, shown_b, _ = shown_figures(a, b, c)
    detect = detectable_change(c)
    return (Cell(c.verdict.value, tone), Cell(a.benchmark, code=True),
            Cell(fmt_params(a.params)), Cell(a.site),
            Cell(fmt_duration_s(shown_a)), Cell(fmt_duration_s(shown_b)),
            Cell(f"{c.ratio:.3f}" if tested else MISSING, tone),
            Cell(interval_text(c) if tested else MISSING),
            Cell(f"{c.change:+.1%}" if tested else MISSING, tone),
            Cell(f"{detect:.0%}" if math.isfinite(detect) else MISSING),
            Cell(noisy_why(c), "warn" if c.verdict is Verdict.NOISY else ""))


def comparison_plot(rows: Sequence[Row]) -> MplFigure | None:
    """Every tested ratio with its interval, coloured by verdict, over the band where a
    change is below the threshold, on a log axis held around 1 (see the module
    docstring)."""
    from matplotlib.figure import Figure as MplFigure  # here: the terminal needs none

    tested = [r for r in rows if math.isfinite(r[2].ratio)][:MAX_PLOTTED]
    if not tested:
        return None
    labels = [f"{a.prefix} {a.site}" for a, _, _ in tested]
    width = AXES_WIDTH_IN + LABEL_CHAR_IN * max(len(label) for label in labels)
    fig = MplFigure(figsize=(width, max(2.5, ROW_HEIGHT_IN * len(tested) + 1.6)),
                    layout="constrained")
    ax = fig.subplots()
    threshold = tested[0][2].threshold
    limit = axis_limit([c for _, _, c in tested], threshold)
    ax.axvspan(1 / (1 + threshold), 1 + threshold, color="#d0d7de", alpha=0.8,
               label=f"within ±{threshold:.0%} (SAME)")
    ax.axvline(1.0, color="grey", linewidth=1)
    for verdict in Verdict:
        mine = [(i, c) for i, (_, _, c) in enumerate(tested) if c.verdict is verdict]
        if mine:
            _draw_verdict(ax, mine, limit, TONE_COLOURS[COMPARE_TONES[verdict.value]],
                          verdict.value)
    ax.set_yticks(range(len(tested)), labels, fontsize=7)
    ax.invert_yaxis()
    _ratio_axis(ax, limit)
    beyond = any(not 1 / limit <= c.ratio <= limit for _, _, c in tested)
    ax.set_xlabel("B/A time per call (×; above 1: B slower), with its interval"
                  + (f"; arrows: beyond {limit:g}×, labelled" if beyond else ""))
    ax.set_title("Which figures changed between the two runs, and by how much?")
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncol=5, frameon=False)
    return fig


def axis_limit(comparisons: Sequence[Comparison], threshold: float) -> float:
    """How far the axis reaches either way: far enough for every interval, at least
    :data:`MIN_AXIS_THRESHOLDS` thresholds, at most :data:`AXIS_LIMIT`."""
    reach = max((abs(math.log(v)) for c in comparisons for v in (c.low, c.high)
                 if v > 0 and math.isfinite(v)), default=0.0)
    least = MIN_AXIS_THRESHOLDS * math.log1p(threshold)
    return math.exp(min(max(reach * 1.1, least), math.log(AXIS_LIMIT)))


def _draw_verdict(ax: Any, mine: Sequence[tuple[int, Comparison]], limit: float,
                  colour: str, label: str) -> None:
    """The verdict's intervals clipped to the axis (an end cut by the edge has no cap: it
    goes on beyond); a ratio beyond the axis as an arrow at the edge with its value."""
    inside = [(i, c) for i, c in mine if 1 / limit <= c.ratio <= limit]
    for i, c in inside:
        low, high = max(c.low, 1 / limit), min(c.high, limit)
        ax.hlines(i, low, high, color=colour, linewidth=1.5, gid=label)
        caps = [end for end, cut in ((low, c.low < 1 / limit), (high, c.high > limit))
                if not cut]
        ax.plot(caps, [i] * len(caps), marker="|", markersize=8, color=colour,
                linestyle="none", gid=label)
    if inside:
        ax.plot([c.ratio for _, c in inside], [i for i, _ in inside], marker="o",
                color=colour, linestyle="none", label=label, gid=label)
    for number, (i, c) in enumerate((i, c) for i, c in mine if not 1 / limit <= c.ratio
                                    <= limit):
        high = c.ratio > limit
        edge = limit if high else 1 / limit
        ax.plot([edge], [i], marker=">" if high else "<", color=colour, markersize=9,
                linestyle="none", gid=f"{label}-beyond", clip_on=False,
                label=label if not inside and number == 0 else None)
        ax.annotate(f"{c.ratio:.3g}×", (edge, i), xytext=(-8 if high else 8, 0),
                    textcoords="offset points", ha="right" if high else "left",
                    va="center", fontsize=7, color=colour, gid="beyond-label")


def _ratio_axis(ax: Any, limit: float) -> None:
    """A log axis from 1/limit to limit, ticks at nice ratios no closer than
    :data:`MIN_TICK_GAP` of the axis to each other."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(1 / limit, limit)
    span = 2 * math.log(limit)
    ticks: list[float] = []
    for value in sorted(NICE_RATIOS, key=lambda v: abs(math.log(v))):  # 1 first, outward
        inside = 1 / limit <= value <= limit
        if inside and all(abs(math.log(value / t)) >= MIN_TICK_GAP * span for t in ticks):
            ticks.append(value)
    ax.xaxis.set_major_locator(FixedLocator(sorted(ticks)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


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
        figure = Figure(relative, "B/A per figure with its interval; grey band: SAME; an "
                                  "arrow at an edge: a ratio beyond the axis, labelled.")
    doc = comparison_document(name_a, name_b, rows, summary, problems, figure)
    return write_text_atomic(path, render_html(doc, path.parent))

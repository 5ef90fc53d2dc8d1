"""The report's plots, drawn with matplotlib's Agg canvas from benchmark records.

Each plot answers one question, asked in its title; its axes carry units and plain tick
labels (``64``, ``2,000``, never ``2×10⁰``); each series has a colour and a marker of its
own, and every line is tagged (``gid``) with the benchmark it draws, so a test can check
that a plot shows only the family its title names. A plot whose records are absent is
left out. Single points that would sit on one another are dodged sideways by a small
factor on the log axis, and say so in the caption.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from blitzbench.report.document import Figure
from blitzbench.report.formatting import fmt_fraction, fmt_number
from blitzbench.results.derived import cuda_speedups
from blitzbench.results.names import (
    BATCH_PARAM,
    GB_FIELD,
    LOADER,
    PEAK_FRACTION_FIELD,
    RATE_FIELD,
    SCALE_PARAM,
    VARIANT_PARAM,
    WORKERS_PARAM,
)
from blitzbench.results.records import Measurement
from blitzbench.runs import write_bytes_atomic

__all__ = ["PLOTS", "PlotSpec", "bandwidth_plot", "lenet_rate_plot", "loader_plot",
           "render_plots", "speedup_plot"]

PIN = "pin_memory"
LENET_PREFIX = "lenet"
#: workloads/tensor_ops.py: the tutorial's own 5x3 cases, launch time rather than bandwidth
TUTORIAL_SCALE = "tutorial"
DPI = 110
WIDE = (7.5, 4.2)
PANEL_WIDTH = 6.0
#: matplotlib's tab10 palette: ten colours told apart by most readers
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
DODGE = 2 ** 0.06  # sideways step between series on a log-2 axis (6% of a doubling)
FEW_BARS = 12  # up to this many bars carry their value as a label
#: the legend entry of hollow markers, and what every caption says of them
HOLLOW_LABEL = "hollow: noisy, or measured on a busy machine"
HOLLOW_NOTE = ("Hollow markers: figures that were noisy (IQR above 10% of the median) or "
               "measured while the machine was busy: contention, not a finding; read "
               "differences between them with care.")
#: Tick values of a ratio axis (a speed-up), so that a narrow range still reads.
RATIO_TICKS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0,
               20.0, 30.0, 50.0, 70.0, 100.0, 200.0, 500.0, 1000.0)
MIN_RATIO_TICKS = 4
MAX_BARS = 40  # beyond this a bar chart is unreadable; the tables still hold every record


@dataclass(frozen=True)
class PlotSpec:
    """A plot's file name, its caption, and the function that draws it (None: no data)."""

    name: str
    caption: str
    draw: Callable[[Sequence[Measurement]], MplFigure | None]


def render_plots(rows: Sequence[Measurement], folder: Path,
                 prefix: str = "") -> list[Figure]:
    """Draw every plot that has data, save each PNG atomically into ``folder``; return the
    report figures with paths ``prefix + file name``."""
    figures = []
    for spec in PLOTS:
        drawn = spec.draw(rows)
        if drawn is None:
            continue
        buffer = io.BytesIO()
        drawn.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        write_bytes_atomic(folder / f"{spec.name}.png", buffer.getvalue())
        figures.append(Figure(f"{prefix}{spec.name}.png", spec.caption))
    return figures


def loader_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """DataLoader images/s against num_workers, one series per (device, batch size): the
    loader alone (the training loop has its own table, "What bounds the training loop")."""
    picked = [r for r in rows if r.ok and r.benchmark == LOADER and WORKERS_PARAM in r.params
              and r.figure(RATE_FIELD)]
    if not picked:
        return None
    lines = _lines(picked, lambda r: (r.site, _param(r, BATCH_PARAM), _param(r, PIN)),
                   lambda r: r.params[WORKERS_PARAM])
    fig, ax = _axes()
    for index, ((device, batch, pinned), points) in enumerate(lines.items()):
        label = f"{device}, batch {batch}" + (", pinned memory" if pinned is True else "")
        _series(ax, points, label, index, LOADER)
    ax.set_xlabel("num_workers (DataLoader worker processes)")
    ax.set_ylabel("images/s")
    ax.set_title("How fast does the DataLoader deliver images with more workers?")
    workers = sorted({point[0] for pts in lines.values() for point in pts})
    ax.xaxis.set_major_locator(FixedLocator(workers))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v)))
    return _finish(fig, ax)


def lenet_rate_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """LeNet images/s against batch size (log-log): one panel per benchmark (forward,
    training step), one series per (device, variant), colour and marker alike kept across
    the panels."""
    picked = _lenet_rows(rows)
    if not picked:
        return None
    benchmarks = sorted({r.benchmark for r in picked})
    keys = sorted({(r.site, str(_param(r, VARIANT_PARAM))) for r in picked},
                  key=lambda k: (k[0], k[1] != "eager", k[1]))
    fig = MplFigure(figsize=(PANEL_WIDTH * len(benchmarks), WIDE[1] + 0.6))
    for ax, benchmark in zip(fig.subplots(1, len(benchmarks), squeeze=False)[0], benchmarks,
                             strict=True):
        mine = [r for r in picked if r.benchmark == benchmark]
        lines = _lines(mine, lambda r: (r.site, str(_param(r, VARIANT_PARAM))),
                       lambda r: r.params[BATCH_PARAM])
        for key, points in lines.items():
            index = keys.index(key)
            _series(ax, _dodged(points, index, len(keys)), f"{key[0]} {key[1]}", index,
                    benchmark)
        _log_axes(ax, sorted({p[0] for pts in lines.values() for p in pts}))
        ax.set_xlabel("batch size (images)")
        ax.set_ylabel("images/s")
        ax.set_title(f"{benchmark}: images/s by batch size")
        _finish(fig, ax)
    fig.suptitle("How does LeNet's throughput grow with the batch, per device and variant?")
    return fig


def speedup_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """CUDA over CPU images/s against batch size, for each LeNet case measured on both."""
    speedups = cuda_speedups(_lenet_rows(rows))
    if not speedups:
        return None
    lines: dict[tuple[Any, ...], list[tuple[float, float, bool]]] = {}
    for speedup in speedups:
        row = speedup.cuda
        key = (row.benchmark, row.site, _param(row, VARIANT_PARAM))
        lines.setdefault(key, []).append((float(row.params[BATCH_PARAM]), speedup.ratio,
                                          _doubtful(row) or _doubtful(speedup.cpu)))
    fig, ax = _axes()
    for index, ((benchmark, device, variant), points) in enumerate(sorted(lines.items())):
        _series(ax, _dodged(sorted(points), index, len(lines)),
                f"{benchmark} {variant} ({device} / cpu)", index, benchmark)
    ax.axhline(1.0, color="grey", linewidth=1, linestyle="--")
    _log_axes(ax, sorted({p[0] for pts in lines.values() for p in pts}))
    _ratio_ticks(ax, [p[1] for pts in lines.values() for p in pts])
    ax.set_xlabel("batch size (images)")
    ax.set_ylabel("speedup (CUDA images/s ÷ CPU images/s, ×)")
    ax.set_title("Is LeNet faster on the GPU than on the CPU, and from which batch size?")
    return _finish(fig, ax)


def bandwidth_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """Achieved fraction of the device's nominal memory bandwidth, one bar per memory-size
    probe that has a peak to meet (GB/s figures only: the matmul's TFLOP/s is not a
    bandwidth, and the tutorial's 5x3 cases measure a launch, not memory)."""
    picked = [r for r in rows if r.ok and r.extra.get(GB_FIELD) is not None
              and r.figure(PEAK_FRACTION_FIELD) is not None
              and r.params.get(SCALE_PARAM) != TUTORIAL_SCALE][:MAX_BARS]
    if not picked:
        return None
    labels = [f"{r.benchmark} {_size(r)} {r.site}".replace("  ", " ") for r in picked]
    values = [r.figure(PEAK_FRACTION_FIELD) or 0.0 for r in picked]
    fig = MplFigure(figsize=(WIDE[0], max(2.0, 0.35 * len(picked) + 1.2)))
    ax = fig.subplots()
    bars = ax.barh(range(len(picked)), values, color=COLOURS[0], gid="tensor_ops")
    if len(picked) <= FEW_BARS:
        ax.bar_label(bars, labels=[f"{fmt_fraction(v)} ({fmt_number(r.extra[GB_FIELD])} GB/s)"
                                   for v, r in zip(values, picked, strict=True)],
                     padding=3, fontsize=8)
    ax.set_yticks(range(len(picked)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", linewidth=1, linestyle="--")
    ax.set_xlim(0, max(1.3, max(values) * 1.3))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("achieved bandwidth, % of the device's nominal peak")
    ax.set_title("How close do memory-bound tensor ops come to peak bandwidth?")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


PLOTS = (
    PlotSpec("loader_workers", "DataLoader alone: images/s against num_workers, per device "
             f"and batch size. {HOLLOW_NOTE}", loader_plot),
    PlotSpec("lenet_batch", "LeNet images/s against batch size, log axes: each device and "
             "variant (eager, CUDA graph, ...) its own colour and marker; points dodged "
             f"sideways a little so none hides another. {HOLLOW_NOTE}", lenet_rate_plot),
    PlotSpec("cuda_speedup", "CUDA over CPU images/s for the same LeNet case; above the dashed "
             f"line the GPU is faster. {HOLLOW_NOTE}", speedup_plot),
    PlotSpec("bandwidth_fraction", "Memory-size tensor ops: achieved fraction of the device's "
             "nominal peak bandwidth (dashed line: the peak).", bandwidth_plot),
)


def _lenet_rows(rows: Sequence[Measurement]) -> list[Measurement]:
    return [r for r in rows if r.ok and r.benchmark.startswith(LENET_PREFIX)
            and BATCH_PARAM in r.params and WORKERS_PARAM not in r.params
            and r.figure(RATE_FIELD)]


def _param(row: Measurement, name: str) -> Any:
    return row.params.get(name, "")


def _size(row: Measurement) -> str:
    return " ".join(str(v) for k, v in sorted(row.params.items()) if k != SCALE_PARAM)


def _doubtful(row: Measurement) -> bool:
    """A figure to read with care: noisy, or measured while the machine was busy."""
    return row.noisy or bool(row.busy_reason())


def _lines(rows: Sequence[Measurement], key: Callable[[Measurement], Any],
           x: Callable[[Measurement], Any]) -> dict[Any, list[tuple[float, float, bool]]]:
    """Points (x, images/s, doubtful) per line, sorted by x."""
    lines: dict[Any, list[tuple[float, float, bool]]] = {}
    for row in rows:
        lines.setdefault(key(row), []).append((float(x(row)), row.figure(RATE_FIELD) or 0.0,
                                               _doubtful(row)))
    return {k: sorted(v) for k, v in sorted(lines.items(), key=lambda kv: str(kv[0]))}


def _dodged(points: Sequence[tuple[float, float, bool]], index: int,
            count: int) -> list[tuple[float, float, bool]]:
    """Series ``index`` of ``count`` moved sideways on a log axis, centred on the true x."""
    factor = DODGE ** (index - (count - 1) / 2)
    return [(x * factor, y, noisy) for x, y, noisy in points]


def _series(ax: Any, points: Sequence[tuple[float, float, bool]], label: str, index: int,
            benchmark: str) -> None:
    """One series in colour and marker ``index``; doubtful points (noisy, or measured on a
    busy machine) drawn hollow, with a legend entry saying so."""
    colour, marker = COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    ax.plot(xs, ys, linestyle="-", marker=marker, label=label, color=colour, gid=benchmark,
            markersize=7, alpha=0.9)
    noisy = [p for p in points if p[2]]
    if noisy:
        ax.plot([p[0] for p in noisy], [p[1] for p in noisy], linestyle="none", marker=marker,
                markersize=10, markerfacecolor="white", markeredgecolor=colour, gid=benchmark,
                label=HOLLOW_LABEL)


def _log_axes(ax: Any, batch_sizes: Sequence[float]) -> None:
    """Log axes, ticks at the measured batch sizes and at 1-2-5 steps, in plain numbers."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: fmt_number(v))
    ax.xaxis.set_major_locator(FixedLocator([round(b) for b in batch_sizes]))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(NullFormatter())


def _ratio_ticks(ax: Any, values: Sequence[float]) -> None:
    """Label a log ratio axis at :data:`RATIO_TICKS` within its range: at least
    :data:`MIN_RATIO_TICKS` of them where the range holds that many (a 1-3x speed-up read
    only "1" and "2" with 1-2-5 decade ticks)."""
    low, high = min([*values, 1.0]), max([*values, 1.0])
    inside = [t for t in RATIO_TICKS if low / 1.1 <= t <= high * 1.1]
    while len(inside) < MIN_RATIO_TICKS and len(inside) < len(RATIO_TICKS):
        below = [t for t in RATIO_TICKS if t < min(inside, default=low)]
        above = [t for t in RATIO_TICKS if t > max(inside, default=high)]
        inside = sorted([*inside, *below[-1:], *above[:1]])
    ax.set_ylim(min(inside) / 1.1, max(inside) * 1.1)
    ax.yaxis.set_major_locator(FixedLocator(inside))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _axes() -> tuple[MplFigure, Any]:
    fig = MplFigure(figsize=WIDE)
    return fig, fig.subplots()


def _finish(fig: MplFigure, ax: Any) -> MplFigure:
    """Grid and legend, each label once (every series' hollow points share one entry)."""
    ax.grid(True, which="both", alpha=0.3)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    once = dict(zip(labels, handles, strict=True))
    if HOLLOW_LABEL in once:  # one neutral entry for every series' hollow points, last
        del once[HOLLOW_LABEL]
        once[HOLLOW_LABEL] = Line2D([], [], linestyle="none", marker="o", markersize=8,
                                    markerfacecolor="white", markeredgecolor="grey",
                                    label=HOLLOW_LABEL)
    ax.legend(once.values(), once.keys(), fontsize=8, loc="best")
    return fig

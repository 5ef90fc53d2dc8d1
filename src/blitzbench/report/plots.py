"""The report's PNG plots, drawn with matplotlib's Agg canvas from benchmark records.

Each plot picks its records by what they carry, not by a list of names kept here: the
DataLoader plot takes records with a ``num_workers`` parameter, the LeNet plots take
``lenet*`` records with a ``batch_size``, the bandwidth plot takes records with a
``fraction_of_peak`` figure. A plot whose records are absent is left out.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure as MplFigure

from blitzbench.report.document import Figure
from blitzbench.results.derived import cuda_speedups
from blitzbench.results.names import (
    BATCH_PARAM,
    PEAK_FRACTION_FIELD,
    RATE_FIELD,
    VARIANT_PARAM,
    WORKERS_PARAM,
)
from blitzbench.results.records import Measurement
from blitzbench.runs import write_bytes_atomic

__all__ = ["PLOTS", "PlotSpec", "bandwidth_plot", "lenet_rate_plot", "loader_plot",
           "render_plots", "speedup_plot"]

RATE = RATE_FIELD
FRACTION = PEAK_FRACTION_FIELD
WORKERS = WORKERS_PARAM
BATCH = BATCH_PARAM
VARIANT = VARIANT_PARAM
PIN = "pin_memory"
LENET_PREFIX = "lenet"
DPI = 110
WIDE = (7.5, 4.2)
PANEL_WIDTH = 6.0
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DEVICE_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756")  # one per device: cpu first
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
    """DataLoader images/s against num_workers, one line per (device, batch size)."""
    picked = [r for r in rows if r.ok and WORKERS in r.params and r.figure(RATE)]
    if not picked:
        return None
    lines = _lines(picked, lambda r: (r.site, _param(r, BATCH), _param(r, PIN)),
                   lambda r: r.params[WORKERS])
    fig, ax = _axes()
    for index, ((device, batch, pinned), points) in enumerate(lines.items()):
        label = f"batch {batch}" if _one_device(picked) else f"{device}, batch {batch}"
        label += ", pinned" if pinned is True else ""
        _plot_line(ax, points, label, MARKERS[index % len(MARKERS)], "-")
    ax.set_xlabel("num_workers")
    ax.set_ylabel("images/s")
    ax.set_title("DataLoader throughput against worker count")
    ax.set_xticks(sorted({point[0] for pts in lines.values() for point in pts}))
    return _finish(fig, ax)


def lenet_rate_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """LeNet images/s against batch size (log-log): one panel per benchmark (forward,
    training step), a colour per device and a line style per variant."""
    picked = _lenet_rows(rows)
    if not picked:
        return None
    benchmarks = sorted({r.benchmark for r in picked})
    devices = sorted({r.site for r in picked})
    # eager first, so the plain variant always gets the solid line
    variants = sorted({str(_param(r, VARIANT)) for r in picked}, key=lambda v: (v != "eager", v))
    fig = MplFigure(figsize=(PANEL_WIDTH * len(benchmarks), WIDE[1] + 0.6))
    for ax, benchmark in zip(fig.subplots(1, len(benchmarks), squeeze=False)[0], benchmarks,
                             strict=True):
        mine = [r for r in picked if r.benchmark == benchmark]
        lines = _lines(mine, lambda r: (r.site, _param(r, VARIANT)), lambda r: r.params[BATCH])
        for (device, variant), points in lines.items():
            style = LINE_STYLES[variants.index(str(variant)) % len(LINE_STYLES)]
            colour = DEVICE_COLOURS[devices.index(device) % len(DEVICE_COLOURS)]
            _plot_line(ax, points, f"{device} {variant}", "o", style, colour)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("images/s")
        ax.set_title(benchmark)
        _finish(fig, ax)
    return fig


def speedup_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """CUDA over CPU images/s against batch size, for each LeNet case measured on both."""
    speedups = cuda_speedups(_lenet_rows(rows))
    if not speedups:
        return None
    lines: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    for speedup in speedups:
        row = speedup.cuda
        key = (row.benchmark, row.site, _param(row, VARIANT))
        lines.setdefault(key, []).append((float(row.params[BATCH]), speedup.ratio))
    fig, ax = _axes()
    for index, ((benchmark, device, variant), points) in enumerate(lines.items()):
        _plot_line(ax, sorted(points), f"{benchmark} {variant} ({device} / cpu)",
                   MARKERS[index % len(MARKERS)], "-")
    ax.axhline(1.0, color="grey", linewidth=1, linestyle="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")  # 0.3x and 30x are equally far from even
    ax.set_xlabel("batch size")
    ax.set_ylabel("speedup (CUDA images/s ÷ CPU images/s)")
    ax.set_title("CUDA speedup over CPU for LeNet")
    return _finish(fig, ax)


def bandwidth_plot(rows: Sequence[Measurement]) -> MplFigure | None:
    """Achieved fraction of the device's nominal peak, one bar per probe."""
    picked = [r for r in rows if r.ok and r.figure(FRACTION) is not None][:MAX_BARS]
    if not picked:
        return None
    labels = [f"{r.benchmark} {_short_params(r.params)} {r.site}".strip() for r in picked]
    values = [r.figure(FRACTION) or 0.0 for r in picked]
    fig = MplFigure(figsize=(WIDE[0], max(2.0, 0.35 * len(picked) + 1.2)))
    ax = fig.subplots()
    ax.barh(range(len(picked)), values, color="#4c78a8")
    ax.set_yticks(range(len(picked)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", linewidth=1, linestyle="--")
    ax.set_xlim(0, max(1.05, max(values) * 1.05))
    ax.set_xlabel("fraction of nominal peak")
    ax.set_title("Bandwidth probes: achieved fraction of peak")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


PLOTS = (
    PlotSpec("loader_workers", "DataLoader images/s against num_workers, per batch size "
             "(hollow markers: noisy figures).", loader_plot),
    PlotSpec("lenet_batch", "LeNet images/s against batch size, log axes: CPU and CUDA, "
             "each variant (eager, CUDA graph, ...).", lenet_rate_plot),
    PlotSpec("cuda_speedup", "CUDA over CPU images/s for the same LeNet case; above the dashed "
             "line the GPU is faster.", speedup_plot),
    PlotSpec("bandwidth_fraction", "Achieved fraction of the device's nominal peak "
             "bandwidth (dashed line: the peak).", bandwidth_plot),
)


def _lenet_rows(rows: Sequence[Measurement]) -> list[Measurement]:
    return [r for r in rows if r.ok and r.benchmark.startswith(LENET_PREFIX)
            and BATCH in r.params and WORKERS not in r.params and r.figure(RATE)]


def _param(row: Measurement, name: str) -> Any:
    return row.params.get(name, "")


def _short_params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items()))


def _one_device(rows: Sequence[Measurement]) -> bool:
    return len({r.site for r in rows}) == 1


def _lines(rows: Sequence[Measurement], key: Callable[[Measurement], Any],
           x: Callable[[Measurement], Any]) -> dict[Any, list[tuple[float, float, bool]]]:
    """Points (x, images/s, noisy) per line, sorted by x."""
    lines: dict[Any, list[tuple[float, float, bool]]] = {}
    for row in rows:
        lines.setdefault(key(row), []).append((float(x(row)), row.figure(RATE) or 0.0,
                                               row.noisy))
    return {k: sorted(v) for k, v in sorted(lines.items(), key=lambda kv: str(kv[0]))}


def _plot_line(ax: Any, points: Sequence[tuple[float, ...]], label: str, marker: str,
               style: str, colour: str | None = None) -> None:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    (line,) = ax.plot(xs, ys, linestyle=style, marker=marker, label=label, color=colour)
    noisy = [p for p in points if len(p) > 2 and p[2]]
    if noisy:
        ax.plot([p[0] for p in noisy], [p[1] for p in noisy], linestyle="none", marker=marker,
                markersize=9, markerfacecolor="white", markeredgecolor=line.get_color())


def _axes() -> tuple[MplFigure, Any]:
    fig = MplFigure(figsize=WIDE)
    return fig, fig.subplots()


def _finish(fig: MplFigure, ax: Any) -> MplFigure:
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig

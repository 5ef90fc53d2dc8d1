"""Profiler summaries as table rows and report blocks (terminal, Markdown and HTML)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from blitzbench.report.document import Block, Cell, Heading, LinkList, Paragraph, Table
from blitzbench.report.formatting import MISSING, fmt_bytes, fmt_ms, fmt_number
from blitzbench.report.locations import Place
from blitzbench.results.names import DDP_RANKS_WORKLOAD
from blitzbench.results.records import ProfileEntry

__all__ = ["PROFILE_HEADER", "TENSORBOARD_INSTALL", "profile_blocks", "profile_fields",
           "profile_row", "rank_trace_blocks"]

#: How to get TensorBoard's PyTorch Profiler tab: blitzbench is installed from a checkout
#: (README), and its ``tensorboard`` extra is not on PyPI under that name.
TENSORBOARD_INSTALL = "pip install -e '.[tensorboard]'"

PROFILE_HEADER = ("device", "workload", "CPU time/step", "GPU busy/step", "kernels/step",
                  "peak memory", "reading")  # trace folders are listed under the table
OPERATOR_HEADER = ("operator", "calls/step", "self time/step", "share")


def profile_row(entry: ProfileEntry) -> tuple[str, ...]:
    """One line per profiled (device, workload) for a table."""
    summary = entry.summary
    gpu = summary.get("gpu") or {}
    peaks = summary.get("peak_memory_bytes") or {}
    peak = ", ".join(f"{dev} {fmt_bytes(value)}" for dev, value in sorted(peaks.items()))
    return (entry.device, entry.workload,
            fmt_ms(summary.get("cpu_ms_per_step")),
            fmt_ms(gpu.get("gpu_busy_ms_per_step")) if gpu else MISSING,
            fmt_number(gpu.get("kernels_per_step")) if gpu else MISSING,
            peak or MISSING, entry.error or reading(summary))


def profile_fields(entry: ProfileEntry) -> tuple[str, str]:
    """The row's figures in one line (``CPU 4.1 ms/step, peak memory cpu 12 MiB``; the GPU
    figures where a GPU was captured) and its reading (or the error), for the terminal."""
    _, _, cpu, gpu_busy, kernels, peak, said = profile_row(entry)
    figures = [f"CPU {cpu}/step"]
    if gpu_busy != MISSING:
        figures += [f"GPU busy {gpu_busy}/step", f"{kernels} kernels/step"]
    figures.append(f"peak memory {peak}")
    return ", ".join(figures), "" if said == MISSING else said


def reading(summary: Mapping[str, Any]) -> str:
    """The GPU note, or for a CPU capture where its step time goes."""
    if summary.get("gpu_note"):
        return str(summary["gpu_note"])
    labels = summary.get("labels_ms_per_step") or {}
    cpu_ms = summary.get("cpu_ms_per_step") or 0
    waiting = labels.get("blitzbench.next_batch")
    if waiting and cpu_ms:
        return f"{waiting / cpu_ms:.0%} of each step waits for the next batch"
    top = (summary.get("top_cpu_operators") or [{}])[0]
    if top.get("name"):
        return f"top operator {top['name']} ({top.get('share', 0):.0%} of operator time)"
    return MISSING


def profile_blocks(profiles: Sequence[ProfileEntry], place: Place | None = None) -> list[Block]:
    """The profiles section: the overview table, links to the trace folders found on disk
    (relative to the run folder), top operators."""
    place = place or Place()
    ranks = [p for p in profiles if p.workload == DDP_RANKS_WORKLOAD]
    profiles = [p for p in profiles if p.workload != DDP_RANKS_WORKLOAD]
    if not profiles:
        traces = rank_trace_blocks(ranks, place)
        return [Heading(2, "Profiler captures", "profiles"), *traces] if traces else []
    rows = tuple(tuple(Cell(text, code=i in (0, 1)) for i, text in
                       enumerate(profile_row(p))) for p in profiles)
    blocks: list[Block] = [
        Heading(2, "Profiler captures", "profiles"),
        Paragraph("Per recorded step (median). GPU busy time is the union of the kernels and "
                  "copies each step launched; when it is far below the CPU time per step, the "
                  "GPU waits for the host (launch-bound). Times include the profiler's own "
                  "overhead (shapes and memory are recorded): read the benchmarks for speed."),
        Table(PROFILE_HEADER, rows, frozenset({2, 3, 4})),
        *_trace_blocks(profiles, place),
    ]
    for entry in profiles:
        blocks.extend(_operator_blocks(entry))
    return blocks + rank_trace_blocks(ranks, place)


def _trace_blocks(profiles: Sequence[ProfileEntry], place: Place) -> list[Block]:
    """Links to the trace folders that are on disk, the TensorBoard command for their
    folder, and a line naming each trace that was not kept with this copy of the run."""
    found = [(p, place.trace_href(p.trace_dir, p)) for p in profiles if p.trace_dir]
    kept = [(p, href) for p, href in found if href]
    missing = [p for p, href in found if not href]
    blocks: list[Block] = []
    if kept:
        logdir = posixpath.commonpath([posixpath.dirname(href) for _, href in kept]) or "."
        blocks += [Paragraph(f"From this report's folder, open the traces with `tensorboard "
                             f"--logdir {logdir}` (PyTorch Profiler tab: "
                             f"`{TENSORBOARD_INSTALL}` in a blitzbench checkout), or load a "
                             f"`.pt.trace.json` file into "
                             f"Perfetto (ui.perfetto.dev) or chrome://tracing: they are "
                             f"Chrome-trace JSON."),
                   LinkList(tuple((f"{p.device} {p.workload} trace folder", href)
                                  for p, href in kept))]
    if missing:
        names = ", ".join(f"{p.device} {p.workload} (written to `{p.trace_dir}`)"
                          for p in missing)
        blocks.append(Paragraph(f"Not kept with this copy of the run, so not linked: the "
                                f"trace of {names}.", "muted"))
    return blocks


RANK_TRACE_HEADER = ("rank", "steps", "host time/step", "collectives (host)/step",
                     "GPU compute", "GPU communication (capture)", "GPU idle",
                     "comm/comp overlap")


def rank_trace_blocks(entries: Sequence[ProfileEntry], place: Place | None = None
                      ) -> list[Block]:
    """A torchrun job's DDP step, one trace per rank, as HolisticTraceAnalysis read them:
    per rank the temporal breakdown and the overlap of communication with computation,
    the straggler, and what HTA could not say (a CPU-only trace has no GPU kernels)."""
    place = place or Place()
    blocks: list[Block] = []
    for entry in entries:
        summary = entry.summary
        blocks.append(Heading(3, f"DDP step on {entry.device}: traces across ranks"))
        if entry.error:
            blocks.append(Paragraph(entry.error, "warn"))
            continue
        rows = tuple(tuple(Cell(text) for text in _rank_cells(row))
                     for row in summary.get("ranks") or [])
        version = summary.get("hta_version") or "?"
        blocks.append(Table(RANK_TRACE_HEADER, rows, frozenset(range(1, 8)),
                            f"HolisticTraceAnalysis {version}"))
        straggler = summary.get("straggler")
        if straggler:
            blocks.append(Paragraph(f"Straggler: rank {straggler.get('rank')} "
                                    f"({straggler.get('method')}): {straggler.get('reason')}"))
        blocks += [Paragraph(str(note), "warn") for note in summary.get("notes") or []]
        href = place.trace_href(entry.trace_dir)
        if href:
            blocks.append(LinkList(((f"{entry.device} trace folder", href),)))
    return blocks


def _rank_cells(row: Mapping[str, Any]) -> tuple[str, ...]:
    gpu = row.get("gpu") or {}
    overlap = row.get("comm_comp_overlap_pct")

    def pct(key: str) -> str:
        return f"{gpu[key]:.1f}%" if gpu.get(key) is not None else MISSING

    communication = (f"{fmt_ms(gpu['communication_us'] / 1000)}" if gpu else MISSING)
    return (str(row.get("rank")), fmt_number(row.get("profiler_steps")),
            fmt_ms(row.get("host_step_ms")), fmt_ms(row.get("host_collective_ms_per_step")),
            pct("compute_pct"), communication, pct("idle_pct"),
            f"{overlap:.1f}%" if overlap is not None else MISSING)


def _operator_blocks(entry: ProfileEntry) -> list[Block]:
    summary = entry.summary
    title = f"{entry.device} {entry.workload}: top operators"
    blocks: list[Block] = [Heading(3, title)]
    cuda = summary.get("cuda_activities") or {}
    if cuda.get("requested") and not cuda.get("available"):
        blocks.append(Paragraph(f"CUDA activities not recorded: {cuda.get('reason')}", "warn"))
    blocks.append(_operator_table(summary.get("top_cpu_operators") or [], "by self CPU time"))
    gpu = summary.get("gpu") or {}
    if gpu.get("top_device_operators"):
        blocks.append(_operator_table(gpu["top_device_operators"], "by self GPU time"))
    return blocks


def _operator_table(rows: Sequence[Mapping[str, Any]], caption: str) -> Table:
    cells = tuple((Cell(str(r.get("name")), code=True),
                   Cell(fmt_number(r.get("calls_per_step"))),
                   Cell(fmt_ms(r.get("self_ms_per_step"))),
                   Cell(f"{r.get('share', 0):.0%}")) for r in rows)
    return Table(OPERATOR_HEADER, cells, frozenset({1, 2, 3}), caption)

"""A short summary of a profiler capture, for the report and for a reader in a hurry.

What it holds, per recorded step: host (CPU) time, GPU busy time, kernels launched, and
the top operators by self time. GPU busy time is the union of the intervals of the device
activities (kernels, copies, fills) that the step launched, so overlapping kernels are
not counted twice and idle gaps between launches are not counted at all. When the host
time per step is well above the GPU busy time, the step is launch-bound: the GPU waits
for the host to issue work, which is why a network as small as LeNet gains little on a GPU.
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.autograd import DeviceType

__all__ = [
    "DEVICE_ACTIVITY_KINDS",
    "LAUNCH_BOUND_BUSY_FRACTION",
    "TOP_OPERATORS",
    "DeviceActivity",
    "Interval",
    "StepFigures",
    "TraceEvent",
    "device_activities",
    "label_ms_per_step",
    "launch_bound_note",
    "load_trace",
    "peak_memory",
    "per_step_figures",
    "step_windows",
    "summarize",
    "top_operators",
    "trace_events",
    "union_us",
]

#: how many operators each top list keeps.
TOP_OPERATORS = 8
#: Kineto activity types that occupy the GPU.
DEVICE_ACTIVITY_KINDS = ("kernel", "gpu_memcpy", "gpu_memset")
#: trace categories on the GPU's timeline (annotations there mirror host labels: not work).
GPU_CATEGORIES = (*DEVICE_ACTIVITY_KINDS, "gpu_user_annotation")
#: Below this share of the host step time the GPU is idle most of the step: the step is
#: launch-bound (host-bound). One half is the plain reading of "idle more than busy".
LAUNCH_BOUND_BUSY_FRACTION = 0.5
#: Kineto memory events' device type codes (c10::DeviceType): 0 CPU, 1 CUDA.
MEMORY_DEVICE_TYPES = {0: "cpu", 1: "cuda"}
US_PER_MS = 1000.0
#: host-side names that are not operators: the step markers and blitzbench's own labels.
NOT_OPERATOR_PREFIXES = ("ProfilerStep", "blitzbench.")


@dataclass(frozen=True)
class Interval:
    """A time range in microseconds on the profiler's clock."""

    start_us: float
    end_us: float

    @property
    def length_us(self) -> float:
        return max(0.0, self.end_us - self.start_us)


@dataclass(frozen=True)
class DeviceActivity:
    """One piece of GPU work and the host time at which it was launched."""

    kind: str
    name: str
    interval: Interval
    launch_us: float


@dataclass(frozen=True)
class StepFigures:
    """One recorded step: host time, GPU busy time and what ran on the GPU."""

    cpu_ms: float
    gpu_busy_ms: float
    kernels: int
    device_activities: int

    def to_json(self) -> dict[str, Any]:
        return {"cpu_ms": self.cpu_ms, "gpu_busy_ms": self.gpu_busy_ms,
                "kernels": self.kernels, "device_activities": self.device_activities}


def union_us(intervals: Iterable[Interval]) -> float:
    """Total length covered by ``intervals`` (overlaps counted once)."""
    total = 0.0
    current: Interval | None = None
    for item in sorted(intervals, key=lambda i: i.start_us):
        if current is None or item.start_us > current.end_us:
            total += current.length_us if current else 0.0
            current = item
        elif item.end_us > current.end_us:
            current = Interval(current.start_us, item.end_us)
    return total + (current.length_us if current else 0.0)


@dataclass(frozen=True)
class TraceEvent:
    """The fields of one complete ("X") event of the exported trace that the summary reads.

    ``correlation`` is the CUDA correlation id: a runtime call (``cudaLaunchKernel``) and
    the GPU work it launched carry the same one, which ties the work to its launch time.
    """

    name: str
    on_cpu: bool
    kind: str
    interval: Interval
    correlation: int = 0


def trace_events(trace: Mapping[str, Any]) -> list[TraceEvent]:
    """Complete events of a Chrome trace written by the profiler (what TensorBoard reads).

    The trace's categories are Kineto's activity types on every torch release, which is
    why the summary reads them here rather than from the in-memory events, whose fields
    differ between releases.
    """
    found = []
    for event in trace.get("traceEvents", []):
        if event.get("ph") != "X" or not isinstance(event.get("ts"), (int, float)):
            continue
        kind = str(event.get("cat", ""))
        start = float(event["ts"])
        args = event.get("args") or {}
        found.append(TraceEvent(str(event.get("name", "")), kind not in GPU_CATEGORIES, kind,
                                Interval(start, start + float(event.get("dur", 0.0))),
                                int(args.get("correlation", 0) or 0)))
    return found


def step_windows(events: Iterable[TraceEvent]) -> list[Interval]:
    """The host time range of each recorded ``ProfilerStep``, in order."""
    steps = [e.interval for e in events if e.on_cpu and e.name.startswith("ProfilerStep")]
    return sorted(steps, key=lambda i: i.start_us)


def device_activities(events: Sequence[TraceEvent]) -> list[DeviceActivity]:
    """GPU work, each with the start of the runtime call that launched it (same correlation
    id); work whose launch is not in the trace is placed at its own start."""
    launch_by_id: dict[int, float] = {}
    for e in events:  # several host events may carry an id: the launch is the earliest
        if e.on_cpu and e.correlation:
            known = launch_by_id.get(e.correlation, e.interval.start_us)
            launch_by_id[e.correlation] = min(known, e.interval.start_us)
    return [DeviceActivity(e.kind, e.name, e.interval,
                           launch_by_id.get(e.correlation, e.interval.start_us))
            for e in events if not e.on_cpu and e.kind in DEVICE_ACTIVITY_KINDS]


def per_step_figures(steps: Sequence[Interval],
                     activities: Sequence[DeviceActivity]) -> list[StepFigures]:
    """Host time, GPU busy time and kernel count of each step; GPU work belongs to the step
    that launched it, even when it runs after the step's host range has ended."""
    starts = [s.start_us for s in steps]
    launched: list[list[DeviceActivity]] = [[] for _ in steps]
    for activity in activities:
        index = bisect.bisect_right(starts, activity.launch_us) - 1
        if index >= 0 and activity.launch_us <= steps[index].end_us:
            launched[index].append(activity)
    return [StepFigures(cpu_ms=step.length_us / US_PER_MS,
                        gpu_busy_ms=union_us(a.interval for a in work) / US_PER_MS,
                        kernels=sum(a.kind == "kernel" for a in work),
                        device_activities=len(work))
            for step, work in zip(steps, launched, strict=True)]


def label_ms_per_step(events: Iterable[TraceEvent], labels: Sequence[str],
                      steps: int) -> dict[str, float]:
    """Mean host time per step inside each ``record_function`` label."""
    totals = dict.fromkeys(labels, 0.0)
    for event in events:
        if event.on_cpu and event.name in totals:
            totals[event.name] += event.interval.length_us
    return {name: total / US_PER_MS / max(steps, 1) for name, total in totals.items()}


def top_operators(averages: Iterable[Any], *, by: str, steps: int,
                  limit: int = TOP_OPERATORS) -> list[dict[str, Any]]:
    """Host operators by self CPU time (``by="cpu"``) or by self device time
    (``by="device"``), per step. Step markers and blitzbench's labels are left out."""
    attribute = "self_cpu_time_total" if by == "cpu" else "self_device_time_total"
    rows = [a for a in averages if a.device_type == DeviceType.CPU
            and not a.key.startswith(NOT_OPERATOR_PREFIXES) and getattr(a, attribute) > 0]
    total = sum(getattr(a, attribute) for a in rows) or 1.0
    rows.sort(key=lambda a: getattr(a, attribute), reverse=True)
    per = max(steps, 1)
    return [{"name": a.key, "calls_per_step": a.count / per,
             "self_ms_per_step": getattr(a, attribute) / US_PER_MS / per,
             "share": getattr(a, attribute) / total}
            for a in rows[:limit]]


def top_kernels(activities: Sequence[DeviceActivity], *, steps: int,
                limit: int = TOP_OPERATORS) -> list[dict[str, Any]]:
    """Device activities by total time, per step."""
    totals: dict[str, list[float]] = {}
    for activity in activities:
        totals.setdefault(activity.name, []).append(activity.interval.length_us)
    per = max(steps, 1)
    ranked = sorted(totals.items(), key=lambda kv: sum(kv[1]), reverse=True)
    return [{"name": name, "calls_per_step": len(times) / per,
             "ms_per_step": sum(times) / US_PER_MS / per} for name, times in ranked[:limit]]


def load_trace(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def peak_memory(trace: Mapping[str, Any]) -> dict[str, int]:
    """Peak of the profiler's ``Total Allocated`` counter per device, read from the trace
    (the figure TensorBoard's Memory view plots)."""
    peaks: dict[str, int] = {}
    for event in trace.get("traceEvents", []):
        if event.get("name") != "[memory]":
            continue
        args = event.get("args", {})
        kind = MEMORY_DEVICE_TYPES.get(args.get("Device Type"))
        if kind is None or "Total Allocated" not in args:
            continue
        label = kind if kind == "cpu" else f"{kind}:{max(int(args.get('Device Id', 0)), 0)}"
        peaks[label] = max(peaks.get(label, 0), int(args["Total Allocated"]))
    return peaks


def launch_bound_note(cpu_ms: float, gpu_busy_ms: float) -> str:
    """One sentence reading the CPU-vs-GPU figures."""
    if cpu_ms <= 0:
        return "no step was recorded"
    busy = gpu_busy_ms / cpu_ms
    if busy < LAUNCH_BOUND_BUSY_FRACTION:
        return (f"launch-bound: GPU busy {busy:.0%} of each step; the host's kernel "
                f"launches set the pace")
    return f"GPU-bound: GPU busy {busy:.0%} of each step"


def summarize(capture: Any, labels: Sequence[str] = ()) -> dict[str, Any]:
    """The summary of a :class:`~blitzbench.profiling.capture.Capture` as JSON-ready data."""
    traces = [load_trace(path) for path in capture.trace_files]
    events = [e for trace in traces for e in trace_events(trace)]
    steps = step_windows(events)
    activities = device_activities(events)
    figures = per_step_figures(steps, activities)
    n = len(steps)
    averages = capture.profiler.key_averages()
    cpu_ms = _median([f.cpu_ms for f in figures])
    summary: dict[str, Any] = {
        "device": capture.device,
        "workload": capture.workload,
        "batch_size": capture.batch_size,
        "schedule": capture.schedule.to_json(),
        "steps_recorded": n,
        "capture_wall_s": capture.wall_s,
        "cuda_activities": capture.cuda.to_json(),
        "cpu_ms_per_step": cpu_ms,
        "images_per_s": capture.batch_size / (cpu_ms / US_PER_MS) if cpu_ms else None,
        "steps": [f.to_json() for f in figures],
        "labels_ms_per_step": label_ms_per_step(events, labels, n),
        "top_cpu_operators": top_operators(averages, by="cpu", steps=n),
        "peak_memory_bytes": _peak_memory(traces),
        "trace_files": [p.name for p in capture.trace_files],
        **capture.details,
    }
    if capture.cuda.requested:
        summary.update(_gpu_part(capture, figures, activities, averages, n))
    return summary


def _gpu_part(capture: Any, figures: Sequence[StepFigures],
              activities: Sequence[DeviceActivity], averages: Any, n: int) -> dict[str, Any]:
    if not capture.cuda.available:
        return {"gpu": None, "gpu_note": capture.cuda.reason}
    if not activities:
        return {"gpu": None, "gpu_note": "the profiler recorded no CUDA activity (CUPTI "
                                         "without permission, or disabled): GPU figures absent"}
    cpu_ms = _median([f.cpu_ms for f in figures])
    busy_ms = _median([f.gpu_busy_ms for f in figures])
    return {"gpu": {
        "gpu_busy_ms_per_step": busy_ms,
        "gpu_busy_fraction": busy_ms / cpu_ms if cpu_ms else None,
        "kernels_per_step": _median([float(f.kernels) for f in figures]),
        "device_activities_per_step": _median([float(f.device_activities) for f in figures]),
        "top_device_operators": top_operators(averages, by="device", steps=n),
        "top_kernels": top_kernels(activities, steps=n),
    }, "gpu_note": launch_bound_note(cpu_ms, busy_ms)}


def _peak_memory(traces: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    peaks: dict[str, int] = {}
    for trace in traces:
        for label, value in peak_memory(trace).items():
            peaks[label] = max(peaks.get(label, 0), value)
    return peaks


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0

"""Metric names, and the metric values a run's results hold.

Every figure a rule can judge has a name, derived from the records the run wrote, so the
spec, the verdict table, the baseline comparison and the fleet table read one scheme:

- a benchmark figure: ``<benchmark>[<param>=<value>,...].<field>``, params sorted by name,
  ``field`` one of the Measurement's numeric ``extra`` figures (``images_per_s``,
  ``gb_per_s``, ``fraction_of_peak``, ...) or ``median_s``; for example
  ``lenet_train_step[batch_size=64,variant=eager].images_per_s``;
- a claim: ``claims.<claim id>`` (1 when the observed verdict is the expected one, else 0)
  and ``claims.all_as_expected`` (every claim on that device);
- derived figures: ``lenet.cuda_speedup[batch_size=N]`` (CUDA over CPU images/s of the
  eager LeNet training step), ``lenet.cuda_crossover_batch_size`` (the smallest measured
  batch size from which CUDA stays faster), ``loader.scaling_efficiency[batch_size=N]``
  (DataLoader images/s at the best worker count over 1 worker, divided by that count).

The device is not part of a name: a rule picks devices with its own selector.
Values are extracted from ``results.json`` records (``Measurement.to_json()`` and claim
cells), so a baseline run and the runs of a fleet go through the same code as this run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLAIMS_ALL",
    "LENET_CROSSOVER",
    "LENET_SPEEDUP",
    "LOADER_EFFICIENCY",
    "MetricValue",
    "claim_metric",
    "extract_metrics",
    "field_unit",
    "higher_is_better",
    "known_benchmark_fields",
    "measurement_metric",
    "metric_prefix",
]

CLAIMS_ALL = "claims.all_as_expected"
LENET_SPEEDUP = "lenet.cuda_speedup"
LENET_CROSSOVER = "lenet.cuda_crossover_batch_size"
LOADER_EFFICIENCY = "loader.scaling_efficiency"

#: The benchmark records derived metrics are computed from (names in workloads/*.py).
LENET_STEP_BENCHMARK = "lenet.train_step"
LENET_EAGER = {"variant": "eager"}
LOADER_BENCHMARK = "loading.dataloader"
WORKERS_PARAM = "num_workers"
BATCH_PARAM = "batch_size"
RATE_FIELD = "images_per_s"

#: Figures of a Measurement's ``extra`` that are metrics, with their units: the rates
#: timing/rates.py derives from a workload's units, and the loader's time to first batch.
#: (``fraction_of_peak`` is not a metric of its own: a ``peak_fraction`` rule reads it
#: for the rate it belongs to. Bookkeeping such as ``calls_per_round`` is not a metric.)
FIELD_UNITS = {
    "median_s": "s", "images_per_s": "images/s", "gb_per_s": "GB/s",
    "tflop_per_s": "TFLOP/s", "time_to_first_batch_s": "s",
}
#: What each benchmark records beyond ``median_s``: the rate its workload's units give
#: (workloads/*.py declare ``images``, ``bytes``, ``link_bytes`` or ``flop`` per call).
#: This is how a spec is checked before anything runs; tests/test_acceptance_metrics.py
#: builds the CPU workloads and checks the table against the units they declare.
UNIT_FIELDS = {"images": "images_per_s", "bytes": "gb_per_s", "link_bytes": "gb_per_s",
               "flop": "tflop_per_s"}
BENCHMARK_FIELDS: dict[str, tuple[str, ...]] = {
    "tensor_ops.empty": (),
    "tensor_ops.rand": ("gb_per_s",),
    "tensor_ops.add_operator": ("gb_per_s",),
    "tensor_ops.add_function": ("gb_per_s",),
    "tensor_ops.add_out": ("gb_per_s",),
    "tensor_ops.add_inplace": ("gb_per_s",),
    "tensor_ops.transpose_inplace": (),
    "tensor_ops.index_column": (),
    "tensor_ops.to_numpy": (),
    "tensor_ops.from_numpy": (),
    "tensor_ops.tensor_copy": ("gb_per_s",),
    "tensor_ops.h2d_copy": ("gb_per_s",),
    "tensor_ops.matmul": ("tflop_per_s",),
    "lenet.forward": ("images_per_s",),
    "lenet.train_step": ("images_per_s",),
    "loading.dataloader": ("images_per_s", "time_to_first_batch_s"),
    "training_loop.epoch_slice": ("images_per_s",),
}
HIGHER_IS_BETTER_FIELDS = frozenset({"speedup", "efficiency"})


@dataclass(frozen=True)
class MetricValue:
    """One named figure on one device, with the spread of the timing behind it.

    ``value`` is None when there is no figure: ``skipped`` says why when that is expected
    (a claim skipped for want of a device), ``error`` when the case failed.
    ``rel_spread`` is IQR/median of the timing behind the figure (0 for claims).
    """

    metric: str
    device: str
    value: float | None
    unit: str = ""
    rel_spread: float = 0.0
    noisy: bool = False
    higher_is_better: bool = True
    fraction_of_peak: float | None = None
    display: str | None = None
    skipped: str | None = None
    error: str | None = None

    def shown(self) -> str:
        """The figure as the verdict table shows it."""
        if self.display is not None:
            return self.display
        if self.value is None:
            return "-"
        return f"{format_number(self.value)}{' ' + self.unit if self.unit else ''}"


def format_number(value: float) -> str:
    """Four significant digits, no exponent for the ranges blitzbench sees."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 0.01:
        return f"{value:.4g}"
    return f"{value:.3g}"


def metric_prefix(benchmark: str, params: Mapping[str, Any]) -> str:
    """``benchmark[k=v,...]`` with params sorted by name (just ``benchmark`` without)."""
    if not params:
        return benchmark
    inner = ",".join(f"{k}={_param_text(params[k])}" for k in sorted(params))
    return f"{benchmark}[{inner}]"


def measurement_metric(benchmark: str, params: Mapping[str, Any], field: str) -> str:
    return f"{metric_prefix(benchmark, params)}.{field}"


def claim_metric(claim_id: str) -> str:
    return f"claims.{claim_id}"


def field_unit(field: str) -> str:
    return FIELD_UNITS.get(field, "")


def higher_is_better(field: str) -> bool:
    """Rates and fractions rise with speed; times (``*_s``) fall."""
    if field in HIGHER_IS_BETTER_FIELDS or field.endswith("_per_s"):
        return True
    return not field.endswith("_s")


def known_benchmark_fields(benchmark: str) -> tuple[str, ...]:
    """``median_s`` and the rates a benchmark records (only ``median_s`` if unlisted)."""
    return ("median_s", *BENCHMARK_FIELDS.get(benchmark, ()))


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def extract_metrics(results: Mapping[str, Any]) -> list[MetricValue]:
    """Every metric value in a run's results (claims, benchmarks, derived figures)."""
    claims = [c for c in results.get("claims") or [] if isinstance(c, Mapping)]
    records = [r for r in results.get("benchmarks") or [] if isinstance(r, Mapping)]
    return [*claim_values(claims), *benchmark_values(records),
            *lenet_speedups(records), *loader_efficiencies(records)]


# --- claims ---------------------------------------------------------------------------

def claim_values(cells: Sequence[Mapping[str, Any]]) -> list[MetricValue]:
    """One value per claim cell, and ``claims.all_as_expected`` per device."""
    values = [_claim_value(cell) for cell in cells]
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_device.setdefault(str(cell.get("device")), []).append(cell)
    for device, device_cells in by_device.items():
        wrong = [str(c.get("claim")) for c in device_cells if not c.get("passed")]
        shown = "all as expected" if not wrong else f"{len(wrong)} not as expected: " + \
            ", ".join(wrong[:3]) + (" ..." if len(wrong) > 3 else "")
        values.append(MetricValue(CLAIMS_ALL, device, 0.0 if wrong else 1.0, display=shown))
    return values


def _claim_value(cell: Mapping[str, Any]) -> MetricValue:
    verdict, expected = str(cell.get("verdict")), str(cell.get("expected"))
    metric, device = claim_metric(str(cell.get("claim"))), str(cell.get("device"))
    if verdict == "SKIPPED" and expected != "SKIPPED":
        return MetricValue(metric, device, None, skipped=str(cell.get("summary", "")))
    passed = bool(cell.get("passed"))
    shown = verdict if passed else f"{verdict} (expected {expected})"
    return MetricValue(metric, device, 1.0 if passed else 0.0, display=shown)


# --- benchmarks -----------------------------------------------------------------------

def benchmark_values(records: Iterable[Mapping[str, Any]]) -> list[MetricValue]:
    """``median_s`` and every numeric ``extra`` figure of every measurement record."""
    values: list[MetricValue] = []
    for record in records:
        values.extend(_record_values(record))
    return values


def _record_values(record: Mapping[str, Any]) -> list[MetricValue]:
    benchmark, device = str(record.get("benchmark")), str(record.get("device"))
    params = record.get("params") or {}
    extra = record.get("extra") or {}
    fields = ["median_s", *(k for k, v in extra.items() if k in FIELD_UNITS and
                            k != "median_s" and _is_number(v))]
    error = record.get("error")
    if not error and not _is_number(record.get("median_s")):
        error = "no median time recorded"
    if error:
        expected = dict.fromkeys([*known_benchmark_fields(benchmark), *fields])
        return [MetricValue(measurement_metric(benchmark, params, f), device, None,
                            field_unit(f), error=str(error)[:500]) for f in expected]
    spread, noisy = _spread(record)
    fraction = extra.get("fraction_of_peak")
    fraction = float(fraction) if _is_number(fraction) else None
    return [MetricValue(measurement_metric(benchmark, params, f), device,
                        float(record.get("median_s") if f == "median_s" else extra[f]),
                        field_unit(f), spread, noisy, higher_is_better(f), fraction)
            for f in fields]


def _spread(record: Mapping[str, Any]) -> tuple[float, bool]:
    median, iqr = record.get("median_s"), record.get("iqr_s")
    rel = float(iqr) / float(median) if _is_number(median) and _is_number(iqr) and \
        median > 0 else 0.0
    return rel, bool(record.get("noisy"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


# --- derived figures ------------------------------------------------------------------

def _rate(record: Mapping[str, Any]) -> float | None:
    if record.get("error"):
        return None
    rate = (record.get("extra") or {}).get(RATE_FIELD)
    return float(rate) if _is_number(rate) and rate > 0 else None


def _lenet_eager_rates(records: Iterable[Mapping[str, Any]]
                       ) -> dict[str, dict[int, tuple[float, Mapping[str, Any]]]]:
    """device -> batch size -> (images/s, record) for the eager LeNet training step."""
    rates: dict[str, dict[int, tuple[float, Mapping[str, Any]]]] = {}
    for record in records:
        params = record.get("params") or {}
        if record.get("benchmark") != LENET_STEP_BENCHMARK or any(
                params.get(k) != v for k, v in LENET_EAGER.items()):
            continue
        batch, rate = params.get(BATCH_PARAM), _rate(record)
        if isinstance(batch, int) and rate is not None:
            rates.setdefault(str(record.get("device")), {})[batch] = (rate, record)
    return rates


def lenet_speedups(records: Sequence[Mapping[str, Any]]) -> list[MetricValue]:
    """CUDA-over-CPU images/s per batch size, and the crossover batch size, per GPU."""
    rates = _lenet_eager_rates(records)
    cpu = rates.get("cpu", {})
    values: list[MetricValue] = []
    for device, by_batch in rates.items():
        if not device.startswith("cuda"):
            continue
        speedups: dict[int, float] = {}
        for batch in sorted(set(by_batch) & set(cpu)):
            (gpu_rate, gpu_rec), (cpu_rate, cpu_rec) = by_batch[batch], cpu[batch]
            speedups[batch] = gpu_rate / cpu_rate
            spread = _spread(gpu_rec)[0] + _spread(cpu_rec)[0]
            noisy = _spread(gpu_rec)[1] or _spread(cpu_rec)[1]
            values.append(MetricValue(f"{LENET_SPEEDUP}[{BATCH_PARAM}={batch}]", device,
                                      speedups[batch], "x", spread, noisy))
        if speedups:
            values.append(_crossover(device, speedups))
    return values


def _crossover(device: str, speedups: Mapping[int, float]) -> MetricValue:
    """The smallest batch size from which every larger measured one has speedup > 1."""
    crossover: int | None = None
    for batch in sorted(speedups, reverse=True):
        if speedups[batch] <= 1:
            break
        crossover = batch
    table = ", ".join(f"{b}: {s:.2f}x" for b, s in sorted(speedups.items()))
    if crossover is None:
        return MetricValue(LENET_CROSSOVER, device, math.inf, "batch size",
                           higher_is_better=False, display=f"never (CUDA/CPU {table})")
    return MetricValue(LENET_CROSSOVER, device, float(crossover), "batch size",
                       higher_is_better=False, display=f"{crossover} (CUDA/CPU {table})")


def loader_efficiencies(records: Sequence[Mapping[str, Any]]) -> list[MetricValue]:
    """Images/s at the best worker count over images/s at 1 worker, per worker."""
    groups: dict[tuple[str, str], dict[int, tuple[float, Mapping[str, Any]]]] = {}
    for record in records:
        params = record.get("params") or {}
        workers, rate = params.get(WORKERS_PARAM), _rate(record)
        if record.get("benchmark") != LOADER_BENCHMARK or not isinstance(workers, int) \
                or rate is None:
            continue
        key = (str(record.get("device")),
               metric_prefix(LOADER_EFFICIENCY, {BATCH_PARAM: params.get(BATCH_PARAM)}))
        groups.setdefault(key, {})[workers] = (rate, record)
    values = []
    for (device, metric), by_workers in groups.items():
        if 1 not in by_workers:
            continue
        best = max((w for w in by_workers if w >= 1), key=lambda w: by_workers[w][0])
        (best_rate, best_rec), (one_rate, one_rec) = by_workers[best], by_workers[1]
        efficiency = best_rate / one_rate / best
        spread = _spread(best_rec)[0] + _spread(one_rec)[0]
        noisy = _spread(best_rec)[1] or _spread(one_rec)[1]
        values.append(MetricValue(metric, device, efficiency, "per worker", spread, noisy,
                                  display=f"{efficiency:.2f} ({best} workers: "
                                          f"{best_rate / one_rate:.2f}x of 1 worker)"))
    return values

"""Metric names, and the metric values a run's results hold.

Every figure a rule can judge has a name, derived from the records the run wrote, so the
spec, the verdict table, the baseline comparison and the fleet table read one scheme:

- a benchmark figure: ``<benchmark>[<param>=<value>,...].<field>``, params sorted by name,
  ``field`` one of the Measurement's numeric ``extra`` figures (``images_per_s``,
  ``gb_per_s``, ...) or ``median_s``; for example
  ``lenet.train_step[batch_size=64,variant=eager].images_per_s``;
- a claim: ``claims.<claim id>`` (1 when the observed verdict is the expected one, else 0)
  and ``claims.all_as_expected`` (every claim on that device);
- derived figures (results/derived.py): ``lenet.cuda_speedup[batch_size=N]`` (CUDA over
  CPU images/s of the eager LeNet training step), ``lenet.cuda_crossover_batch_size`` (the
  smallest measured batch size from which CUDA stays faster),
  ``loader.scaling_efficiency[batch_size=N]`` (DataLoader images/s at the best worker count
  over 1 worker, divided by that count), ``loader.worker_share[batch_size=N]``
  (steady-state DataLoader images/s with one worker over 0 workers').

The device is not part of a name: a rule picks devices with its own selector. Values are
extracted from the records of :mod:`blitzbench.results.records`, so a baseline run and the
runs of a fleet go through the same code as this run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blitzbench.acceptance.spec import Rule, load_spec, metric_pattern
from blitzbench.errors import UsageError
from blitzbench.results import stats
from blitzbench.results.derived import (
    LoaderPassFinding,
    cuda_speedups,
    loader_pass_findings,
    loader_scalings,
    loader_worker_shares,
)
from blitzbench.results.names import (
    ALGBW_FIELD,
    BATCH_PARAM,
    BUSBW_FIELD,
    CLAIMS_ALL,
    COLLECTIVE_OPS,
    COLLECTIVES,
    DDP_STEP,
    EAGER,
    FIRST_BATCH_FIELD,
    GB_FIELD,
    LENET_CROSSOVER,
    LENET_SPEEDUP,
    LENET_STEP,
    LOADER,
    LOADER_EFFICIENCY,
    LOADER_STEADY,
    LOADER_WORKER_SHARE,
    MEDIAN_FIELD,
    RATE_FIELD,
    RATE_PER_RANK_FIELD,
    RATE_TOTAL_FIELD,
    SCALING_EFFICIENCY_FIELD,
    SCALING_ROUNDS_FIELD,
    TFLOP_FIELD,
    TUTORIAL_ALL,
    VARIANT_PARAM,
    WORKERS_PARAM,
    WORLD_FAMILIES,
    WRONG_FIELD,
)
from blitzbench.results.records import ClaimCell, Measurement, RunResults, metric_prefix
from blitzbench.results.tutorial import TutorialResults, TutorialRun, verdict_counts

__all__ = [
    "CLAIMS_ALL",
    "LENET_CROSSOVER",
    "LENET_SPEEDUP",
    "LOADER_EFFICIENCY",
    "LOADER_WORKER_SHARE",
    "WORLD_FAMILIES",
    "MetricValue",
    "claim_metric",
    "derived_metric_names",
    "extract_metrics",
    "field_unit",
    "higher_is_better",
    "known_benchmark_fields",
    "measurement_metric",
    "metric_listing",
    "metric_prefix",
    "planned_metric_keys",
]


#: Figures of a Measurement's ``extra`` that are metrics, with their units: the rates
#: timing/rates.py derives from a workload's units, and the loader's time to first batch.
#: (``fraction_of_peak`` is not a metric of its own: a ``peak_fraction`` rule reads it
#: for the rate it belongs to. Bookkeeping such as ``calls_per_round`` is not a metric.)
FIELD_UNITS = {
    MEDIAN_FIELD: "s", RATE_FIELD: "images/s", GB_FIELD: "GB/s", TFLOP_FIELD: "TFLOP/s",
    FIRST_BATCH_FIELD: "s", ALGBW_FIELD: "GB/s", BUSBW_FIELD: "GB/s",
    WRONG_FIELD: "elements", RATE_PER_RANK_FIELD: "images/s", RATE_TOTAL_FIELD: "images/s",
    SCALING_EFFICIENCY_FIELD: "of linear",
}
#: Figures computed from the median of the timed rounds, so the rounds test them; the
#: loader's time to first batch is a probe taken once, not a per-round figure, and a
#: collective's count of wrong elements is a count, not a time.
ROUND_FIELDS = frozenset({MEDIAN_FIELD, RATE_FIELD, GB_FIELD, TFLOP_FIELD, ALGBW_FIELD,
                          BUSBW_FIELD, RATE_PER_RANK_FIELD, RATE_TOTAL_FIELD})
#: Figures where less is better although they are not times.
LOWER_IS_BETTER_FIELDS = frozenset({WRONG_FIELD})
#: Exact counts: no timing spread is behind them, so they are never noisy.
COUNT_FIELDS = frozenset({WRONG_FIELD})
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
    "tensor_ops.stream_copy": ("gb_per_s",),
    "tensor_ops.stream_triad": ("gb_per_s",),
    "tensor_ops.matmul": ("tflop_per_s",),
    "lenet.forward": ("images_per_s",),
    "lenet.train_step": ("images_per_s",),
    "loading.dataloader": ("images_per_s", "time_to_first_batch_s"),
    LOADER_STEADY: ("images_per_s",),
    "training_loop.epoch_slice": ("images_per_s",),
    **{f"{COLLECTIVES}.{op}": (ALGBW_FIELD, BUSBW_FIELD, WRONG_FIELD)
       for op in COLLECTIVE_OPS},
    DDP_STEP: (RATE_PER_RANK_FIELD, RATE_TOTAL_FIELD, SCALING_EFFICIENCY_FIELD),
}
#: What each field measures, for ``accept --list-metrics``.
FIELD_DESCRIPTIONS = {
    MEDIAN_FIELD: "median time per call", RATE_FIELD: "images per second",
    GB_FIELD: "bytes moved per second (1e9 B/s)", TFLOP_FIELD: "1e12 FLOP per second",
    FIRST_BATCH_FIELD: "time until the first batch arrives",
    ALGBW_FIELD: "algorithm bandwidth (nccl-tests' algbw)",
    BUSBW_FIELD: "bus bandwidth (nccl-tests' busbw)",
    WRONG_FIELD: "wrong elements summed over ranks (nccl-tests' #wrong)",
    RATE_PER_RANK_FIELD: "images per second on each rank",
    RATE_TOTAL_FIELD: "images per second of all ranks together",
    SCALING_EFFICIENCY_FIELD: "weak-scaling efficiency against one rank's own step",
}
#: What a benchmark measures, where its field's meaning alone does not say.
BENCHMARK_DESCRIPTIONS = {
    "tensor_ops.stream_copy": "STREAM copy c = a over arrays 4x the last-level cache on "
                              "every core, 2 x 4 bytes per element (workloads/stream.py)",
    "tensor_ops.stream_triad": "STREAM triad a = b + q*c over arrays 4x the last-level "
                               "cache on every core, 3 x 4 bytes per element",
    "tensor_ops.matmul": "a @ b, 2n^3 FLOP; of peak: the GPU's datasheet bf16 peak, or the "
                         "CPU's fp32 peak from cores x clock x FMA lanes (timing/cpu_peak.py)",
    LOADER_STEADY: "the DataLoader with its workers already running (start-up excluded)",
}
#: The figures that are not ``<benchmark>[...].<field>``: unit and meaning.
DERIVED_DESCRIPTIONS = {
    CLAIMS_ALL: ("1/0", "1 when every claim's verdict on the device is the expected one"),
    TUTORIAL_ALL: ("1/0", "1 when every block of the tutorial's own code ran on the device, "
                          "as written or with a named shim"),
    "claims": ("1/0", "1 when the claim's observed verdict is the expected one"),
    LENET_SPEEDUP: ("x", "CUDA over CPU images/s of the eager LeNet training step"),
    LENET_CROSSOVER: ("batch size", "smallest measured batch from which CUDA stays faster"),
    LOADER_EFFICIENCY: ("of linear", "DataLoader images/s at the best worker count over "
                                     "1 worker, divided by that count"),
    LOADER_WORKER_SHARE: ("of in-process", "steady-state DataLoader images/s (workers "
                                           "already running) with one worker over 0 "
                                           "workers' (in-process)"),
}
WILDCARD_HINT = ("# a spec's metric may use * as a wildcard: each group's first line is a "
                 "pattern that matches every name under it (for example "
                 "lenet.train_step[*].images_per_s)")
HIGHER_IS_BETTER_FIELDS = frozenset({"speedup", "efficiency"})
LENET_PREFIXES = (LENET_SPEEDUP, LENET_CROSSOVER)


@dataclass(frozen=True)
class MetricValue:
    """One named figure on one device, with the spread of the timing behind it.

    ``value`` is None when there is no figure: ``skipped`` says why when that is expected
    (a claim skipped for want of a device), ``error`` when the case failed.
    ``rel_spread`` is IQR/median of the timing behind the figure (0 for claims);
    ``measurement`` is the record whose timed rounds the figure comes from, when it does
    (a baseline comparison tests those rounds, not two numbers); ``sources`` the records
    a figure derived from several cases comes from (whether the machine was busy while
    they ran is theirs to say, not the run's first busy case).
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
    measurement: Measurement | None = None
    sources: tuple[Measurement, ...] = ()

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


def measurement_metric(benchmark: str, params: Mapping[str, Any], field: str) -> str:
    return f"{metric_prefix(benchmark, params)}.{field}"


def claim_metric(claim_id: str) -> str:
    return f"claims.{claim_id}"


def field_unit(field: str) -> str:
    return FIELD_UNITS.get(field, "")


def higher_is_better(field: str) -> bool:
    """Rates and fractions rise with speed; times (``*_s``) fall."""
    if field in LOWER_IS_BETTER_FIELDS:
        return False
    if field in HIGHER_IS_BETTER_FIELDS or field.endswith("_per_s"):
        return True
    return not field.endswith("_s")


def metric_listing(names: Iterable[str]) -> list[str]:
    """``accept --list-metrics``: a wildcard hint, then per group a pattern line with its
    unit and meaning, the rules of the shipped spec that judge it (bound, devices,
    source), and the names it matches, indented."""
    names = sorted(names)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_pattern(name), []).append(name)
    rules, why_not = _shipped_rules(names)
    lines = [WILDCARD_HINT]
    for pattern, members in groups.items():
        unit, meaning = _described(pattern)
        lines.append(f"{pattern}  [{unit or 'no unit'}]  {meaning} ({len(members)} "
                     f"name{'s' if len(members) > 1 else ''})")
        lines += [f"    rule {r.id}: {r.describe_bound(unit)} on {r.device}; source: "
                  f"{r.source}" for r in rules
                  if any(metric_pattern(r.metric).match(m) for m in members)]
        lines += [f"    {name}" for name in members if name != pattern]
    return lines + ([f"# the shipped spec's rules are not shown: {why_not}"] if why_not else [])


def _shipped_rules(names: Sequence[str]) -> tuple[tuple[Rule, ...], str]:
    """The default spec's rules, read against ``names`` (the full catalog from the CLI)."""
    try:
        return load_spec(None, names).rules, ""
    except UsageError as exc:
        return (), str(exc)


def _pattern(name: str) -> str:
    """``lenet.train_step[batch_size=4,variant=eager].images_per_s`` ->
    ``lenet.train_step[*].images_per_s``; ``claims.<id>`` -> ``claims.*``."""
    if name.startswith("claims.") and name != CLAIMS_ALL:
        return "claims.*"
    head, bracket, rest = name.partition("[")
    return f"{head}[*]{rest.partition(']')[2]}" if bracket else name


def _described(pattern: str) -> tuple[str, str]:
    key = "claims" if pattern == "claims.*" else pattern.partition("[")[0]
    if key in DERIVED_DESCRIPTIONS:
        return DERIVED_DESCRIPTIONS[key]
    field = pattern.rpartition(".")[2]
    what = BENCHMARK_DESCRIPTIONS.get(key)
    meaning = FIELD_DESCRIPTIONS.get(field, field)
    return field_unit(field), f"{meaning}: {what}" if what else meaning


def known_benchmark_fields(benchmark: str) -> tuple[str, ...]:
    """``median_s`` and the rates a benchmark records (only ``median_s`` if unlisted)."""
    return ("median_s", *BENCHMARK_FIELDS.get(benchmark, ()))


def extract_metrics(results: RunResults) -> list[MetricValue]:
    """Every metric value in a run's results (claims, benchmarks, derived figures)."""
    return [*claim_values(results.claims), *tutorial_values(results.tutorial),
            *benchmark_values(results.benchmarks),
            *lenet_speedups(results.benchmarks), *loader_efficiencies(results.benchmarks),
            *loader_worker_values(results.benchmarks)]


def planned_metric_keys(cases: Iterable[Any]) -> set[tuple[str, str]]:
    """(metric, device) pairs that cases (anything with ``benchmark``, ``device`` and
    ``params``) produce when every one is measured: their own figures, and the derived
    figures whose every input is among them."""
    cases = list(cases)
    keys = {(measurement_metric(c.benchmark, c.params, f), c.device)
            for c in cases for f in known_benchmark_fields(c.benchmark)}
    cpu_twins = {metric_prefix(c.benchmark, c.params) for c in cases if c.device == "cpu"}
    for case in cases:
        feeds_speedup = case.device != "cpu" and \
            metric_prefix(case.benchmark, case.params) in cpu_twins
        one_worker = case.params.get(WORKERS_PARAM) == 1
        in_process = case.params.get(WORKERS_PARAM) == 0  # every sweep also has 1 worker
        keys |= {(name, case.device)
                 for name in derived_metric_names(case.benchmark, case.params)
                 if (one_worker and name.startswith(LOADER_EFFICIENCY))
                 or (in_process and name.startswith(LOADER_WORKER_SHARE))
                 or (feeds_speedup and name.startswith(LENET_PREFIXES))}
    return keys


def derived_metric_names(benchmark: str, params: Mapping[str, Any]) -> set[str]:
    """The derived metrics a case's figures feed (on whichever device they land)."""
    batch = {BATCH_PARAM: params.get(BATCH_PARAM)}
    if benchmark == LENET_STEP and params.get(VARIANT_PARAM) == EAGER:
        return {LENET_CROSSOVER, metric_prefix(LENET_SPEEDUP, batch)}
    if benchmark == LOADER:
        return {metric_prefix(LOADER_EFFICIENCY, batch)}
    if benchmark == LOADER_STEADY:
        return {metric_prefix(LOADER_WORKER_SHARE, batch)}
    return set()


# --- claims ---------------------------------------------------------------------------

def claim_values(cells: Sequence[ClaimCell]) -> list[MetricValue]:
    """One value per claim cell, and ``claims.all_as_expected`` per device."""
    values = [_claim_value(cell) for cell in cells]
    by_device: dict[str, list[ClaimCell]] = {}
    for cell in cells:
        by_device.setdefault(cell.device, []).append(cell)
    for device, device_cells in by_device.items():
        wrong = [c.claim for c in device_cells if not c.passed]
        shown = "all as expected" if not wrong else f"{len(wrong)} not as expected: " + \
            ", ".join(wrong[:3]) + (" ..." if len(wrong) > 3 else "")
        values.append(MetricValue(CLAIMS_ALL, device, 0.0 if wrong else 1.0, display=shown))
    return values


def _claim_value(cell: ClaimCell) -> MetricValue:
    metric = claim_metric(cell.claim)
    if cell.skipped_unexpectedly:
        return MetricValue(metric, cell.device, None, skipped=cell.summary)
    return MetricValue(metric, cell.device, 1.0 if cell.passed else 0.0, display=cell.mark)


# --- the tutorial's own code -------------------------------------------------------------

def tutorial_values(tutorial: TutorialResults | None) -> list[MetricValue]:
    """``tutorial.all_blocks_run`` per device run; a device not run is skipped with why."""
    if tutorial is None:
        return []
    return [_tutorial_value(run) for run in tutorial.runs]


def _tutorial_value(run: TutorialRun) -> MetricValue:
    if run.skipped:
        return MetricValue(TUTORIAL_ALL, run.device, None, skipped=run.skipped)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in verdict_counts(run.blocks).items())
    wrong = next((b for b in run.blocks if not b.passed), None)
    shown = f"{len(run.blocks)} blocks: {counts}" + (
        "" if wrong is None else f"; block {wrong.index} (line {wrong.line}): {wrong.detail}")
    return MetricValue(TUTORIAL_ALL, run.device, 1.0 if run.passed else 0.0, display=shown)


# --- benchmarks -----------------------------------------------------------------------

def benchmark_values(records: Iterable[Measurement]) -> list[MetricValue]:
    """``median_s`` and every numeric ``extra`` figure of every measurement record."""
    values: list[MetricValue] = []
    for record in records:
        values.extend(_record_values(record))
    return values


def _record_values(record: Measurement) -> list[MetricValue]:
    fields = [MEDIAN_FIELD, *(k for k in record.extra if k in FIELD_UNITS and
                              k != MEDIAN_FIELD)]
    if not record.ok:
        fields = list(known_benchmark_fields(record.benchmark))
        return [MetricValue(measurement_metric(record.benchmark, record.params, f),
                            record.device, None, field_unit(f),
                            error=record.error or "no timed rounds") for f in fields]
    values = []
    for f in fields:
        value = record.figure(f)
        if value is None:
            continue
        exact = f in COUNT_FIELDS
        spread, noisy = (0.0, False) if exact else _spread(record, f)
        values.append(MetricValue(
            measurement_metric(record.benchmark, record.params, f), record.device, value,
            field_unit(f), spread, noisy, higher_is_better(f),
            record.fraction_of_peak if f != MEDIAN_FIELD else None,
            measurement=record if f in ROUND_FIELDS else None))
    return values


#: Figures computed per round from rounds paired in time, whose spread is that of their
#: own per-round values rather than of the record's times (distributed/ddp.py: the DDP
#: step's efficiency against solo rounds taken a moment before each DDP round).
PER_ROUND_FIELDS = {SCALING_EFFICIENCY_FIELD: SCALING_ROUNDS_FIELD}


def _spread(record: Measurement, field: str) -> tuple[float, bool]:
    """(IQR/median, noisy) of the figure ``field``: of its own per-round values where the
    record keeps them, else of the record's times."""
    rounds = record.extra.get(PER_ROUND_FIELDS.get(field, ""))
    if not isinstance(rounds, list) or len(rounds) < 2:
        return record.rel_spread, record.noisy
    median = stats.median(rounds)
    iqr = stats.iqr(rounds)
    return (iqr / median if median > 0 else 0.0), stats.is_noisy(median, iqr)


# --- derived figures ------------------------------------------------------------------

def lenet_speedups(records: Sequence[Measurement]) -> list[MetricValue]:
    """CUDA-over-CPU images/s of the eager LeNet step per batch size, and the crossover
    batch size, per GPU."""
    by_device: dict[str, dict[int, float]] = {}
    values: list[MetricValue] = []
    for speedup in cuda_speedups(records):
        if not speedup.cuda.matches(LENET_STEP, **{VARIANT_PARAM: EAGER}):
            continue
        batch = int(speedup.cuda.params[BATCH_PARAM])
        by_device.setdefault(speedup.device, {})[batch] = speedup.ratio
        values.append(MetricValue(metric_prefix(LENET_SPEEDUP, {BATCH_PARAM: batch}),
                                  speedup.device, speedup.ratio, "x", speedup.rel_spread,
                                  speedup.noisy))
    values += [_crossover(device, ratios) for device, ratios in by_device.items()]
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


def loader_efficiencies(records: Sequence[Measurement]) -> list[MetricValue]:
    """Images/s at the best worker count over images/s at 1 worker, per worker; where one
    worker is the best, no value: the figure would compare one worker with itself. Where
    0 workers beat every worker count, the figure says so (it compares workers only)."""
    values = []
    passes = {(f.device, f.batch_size): f for f in loader_pass_findings(records)}
    for scaling in loader_scalings(records):
        metric = metric_prefix(LOADER_EFFICIENCY, {BATCH_PARAM: scaling.batch_size})
        zero = _zero_fastest(passes.get((scaling.device, scaling.batch_size)))
        if not scaling.judgeable:
            values.append(MetricValue(
                metric, scaling.device, None, "per worker",
                skipped=f"among 1 or more workers, 1 was the fastest (worker counts "
                        f"measured: {_sweep(records, scaling.device, scaling.batch_size)}): "
                        f"scaling would compare 1 worker with itself{zero}"))
            continue
        values.append(MetricValue(
            metric, scaling.device, scaling.efficiency, "per worker", scaling.rel_spread,
            scaling.noisy, display=f"{scaling.efficiency:.2f} ({scaling.best_workers} "
                                   f"workers: {scaling.speedup:.2f}x of 1 worker{zero})",
            sources=(scaling.best, scaling.one)))
    return values


def _zero_fastest(finding: LoaderPassFinding | None) -> str:
    if finding is None or not finding.in_process_fastest:
        return ""
    return f"; 0 workers was {finding.ratio:.1f}x faster than any worker count"


def loader_worker_values(records: Sequence[Measurement]) -> list[MetricValue]:
    """Steady-state images/s of one worker over in-process, per device and batch size;
    shown with the best worker count's steady rate and the per-pass finding of every batch
    size on that device (the terminal's only word on 0 workers being fastest)."""
    values = []
    passes = loader_pass_findings(records)
    for share in loader_worker_shares(records):
        per_pass = "; ".join(_pass_summary(f) for f in passes if f.device == share.device)
        best = "" if share.best_workers == 1 else \
            f"; best {share.best_workers} workers {format_number(_steady(share.best))}"
        display = (f"{share.share:.2f} of in-process (steady: 1 worker "
                   f"{format_number(_steady(share.one))} vs "
                   f"{format_number(_steady(share.in_process))} images/s{best})"
                   + (f"; per pass: {per_pass}" if per_pass else ""))
        values.append(MetricValue(
            metric_prefix(LOADER_WORKER_SHARE, {BATCH_PARAM: share.batch_size}),
            share.device, share.share, "of in-process", share.rel_spread, share.noisy,
            display=display, sources=(share.one, share.in_process)))
    return values


def _steady(record: Measurement) -> float:
    return record.figure(RATE_FIELD) or 0.0


def _pass_summary(finding: LoaderPassFinding) -> str:
    """``batch 4: 0 workers 3.5x faster than 2 workers`` (per pass, start-up included)."""
    best = f"{finding.best_workers} worker{'s' if finding.best_workers != 1 else ''}"
    if finding.in_process_fastest:
        return f"batch {finding.batch_size}: 0 workers {finding.ratio:.1f}x faster than {best}"
    return f"batch {finding.batch_size}: {best} {finding.ratio:.1f}x faster than 0 workers"


def _sweep(records: Sequence[Measurement], device: str, batch: int) -> str:
    counts = sorted({int(r.params[WORKERS_PARAM]) for r in records
                     if r.matches(LOADER, device, **{BATCH_PARAM: batch}) and r.ok})
    return ", ".join(map(str, counts))

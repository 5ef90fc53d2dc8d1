"""Judge a spec's rules against a run's metric values.

Each rule expands to one result per (matching metric, selected device). Statuses:

- PASS / FAIL: the median (or the derived figure) meets / misses the bound.
- NOISY: the figure's IQR/median is above ``NOISY_IQR_FRACTION`` even after one
  re-measurement, and the figure is within its own spread of the bound, so the run cannot
  tell pass from fail. A noisy figure that clears (or misses) its bound by more than its
  IQR is judged PASS (or FAIL) anyway, with the noise named in the detail.
- SKIPPED: the rule does not apply here (no GPU, GPU not in the peak table, no baseline,
  figure not measured at this level), with the reason.
- MISSING: the figure should have been measured but was not (the case failed: out of
  memory, a dead worker); the error is the detail.
- INCONCLUSIVE: a performance figure measured while the machine was busy (others used
  the CPU this run wanted, the hypervisor stole time, another process held the GPU: the
  pre-flight window before the run, or the case's own window, results/machine.py), or not
  measured because the pre-flight found the machine busy. A busy machine makes a figure
  neither pass nor fail; ``accept --force`` judges it anyway, saying so in the detail.

The verdict is REJECTED when any result is FAIL or MISSING; else INCONCLUSIVE when any is
INCONCLUSIVE or NOISY (the machine could not be judged on that figure: never a pass); else
ACCEPTED. SKIPPED results (a rule that does not apply here) are listed and counted.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blitzbench.acceptance.metrics import (
    WORLD_FAMILIES,
    MetricValue,
    field_unit,
    format_number,
)
from blitzbench.acceptance.spec import OPS, BoundKind, Rule, Spec, metric_pattern
from blitzbench.results.compare import Verdict, compare_measurements
from blitzbench.results.names import PEAK_FIELD
from blitzbench.results.records import Finding

__all__ = ["ACCEPTED", "INCONCLUSIVE", "NOT_MEASURED", "REJECTED", "VERDICTS", "MachineBusy",
           "RuleResult", "RunDevices", "Status", "is_performance", "judge", "verdict"]

ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
INCONCLUSIVE = "INCONCLUSIVE"
VERDICTS = (ACCEPTED, REJECTED, INCONCLUSIVE)
#: Metric families that are correctness, not performance: a busy machine does not touch
#: them (claims, the tutorial's blocks, a collective's wrong elements).
CORRECTNESS_FAMILIES = ("claims", "tutorial")
CORRECTNESS_FIELDS = ("wrong",)
PEAK_UNIT = "of peak"  # the unit of a peak_fraction rule's measured value
BASELINE_UNIT = "% slower"  # the unit of a baseline rule's measured value


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOISY = "NOISY"
    SKIPPED = "SKIPPED"
    MISSING = "MISSING"
    INCONCLUSIVE = "INCONCLUSIVE"


REJECTING = frozenset({Status.FAIL, Status.MISSING})
UNJUDGED = frozenset({Status.INCONCLUSIVE, Status.NOISY})


@dataclass(frozen=True)
class MachineBusy:
    """What the run knew of the machine: the pre-flight's reason when it found it busy
    (nothing was measured then), the first busy case's reason per device (for a figure
    derived from several cases), and whether ``--force`` asked to judge anyway."""

    preflight: str = ""
    by_device: Mapping[str, str] = field(default_factory=dict)
    forced: bool = False


def is_performance(metric: str) -> bool:
    """Whether a metric is a performance figure (a busy machine moves it)."""
    return metric.split(".", 1)[0] not in CORRECTNESS_FAMILIES and \
        metric.rsplit(".", 1)[-1] not in CORRECTNESS_FIELDS


@dataclass(frozen=True)
class RunDevices:
    """The devices a run covered, with GPU names (``cuda:0`` -> ``NVIDIA H200``)."""

    labels: tuple[str, ...]
    gpu_names: Mapping[str, str]

    @classmethod
    def from_environment(cls, labels: Iterable[str], environment: Mapping[str, Any]
                         ) -> RunDevices:
        names = {f"cuda:{g.get('index')}": str(g.get("name"))
                 for g in environment.get("gpus") or [] if isinstance(g, Mapping)}
        return cls(tuple(labels), names)


@dataclass(frozen=True)
class RuleResult:
    """One rule judged on one metric on one device: a row of the verdict table."""

    rule: Rule
    metric: str
    device: str
    status: Status
    measured: float | None
    shown: str
    unit: str
    detail: str

    @property
    def bound_text(self) -> str:
        return self.rule.describe_bound(self.unit)

    def record(self) -> Finding:
        """The row as results.json's ``acceptance.rules`` stores it."""
        return Finding(rule=self.rule.id, metric=self.metric, device=self.device,
                       status=self.status.value, op=self.rule.op, bound=self.rule.bound,
                       bound_kind=self.rule.kind.value, bound_text=self.bound_text,
                       measured=self.measured, shown=self.shown, unit=self.unit,
                       detail=self.detail, source=self.rule.source)


def verdict(results: Iterable[RuleResult]) -> str:
    """REJECTED on a FAIL or MISSING; else INCONCLUSIVE on a rule that could not be judged
    (INCONCLUSIVE, NOISY); else ACCEPTED."""
    statuses = {r.status for r in results}
    if statuses & REJECTING:
        return REJECTED
    return INCONCLUSIVE if statuses & UNJUDGED else ACCEPTED


def judge(spec: Spec, values: Sequence[MetricValue], devices: RunDevices, *,
          planned: Iterable[tuple[str, str]] = (), level: str = "",
          baseline: Sequence[MetricValue] | None = None,
          machine: MachineBusy | None = None) -> list[RuleResult]:
    """Every rule of ``spec`` on every device it selects.

    ``planned`` lists (metric, device) pairs this run set out to measure, so a figure that
    should exist but does not is MISSING rather than quietly absent. ``machine`` says when
    the machine was busy: a performance figure it touched is INCONCLUSIVE (see the module
    docstring).
    """
    by_key = {(v.metric, v.device): v for v in values}
    planned_keys = set(planned) | set(by_key)
    base = {(v.metric, v.device): v for v in baseline} if baseline is not None else None
    results: list[RuleResult] = []
    for rule in spec.rules:
        found = _judge_rule(rule, by_key, planned_keys, devices, level, base)
        results.extend(_busy(r, by_key.get((r.metric, r.device)), machine) for r in found)
    return results


def _busy(result: RuleResult, value: MetricValue | None,
          machine: MachineBusy | None) -> RuleResult:
    """The result, or INCONCLUSIVE when a busy machine touched its performance figure
    (a SKIPPED rule stays skipped: it did not apply). Forced: judged, and said so."""
    if machine is None or result.status is Status.SKIPPED or \
            not is_performance(result.metric):
        return result
    reason = machine.preflight or _figure_busy(value, machine, result.device)
    if not reason:
        return result
    if machine.forced and not machine.preflight.startswith(NOT_MEASURED):
        note = f"measured on a busy machine (--force): {reason}"
        return dataclasses.replace(result, detail=f"{note}; {result.detail}"
                                   if result.detail else note)
    return dataclasses.replace(result, status=Status.INCONCLUSIVE, measured=None,
                               shown="-", detail=f"{reason}: run again on a quiet machine, "
                                                 f"or pass --force to judge anyway")


#: How a pre-flight reason begins when nothing was measured for it.
NOT_MEASURED = "not measured"


def _figure_busy(value: MetricValue | None, machine: MachineBusy, device: str) -> str:
    """Why the machine was busy while this figure was measured ("" when it was not)."""
    if value is not None and value.measurement is not None:
        return value.measurement.busy_reason()
    if value is not None and value.sources:
        reasons = ((m.prefix, m.busy_reason()) for m in value.sources)
        return next((f"{prefix}: {reason}" for prefix, reason in reasons if reason), "")
    return machine.by_device.get(device, "")


def _judge_rule(rule: Rule, by_key: Mapping[tuple[str, str], MetricValue],
                planned: set[tuple[str, str]], devices: RunDevices, level: str,
                base: Mapping[tuple[str, str], MetricValue] | None) -> list[RuleResult]:
    unit = field_unit(rule.metric.rsplit(".", 1)[-1])
    if rule.kind is BoundKind.BASELINE and base is None:
        return [_skip(rule, rule.metric, rule.device, "no --baseline given", unit)]
    selected, why_none = select_devices(rule, devices)
    if not selected:
        return [_skip(rule, rule.metric, rule.device, why_none, unit)]
    regex = metric_pattern(rule.metric)
    results = []
    for device in selected:
        names = sorted({m for m, d in planned if d == device and regex.match(m)})
        if not names:
            results.append(_skip(rule, rule.metric, device,
                                 _not_measured(rule.metric, device, level), unit))
            continue
        for name in names:
            results.append(_judge_one(rule, name, device, by_key.get((name, device)), base))
    return results


def _not_measured(metric: str, device: str, level: str) -> str:
    if metric.split(".", 1)[0] in WORLD_FAMILIES:
        return ("measured by a world of ranks only: run accept under torchrun "
                "(docs/acceptance.md, \"More than one GPU, more than one node\")")
    at_level = f" at level {level}" if level else ""
    return f"not measured on {device}{at_level}"


def select_devices(rule: Rule, devices: RunDevices) -> tuple[list[str], str]:
    """The run's devices a rule applies to, or none and the reason."""
    labels = list(devices.labels)
    if rule.device == "cpu":
        chosen = [d for d in labels if d == "cpu"]
    elif rule.device == "cuda":
        chosen = [d for d in labels if d.startswith("cuda")]
    elif rule.device == "all":
        chosen = labels
    else:
        chosen = [d for d in labels if d == rule.device]
    if not chosen:
        return [], (f"no {rule.device} device in this run" if rule.device != "cuda" else
                    "no CUDA device in this run")
    if rule.gpu:
        wanted = rule.gpu.lower()
        chosen = [d for d in chosen if wanted in devices.gpu_names.get(d, "").lower()]
        if not chosen:
            return [], f"no GPU named like {rule.gpu!r} in this run"
    return chosen, ""


def _judge_one(rule: Rule, metric: str, device: str, value: MetricValue | None,
               base: Mapping[tuple[str, str], MetricValue] | None) -> RuleResult:
    if value is None:
        return _result(rule, metric, device, Status.MISSING, None, "-", "",
                       "planned but not measured (the case did not run to the end)")
    if value.error:
        return _result(rule, metric, device, Status.MISSING, None, "-", value.unit,
                       f"the case failed: {value.error}"[:300])
    if value.value is None:
        return _skip(rule, metric, device, value.skipped or "no value", value.unit)
    if rule.kind is BoundKind.PEAK_FRACTION:
        return _judge_peak(rule, value)
    if rule.kind is BoundKind.BASELINE:
        return _judge_baseline(rule, value, base)
    return _compare(rule, value, value.value, value.shown(), value.unit,
                    abs(value.value) * value.rel_spread)


def _judge_peak(rule: Rule, value: MetricValue) -> RuleResult:
    fraction = value.fraction_of_peak
    if fraction is None:
        why = value.measurement.extra.get(PEAK_FIELD) if value.measurement else None
        return _skip(rule, value.metric, value.device,
                     str(why or "unknown device: no nominal peak in the peak table"),
                     value.unit)
    shown = f"{fraction:.2f} of peak ({value.shown()})"
    return _compare(rule, value, fraction, shown, PEAK_UNIT, fraction * value.rel_spread)


def _judge_baseline(rule: Rule, value: MetricValue,
                    base: Mapping[tuple[str, str], MetricValue] | None) -> RuleResult:
    """The per-round times of this run against the baseline's, tested (results/compare.py):
    FAIL only when the run is SLOWER by more than the bound at 95% confidence; NOISY when
    the rounds cannot tell."""
    if base is None:
        return _skip(rule, value.metric, value.device, "no --baseline given", value.unit)
    old = base.get((value.metric, value.device))
    if old is None or old.value is None:
        return _skip(rule, value.metric, value.device, "not measured in the baseline run",
                     value.unit)
    if value.measurement is None or old.measurement is None:
        return _skip(rule, value.metric, value.device, "a derived figure or a probe has no "
                     "timed rounds to test against the baseline", value.unit)
    result = compare_measurements(old.measurement, value.measurement,
                                  threshold=rule.bound / 100)
    slower_pct = 100 * result.change
    figures = f"({value.shown()} vs {old.shown()})"
    shown = ("-" if not math.isfinite(slower_pct) else
             f"{slower_pct:.1f}% slower {figures}" if slower_pct >= 0 else
             f"{-slower_pct:.1f}% faster {figures}")
    status = {Verdict.SLOWER: Status.FAIL, Verdict.NOISY: Status.NOISY}.get(result.verdict,
                                                                           Status.PASS)
    detail = f"{result.verdict.value}: {result.evidence()}"
    measured = slower_pct if math.isfinite(slower_pct) else None
    return _result(rule, value.metric, value.device, status, measured, shown, BASELINE_UNIT,
                   detail)


def _compare(rule: Rule, value: MetricValue, measured: float, shown: str, unit: str,
             spread: float, noise: str | None = "") -> RuleResult:
    """PASS/FAIL on the median; a noisy figure too close to call is NOISY.

    ``spread`` is the IQR in the judged quantity's unit; ``noise`` describes it (the
    default describes the value's own IQR; None: not noisy).
    """
    passed = OPS[rule.op](measured, rule.bound)
    status = Status.PASS if passed else Status.FAIL
    spacer = "" if unit.startswith("%") else " "
    detail = "" if passed else \
        f"measured {_num(measured)}{spacer + unit if unit else ''}, " \
        f"bound {rule.describe_bound(unit)}"
    if noise == "":
        noise = f"noisy: IQR {100 * value.rel_spread:.0f}% of the median" if value.noisy \
            else None
    if noise:
        margin = abs(measured - rule.bound)
        if margin > spread:
            clear = "clears" if passed else "misses"
            detail = f"{noise}, but {clear} the bound by more than its IQR" + \
                (f"; {detail}" if detail else "")
        else:
            status = Status.NOISY
            detail = f"{noise}, within its IQR of the bound: cannot tell pass from fail"
    return _result(rule, value.metric, value.device, status, measured, shown, unit, detail)


def _skip(rule: Rule, metric: str, device: str, why: str, unit: str = "") -> RuleResult:
    return _result(rule, metric, device, Status.SKIPPED, None, "-", unit, why)


def _result(rule: Rule, metric: str, device: str, status: Status, measured: float | None,
            shown: str, unit: str, detail: str) -> RuleResult:
    return RuleResult(rule, metric, device, status, measured, shown, unit, detail)


def _num(value: float) -> str:
    return format_number(value)

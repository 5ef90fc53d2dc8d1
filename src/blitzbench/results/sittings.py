"""Two sittings of ``pytest benchmarks`` judged case by case: the record blitzbench adds to
each saved pytest-benchmark entry, and the test that reads two of them.

(the statistic: see below; written after the measurements)
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from blitzbench.results.checking import _fail, _keys, _object
from blitzbench.results.compare import (
    CONFIDENCE,
    MIN_REPEATS,
    Comparison,
    Verdict,
    classify,
    compare_measurements,
    family_confidence,
    percent,
    t_quantile,
)
from blitzbench.results.instructions import (
    COUNT_THRESHOLD,
    CountComparison,
    InstructionCount,
    compare_counts,
)
from blitzbench.results.machine import busy
from blitzbench.results.records import Measurement

__all__ = ["BUSY", "DRIFT_FLOOR", "DRIFT_UNKNOWN", "MAD_TO_SD", "MIN_DRIFT_CASES",
           "NOT_MEASURED", "ONE_REPEAT", "SAVED_FORMAT", "SAVED_KEY", "TOO_SPREAD",
           "CaseVerdict", "SavedCase", "SittingDrift", "SittingsJudgement", "judge_sittings",
           "quiet_repeats", "sitting_drift"]

#: The key of blitzbench's record in a saved pytest-benchmark entry (beside "stats").
SAVED_KEY = "blitzbench"
#: A MAD times this estimates a normal standard deviation (1 / Phi^-1(3/4)).
MAD_TO_SD = 1.4826
#: Cases timed in quiet repeats in both sittings needed to estimate their drift.
MIN_DRIFT_CASES = 3
#: The least spread assumed between sittings (log units): DRIFT_FLOOR_WHY.
DRIFT_FLOOR = 0.03
#: The record's format (1: a measurement with its repeats and machine states, and an
#: instruction count or none).
SAVED_FORMAT = 1


@dataclass(frozen=True)
class SavedCase:
    """One benchmark of a pytest-benchmark run as blitzbench keeps it: the Measurement
    (every repeat's per-round times, ``blocks``, the machine during each repeat) and, with
    ``--count-instructions``, the case's instruction count with its setup.

    pytest-benchmark saves ``stats.data`` (the rounds) only with ``--benchmark-save-data``
    and knows nothing of repeats; this record is what the comparison reads."""

    measurement: Measurement
    count: InstructionCount | None = None

    KEYS = ("format", "measurement", "instructions")

    def to_json(self) -> dict[str, Any]:
        return {"format": SAVED_FORMAT, "measurement": self.measurement.to_json(),
                "instructions": None if self.count is None else self.count.to_json()}

    @classmethod
    def from_json(cls, value: Any, where: str = SAVED_KEY) -> SavedCase:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        if data.get("format") != SAVED_FORMAT:
            raise _fail(f"{where}.format", f"must be {SAVED_FORMAT} (written by this "
                                           f"blitzbench), got {data.get('format')!r:.40}")
        count = data.get("instructions")
        return cls(Measurement.from_json(data.get("measurement"), f"{where}.measurement"),
                   None if count is None else
                   InstructionCount.from_json(count, f"{where}.instructions"))


# --- judging two sittings ------------------------------------------------------------------

#: Why a case's timing was not judged, in the table's few columns (the long reason is in
#: the comparison's ``reason``).
NOT_MEASURED = "not measured"
ONE_REPEAT = "one repeat"
BUSY = "busy in {side}"
DRIFT_UNKNOWN = "drift unknown"
TOO_SPREAD = "too spread"
NOT_JUDGED = "not judged: "  # how the reason of a timing not judged begins


@dataclass(frozen=True)
class SittingDrift:
    """How the cases moved together between the two sittings: ``shift`` is the median
    ratio B/A over every case timed in quiet repeats in both (the sittings' common move,
    taken out of each case's ratio), ``spread`` the robust standard deviation of their log
    ratios around it (MAD_TO_SD x MAD, at least :data:`DRIFT_FLOOR`), ``cases`` how many
    cases it rests on, and ``allowance`` the half-width, in log units, that widens every
    case's interval (Student's t at the per-case level, ``cases - 1`` degrees of freedom,
    times the spread)."""

    shift: float
    spread: float
    cases: int
    allowance: float

    @property
    def known(self) -> bool:
        return self.cases >= MIN_DRIFT_CASES


@dataclass(frozen=True)
class CaseVerdict:
    """One case of both sittings: ``timing`` (its ratio over the sittings' shift, widened
    by their drift), ``within`` (the Welch comparison of its quiet repeats it came from),
    ``count`` (its instruction counts, when both runs counted it) and ``why`` (a short
    tag, when its timing was not judged)."""

    name: str
    timing: Comparison
    within: Comparison
    count: CountComparison | None = None
    why: str = ""

    @property
    def by_counts(self) -> bool:
        """Judged on instruction counts: both runs counted it, on the same setup."""
        return self.count is not None and self.count.comparable

    @property
    def verdict(self) -> Verdict:
        if self.by_counts:
            assert self.count is not None and self.count.verdict is not None
            return self.count.verdict
        return self.timing.verdict

    @property
    def label(self) -> str:
        """``SLOWER``, ``NOISY``, ...; ``SLOWER*`` when the counts decided."""
        return self.verdict.value + ("*" if self.by_counts else "")

    @property
    def figure(self) -> Comparison | CountComparison:
        """What the verdict rests on: the counts' comparison or the timing's."""
        return self.count if self.by_counts and self.count is not None else self.timing

    def ratio_text(self) -> str:
        ratio = self.figure.ratio
        return f"{ratio:.3f}" if math.isfinite(ratio) else "-"

    def interval_text(self) -> str:
        """The interval, or for a timing not judged its short reason."""
        found = self.figure
        if math.isfinite(found.low):
            return f"{found.low:.3f}-{found.high:.3f}"
        return self.why or "-"

    def evidence(self) -> str:
        """The figure's evidence, and the timing's when the counts decided."""
        if self.by_counts and self.count is not None:
            return (f"{self.count.evidence()}; time: {self.timing.verdict.value} "
                    f"{self.timing.evidence()}")
        return self.timing.evidence()


@dataclass(frozen=True)
class SittingsJudgement:
    """Every case of two sittings judged, with the drift they were judged against."""

    rows: tuple[CaseVerdict, ...]
    drift: SittingDrift
    threshold: float
    confidence: float  # per case (Bonferroni over the rows)

    def slower(self) -> list[CaseVerdict]:
        return [row for row in self.rows if row.verdict is Verdict.SLOWER]

    def noisy(self) -> list[CaseVerdict]:
        return [row for row in self.rows if row.verdict is Verdict.NOISY]

    def judged(self) -> list[CaseVerdict]:
        return [row for row in self.rows if row.verdict is not Verdict.NOISY]

    def summary(self) -> str:
        """``1 SLOWER, 0 FASTER, 20 SAME, 45 NOISY (not judged) of 66 cases; ...``."""
        found = {v: sum(row.verdict is v for row in self.rows) for v in Verdict}
        return (f"{found[Verdict.SLOWER]} SLOWER, {found[Verdict.FASTER]} FASTER, "
                f"{found[Verdict.SAME]} SAME, {found[Verdict.NOISY]} NOISY (not judged) of "
                f"{len(self.rows)} cases; threshold {self.threshold:.0%}, "
                f"{percent(self.confidence)} per case (95% for all together)")

    def drift_note(self) -> str:
        """The sittings' common move and the allowance every timing was widened by."""
        drift = self.drift
        if not drift.known:
            return (f"drift between the sittings not estimated: {drift.cases} cases timed in "
                    f"quiet repeats in both, {MIN_DRIFT_CASES} needed; no timing judged")
        return (f"the {drift.cases} cases timed in quiet repeats in both moved "
                f"{drift.shift:.3f}x together (taken out of each ratio: a second sitting "
                f"cannot tell a slower machine from code slower everywhere); their spread, "
                f"{drift.spread:.1%}, widens each interval by up to "
                f"+-{math.exp(drift.allowance) - 1:.0%}")

    def to_json(self) -> dict[str, Any]:
        """For readers (the saved JSON of a compare run, scripts/gate_proof.py); nothing in
        blitzbench reads it back."""
        drift = self.drift
        return {"summary": self.summary(), "threshold": self.threshold,
                "confidence": self.confidence,
                "drift": {"shift": _finite(drift.shift), "spread": _finite(drift.spread),
                          "cases": drift.cases, "allowance": _finite(drift.allowance)},
                "cases": [{"case": row.name, "verdict": row.verdict.value,
                           "by_counts": row.by_counts, "ratio": _finite(row.figure.ratio),
                           "low": _finite(row.figure.low), "high": _finite(row.figure.high),
                           "within_ratio": _finite(row.within.ratio), "why": row.why,
                           "evidence": row.evidence()} for row in self.rows]}

    def reasons(self) -> list[str]:
        """Each short tag of the timings not judged, with its cases and first reason."""
        tags: dict[str, list[CaseVerdict]] = {}
        for row in self.rows:
            if row.why and not row.by_counts:
                tags.setdefault(row.why, []).append(row)
        return [f"{tag} ({len(rows)} case{'s' if len(rows) > 1 else ''}): "
                f"{rows[0].timing.reason.removeprefix(NOT_JUDGED)}"
                for tag, rows in tags.items()]


def judge_sittings(pairs: Sequence[tuple[str, SavedCase, SavedCase]], threshold: float, *,
                   confidence: float = CONFIDENCE) -> SittingsJudgement:
    """Judge B against A for every (name, A, B), all together at ``confidence``: each
    case on its quiet repeats, relative to the sittings' shift, widened by their drift;
    on its instruction counts where both runs counted it on the same setup."""
    level = family_confidence(len(pairs), confidence)
    within = [(a, b, *_within(a.measurement, b.measurement, threshold, level))
              for _, a, b in pairs]
    drift = sitting_drift([c for _, _, c, _ in within], level)
    rows = []
    for a, b, found, why in within:
        timing = _against_drift(found, drift, level)
        if not why and timing.verdict is Verdict.NOISY:
            why = DRIFT_UNKNOWN if not drift.known else TOO_SPREAD
        rows.append(CaseVerdict(_label(b.measurement), timing, found,
                                _counts(a, b, threshold), why))
    return SittingsJudgement(tuple(rows), drift, threshold, level)


def quiet_repeats(measurement: Measurement) -> tuple[Measurement, str]:
    """The measurement cut to its repeats the machine was quiet in (results/machine.py's
    :func:`busy`), and why any were left out ("" when none were, or when the repeats'
    machine was not watched)."""
    blocks = measurement.block_times()
    states = measurement.machine
    if len(states) != len(blocks):
        return measurement, ""
    reasons = [busy(state) for state in states]
    kept = [index for index, reason in enumerate(reasons) if reason is None]
    if len(kept) == len(blocks):
        return measurement, ""
    first = next(reason for reason in reasons if reason)
    why = f"the machine was busy in {len(blocks) - len(kept)} of {len(blocks)} repeats: {first}"
    return dataclasses.replace(
        measurement, times_s=tuple(t for index in kept for t in blocks[index]),
        blocks=tuple(len(blocks[index]) for index in kept) if len(kept) > 1 else (),
        machine=tuple(states[index] for index in kept)), why


def sitting_drift(within: Sequence[Comparison], level: float) -> SittingDrift:
    """The sittings' drift, from every case judged on its quiet repeats (finite ratio)."""
    logs = [math.log(c.ratio) for c in within if math.isfinite(c.ratio)]
    if len(logs) < MIN_DRIFT_CASES:
        return SittingDrift(math.nan, math.nan, len(logs), math.inf)
    centre = statistics.median(logs)
    spread = max(DRIFT_FLOOR, MAD_TO_SD * statistics.median(abs(x - centre) for x in logs))
    allowance = t_quantile(0.5 + level / 2, len(logs) - 1) * spread
    return SittingDrift(math.exp(centre), spread, len(logs), allowance)


def _within(a: Measurement, b: Measurement, threshold: float,
            level: float) -> tuple[Comparison, str]:
    """B against A on their quiet repeats (results/compare.py's Welch t over repeat
    medians), or why not, with its short tag."""
    rounds = (a.rounds, b.rounds)
    for side, found in (("A", a), ("B", b)):
        if not found.ok:
            return _not_judged(threshold, rounds, level, f"not measured in {side}: "
                               f"{found.error or 'no rounds'}"), NOT_MEASURED
        if len(found.block_times()) < MIN_REPEATS:
            return _not_judged(threshold, rounds, level, (
                f"one repeat in {side} (timed in another process and replayed, or saved "
                f"without repeats): its drift between repeats was not measured, and rounds "
                f"back to back understate the drift between sittings")), ONE_REPEAT
    quiet = [(side, *quiet_repeats(found)) for side, found in (("A", a), ("B", b))]
    busy_sides = [side for side, found, _ in quiet if len(found.block_times()) < MIN_REPEATS]
    if busy_sides:
        why = "; ".join(f"in {side}, {text}" for side, found, text in quiet
                        if side in busy_sides)
        return (_not_judged(threshold, rounds, level, why),
                BUSY.format(side="+".join(busy_sides)))
    found = compare_measurements(quiet[0][1], quiet[1][1], threshold=threshold,
                                 confidence=level)
    notes = [f"in {side}, {text}" for side, _, text in quiet if text]
    return dataclasses.replace(found, reason="; ".join(filter(None, [found.reason, *notes]))), ""


def _against_drift(within: Comparison, drift: SittingDrift, level: float) -> Comparison:
    """The case's ratio over the sittings' shift, its interval widened by their drift
    allowance (in quadrature with its own half-width, both in log units)."""
    if not math.isfinite(within.ratio):
        return within
    if not drift.known:
        return _not_judged(within.threshold, within.rounds, level,
                           f"the drift between the sittings is unknown: {drift.cases} cases "
                           f"timed in quiet repeats in both, {MIN_DRIFT_CASES} needed")
    centre = math.log(within.ratio) - math.log(drift.shift)
    half = math.hypot((math.log(within.high) - math.log(within.low)) / 2, drift.allowance)
    ratio, low, high = math.exp(centre), math.exp(centre - half), math.exp(centre + half)
    verdict = classify(ratio, low, high, within.threshold)
    method = (f"{within.method}; over the sittings' shift {drift.shift:.3f}x, widened by "
              f"their drift +-{math.exp(drift.allowance) - 1:.0%}")
    notes = [part for part in within.reason.split("; ")
             if part and not part.startswith("the interval straddles")]
    if verdict is Verdict.NOISY:
        notes.insert(0, "the interval straddles the threshold: the repeats and the "
                        "sittings' drift are too spread to tell")
    return Comparison(verdict, ratio, low, high, within.threshold, within.rounds, method,
                      "; ".join(notes), level)


def _not_judged(threshold: float, rounds: tuple[int, int], level: float,
                why: str) -> Comparison:
    nan = math.nan
    return Comparison(Verdict.NOISY, nan, nan, nan, threshold, rounds, "none",
                      NOT_JUDGED + why, level)


def _counts(a: SavedCase, b: SavedCase, threshold: float) -> CountComparison | None:
    """Both runs' counts judged at the gate's threshold (never below COUNT_THRESHOLD, the
    least change counts resolve), or None when either run has none."""
    if a.count is None or b.count is None or a.count.prefix != b.count.prefix \
            or a.count.device != b.count.device:
        return None
    return compare_counts(a.count, b.count, threshold=max(threshold, COUNT_THRESHOLD))


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: None for them."""
    return value if math.isfinite(value) else None


def _label(measurement: Measurement) -> str:
    """The case as the catalog names it, with its device when not the host CPU."""
    device = measurement.device
    return measurement.prefix if device in ("cpu", "host") else \
        f"{measurement.prefix} on {device}"

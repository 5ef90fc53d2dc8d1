"""Two sittings of ``pytest benchmarks`` judged case by case: the record blitzbench adds to
each saved pytest-benchmark entry (:class:`SavedCase`), and the test that reads two of them
(:func:`judge_sittings`): FASTER, SLOWER, SAME or NOISY, with the ratio B/A and its
interval, read against the threshold by results/compare.py's :func:`classify`.

What a second sitting can and cannot tell. The saved run and the run compared with it are
minutes apart, in two processes, on a machine shared with other work. Besides the code,
three things move a figure between them, and each is met differently:

1. Load during a repeat. On this project's 2-core VM a neighbour on one core makes torch's
   two intra-op threads wait on each other: in a run beside the other engineers' tests
   (2026-12-06) a LeNet batch-64 training step read 15-41 ms a repeat (5.5-8.5 ms in a
   quiet run that day) and a 2^22-element add 8.0 ms in every repeat, tightly (1.0 ms
   quiet), so two such runs put LeNet cases at 0.1x-21x of each other. No interval
   absorbs that, and a tight 8.0 ms against a quiet 1.0 ms reads as a confident SLOWER.
   So each repeat carries the machine's state (benchmark_plugin.py's monitor), a repeat
   that results/machine.py's :func:`~blitzbench.results.machine.busy` calls busy is left
   out, and a case with fewer than two quiet repeats in either run is not judged ("busy
   in B").
2. Drift within a run. Each case is timed in repeats, each on a fresh build, and the test
   is results/compare.py's Welch t over the log repeat medians, so that drift is inside
   the interval.
3. Drift between the sittings, which no repeat inside one run can see (the process, its
   memory layout, another VM's use of the host's caches and memory minutes later). Every
   case is judged relative to the sittings' common shift (the median ratio over the
   cases judged on quiet repeats), its interval (its own Welch half-width, in log units)
   widened on both sides by Student's t at the per-case level times the robust spread of
   the judged cases' log ratios (MAD_TO_SD x MAD, at least DRIFT_FLOOR). And since that
   spread does not foretell a single case's move (between two unchanged runs here the
   2^22-element adds alone moved up to 2.51x), a FASTER or SLOWER must also go the
   threshold beyond the widest move of any other case, or it is NOISY
   (:func:`_beyond_others` has the measurement).

What taking the shift out costs: a change that slows every case alike reads as the
machine's shift, not as SLOWER; the table prints the shift, and instruction counts (which
a busy machine does not move) judge such a change. A case timed in one repeat (the
collectives and DDP steps, replayed from a torchrun job's iterations; a saved run without
repeats) is not judged: rounds back to back understate the drift between sittings (a
round bootstrap called all_gather at 1 MiB 3.79x and reduce_scatter at 1 MiB 3.62x SLOWER
between two unchanged runs here, 2026-12-06; docs/benchmarks.md, "Comparing two runs"
has more).

Where both runs counted a case's instructions on the same setup (``--count-instructions``,
results/instructions.py), the counts decide its verdict, at the gate's threshold but never
below COUNT_THRESHOLD; the timing stays in the evidence, since counts cannot see a
memory-bandwidth, cache or threading change. Every case is judged at the Bonferroni level
that keeps the whole comparison at 95% (one exit code rests on all of them).
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
           "NOT_MEASURED", "ONE_REPEAT", "OTHERS_MOVED", "SAVED_FORMAT", "SAVED_KEY",
           "TOO_SPREAD",
           "CaseVerdict", "Move", "SavedCase", "SittingDrift", "SittingsJudgement",
           "judge_sittings", "quiet_repeats", "sitting_drift"]

#: The key of blitzbench's record in a saved pytest-benchmark entry (beside "stats").
SAVED_KEY = "blitzbench"
#: A MAD times this estimates a normal standard deviation (1 / Phi^-1(3/4)).
MAD_TO_SD = 1.4826
#: Cases timed in quiet repeats in both sittings needed to estimate their drift: a median
#: and a MAD of fewer say nothing (and t at 1 degree of freedom widens past any threshold).
MIN_DRIFT_CASES = 3
#: The least spread assumed between sittings, in log units. Between back-to-back runs here
#: (2026-12-06, three pairs) the nine single-threaded 5x3 tensor ops, the steadiest cases,
#: spread 1.2-1.5% (MAD_TO_SD x MAD) around their shift, single ones up to 5.9% off; with
#: few cases a MAD can come out near zero by chance, so the spread is taken as at least
#: twice the steadiest measured (times t: +-12% at 9 cases).
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
OTHERS_MOVED = "others moved"  # not the threshold beyond the widest other move
NOT_JUDGED = "not judged: "  # how the reason of a timing not judged begins
MOVED = "moved "  # how the reason of a move within the others' begins


@dataclass(frozen=True)
class Move:
    """A judged case's move between the sittings: its log ratio over their shift."""

    case: str
    log_move: float


@dataclass(frozen=True)
class SittingDrift:
    """How the cases moved between the two sittings, from every case judged on quiet
    repeats in both: ``shift`` is their median ratio B/A (the sittings' common move, taken
    out of each case's ratio); ``spread`` the robust standard deviation of their log
    ratios around it (MAD_TO_SD x MAD, at least :data:`DRIFT_FLOOR`) and ``allowance``
    Student's t at the per-case level (``cases - 1`` degrees of freedom) times it, the
    half-width (log units) every interval is widened by; ``moves`` every judged case's
    move, which bounds how far an unchanged case can go (:func:`_beyond_others`)."""

    shift: float
    spread: float
    cases: int
    allowance: float
    moves: tuple[Move, ...] = ()

    @property
    def known(self) -> bool:
        return self.cases >= MIN_DRIFT_CASES

    def widest_besides(self, case: str) -> Move | None:
        """The widest move (either way) of a judged case other than ``case``."""
        return max((move for move in self.moves if move.case != case),
                   key=lambda move: abs(move.log_move), default=None)


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
            return (f"drift between the sittings not estimated: {_cases(drift.cases)} timed "
                    f"in quiet repeats in both, {MIN_DRIFT_CASES} needed; no timing judged")
        text = (f"the {drift.cases} cases timed in quiet repeats in both moved "
                f"{drift.shift:.3f}x together (taken out of each ratio: a second sitting "
                f"cannot tell a slower machine from code slower everywhere); each interval "
                f"is widened by t x their spread {drift.spread:.1%} "
                f"(+-{math.exp(drift.allowance) - 1:.0%}), and a change must go the "
                f"threshold beyond the widest move of any other case")
        moves = sorted(drift.moves, key=lambda move: -abs(move.log_move))[:2]
        return text + "".join(f"; {move.case} moved {math.exp(move.log_move):.2f}x"
                              for move in moves)

    def to_json(self) -> dict[str, Any]:
        """For readers (the saved JSON of a compare run, scripts/gate_proof.py); nothing in
        blitzbench reads it back."""
        drift = self.drift
        return {"summary": self.summary(), "threshold": self.threshold,
                "confidence": self.confidence,
                "drift": {"shift": _finite(drift.shift), "spread": _finite(drift.spread),
                          "cases": drift.cases, "allowance": _finite(drift.allowance),
                          "moves": {move.case: math.exp(move.log_move)
                                    for move in drift.moves}},
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
        return [f"{tag} ({_cases(len(rows))}): "
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
    drift = sitting_drift([(b.measurement, c) for _, b, c, _ in within], level)
    rows = []
    for a, b, found, why in within:
        timing = _against_drift(found, drift, _label(b.measurement), level)
        if not why and timing.verdict is Verdict.NOISY:
            why = (DRIFT_UNKNOWN if not drift.known else OTHERS_MOVED
                   if timing.reason.startswith(MOVED) else TOO_SPREAD)
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


def sitting_drift(within: Sequence[tuple[Measurement, Comparison]],
                  level: float) -> SittingDrift:
    """The sittings' drift, from every case judged on its quiet repeats (finite ratio)."""
    judged = [(m, math.log(c.ratio)) for m, c in within if math.isfinite(c.ratio)]
    if len(judged) < MIN_DRIFT_CASES:
        return SittingDrift(math.nan, math.nan, len(judged), math.inf)
    centre = statistics.median(log for _, log in judged)
    spread = max(DRIFT_FLOOR,
                 MAD_TO_SD * statistics.median(abs(log - centre) for _, log in judged))
    allowance = t_quantile(0.5 + level / 2, len(judged) - 1) * spread
    return SittingDrift(math.exp(centre), spread, len(judged), allowance,
                        tuple(Move(_label(m), log - centre) for m, log in judged))


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


def _against_drift(within: Comparison, drift: SittingDrift, case: str,
                   level: float) -> Comparison:
    """The case's ratio over the sittings' shift, its interval (its own repeats' half-width
    in log units) widened on both sides by the drift allowance; a FASTER or SLOWER that
    does not go beyond every other case's move by the threshold is NOISY."""
    if not math.isfinite(within.ratio):
        return within
    if not drift.known:
        return _not_judged(within.threshold, within.rounds, level,
                           f"the drift between the sittings is unknown: "
                           f"{_cases(drift.cases)} timed in quiet repeats in both, "
                           f"{MIN_DRIFT_CASES} needed")
    centre = math.log(within.ratio) - math.log(drift.shift)
    own = (math.log(within.high) - math.log(within.low)) / 2
    half = own + drift.allowance
    ratio, low, high = math.exp(centre), math.exp(centre - half), math.exp(centre + half)
    verdict = classify(ratio, low, high, within.threshold)
    notes = [part for part in within.reason.split("; ")
             if part and not part.startswith("the interval straddles")]
    if verdict in (Verdict.SLOWER, Verdict.FASTER):
        masked = _beyond_others(centre, own, drift.widest_besides(case), within.threshold)
        if masked:
            verdict = Verdict.NOISY
            notes.insert(0, masked)
    elif verdict is Verdict.NOISY:
        notes.insert(0, "the interval straddles the threshold: the repeats and the "
                        "sittings' drift are too spread to tell")
    method = (f"{within.method}; over the sittings' shift {drift.shift:.3f}x, widened by "
              f"+-{math.exp(drift.allowance) - 1:.0%} for their drift")
    return Comparison(verdict, ratio, low, high, within.threshold, within.rounds, method,
                      "; ".join(notes), level)


def _beyond_others(centre: float, own: float, widest: Move | None, threshold: float) -> str:
    """Why a move of ``centre`` (log, over the shift; ``own`` its repeats' half-width) is
    not a change: it does not go beyond the widest move of another case by the
    threshold ("" when it does, or when no other case was judged).

    Why: between two unchanged back-to-back runs here (2026-12-06, both quiet in the
    repeats judged), the 2^22-element adds moved 1.41x, 2.06x and 2.51x over the others'
    shift with their repeats within 5-20% of each other (another VM's use of the host's
    memory system, which no monitor inside this one sees), while t x the spread of all
    37 judged cases allowed +-41%: the in-place add was called SLOWER, a false alarm.
    How far an unchanged case can move is what the other cases show; a change must go
    the threshold beyond that. Cases that move together beyond all the others mask each
    other (NOISY); instruction counts judge each case on its own."""
    if widest is None:
        return ""
    beyond = abs(centre) - own - abs(widest.log_move)
    if beyond >= math.log(1 + threshold):
        return ""
    return (f"{MOVED}{math.exp(centre):.2f}x, but {widest.case} moved "
            f"{math.exp(widest.log_move):.2f}x between the same sittings: not "
            f"{threshold:.0%} beyond the widest other move")


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


def _cases(count: int) -> str:
    return f"{count} case{'' if count == 1 else 's'}"


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: None for them."""
    return value if math.isfinite(value) else None


def _label(measurement: Measurement) -> str:
    """The case as the catalog names it, with its device when not the host CPU."""
    device = measurement.device
    return measurement.prefix if device in ("cpu", "host") else \
        f"{measurement.prefix} on {device}"

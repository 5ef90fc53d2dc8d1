"""The paired test of an A/B run: B against A from pairs measured side by side in time.

``blitzbench ab`` alternates A and B in short slots, in random order, many pairs per case
(runner/ab.py). Each pair gives one observation, the log of B's slot time over A's: the two
slots lie milliseconds apart, so the drift of a shared machine (which moves a figure by
tens of percent between runs minutes apart) cancels inside the pair, and what is left is
the difference between the sides plus slot-to-slot noise.

Within one pair of worker processes the pairs' centre is estimated by Hodges-Lehmann (the
median of the Walsh averages, Hollander & Wolfe, *Nonparametric Statistical Methods*, 3rd
ed., sec. 3.2) rather than a mean:

- a neighbour's burst lands in one slot of a pair and not the other, so the log-ratios have
  heavy tails (a pair at 10x beside dozens within 5%); one such pair drags a mean, while
  the Walsh averages' median ignores it (breakdown point 29% of the pairs);
- it needs only a distribution symmetric about its centre, which the random order of A and
  B within pairs gives a machine's state (neither side is systematically first);
- it loses little when the log-ratios are normal (asymptotic efficiency 0.955 against t).

Across pairs of processes: two workers of the same interpreter differ by their memory
layout (on the 2-core VM A against A read 0.83-1.31x on the 2^22-element tensor ops from
one pair of processes to the next, runner/ab.py), so pairs from one pair of processes are
not independent draws of the comparison; nor are pairs from one build of the case (a
busy machine moved the LeNet step's ratio by 0.80-1.17x from one build to the next inside
one pair of processes, runner/ab.py). Each build's pairs give its Hodges-Lehmann estimate;
each pair of processes is one observation, the mean of its builds' estimates; and the
interval is Student's t over those observations (degrees of freedom: process pairs less
one). Both effects are inside the interval, as the repeats' drift is in ``compare``'s
Welch interval, and builds narrow it where the build effect dominates, without treating
builds of one process as independent where the process effect does. With a single pair of
processes the interval is the signed-rank interval of its pairs (exact null distribution),
and the evidence says the difference between processes was not measured.

The ratio is ``exp`` of the estimate, the interval ``exp`` of the interval's ends; the
verdict reads it against the threshold as ``compare`` does (results/compare.py: SLOWER,
FASTER, SAME, NOISY).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from blitzbench.results.ab import ABRecord, PairedCase
from blitzbench.results.compare import (
    CONFIDENCE,
    DEFAULT_THRESHOLD,
    Comparison,
    Verdict,
    classify,
    detectable_change,
    family_confidence,
    t_quantile,
)
from blitzbench.results.instructions import (
    CountComparison,
    InstructionCount,
    compare_count_records,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["EXACT_MAX_PAIRS", "MIN_PAIRS", "compare_case", "compare_pairs",
           "compare_processes", "count_verdicts", "detectable_change", "hodges_lehmann",
           "judge_record",
           "log_ratios", "signed_rank_critical", "walsh_interval"]

#: Pairs of worker processes for the between-process interval (t needs a variance).
MIN_PROCESSES = 2
#: Below this many pairs no interval is reported (at 95% a signed-rank interval needs 6
#: pairs to exist at all; Bonferroni over 33 figures, 11).
MIN_PAIRS = 6
#: Exact null distribution up to this many pairs (its table has n(n+1)/2 + 1 entries,
#: built in n numpy passes: milliseconds at 300); beyond, the continuity-corrected normal
#: approximation, which is conservative by a few ranks (3 of 1,276 at n = 50, 7 of 45,151
#: at n = 300, alpha 0.01: tests/test_paired.py).
EXACT_MAX_PAIRS = 300


def log_ratios(a_s: Sequence[float], b_s: Sequence[float]) -> list[float]:
    """``log(b / a)`` of each pair (both times positive)."""
    return [math.log(b / a) for a, b in zip(a_s, b_s, strict=True)]


def compare_pairs(a_s: Sequence[float], b_s: Sequence[float], *,
                  threshold: float = DEFAULT_THRESHOLD,
                  confidence: float = CONFIDENCE) -> Comparison:
    """B against A from paired times: the signed-rank interval of the Hodges-Lehmann ratio
    (see the module docstring), read against ``threshold``."""
    pairs = len(a_s)
    rounds = (pairs, len(b_s))
    if pairs != len(b_s) or pairs < MIN_PAIRS:
        return _untestable(rounds, threshold, f"{pairs} pairs: at least {MIN_PAIRS} needed")
    found = walsh_interval(log_ratios(a_s, b_s), confidence)
    if found is None:
        return _untestable(rounds, threshold, f"{pairs} pairs are too few for a "
                                              f"{_percent(confidence)} interval")
    estimate, low, high = (math.exp(v) for v in found)
    verdict = classify(estimate, low, high, threshold)
    reason = (_noisy_reason(low, high, threshold, pairs) if verdict is Verdict.NOISY
              else "")
    return Comparison(verdict, estimate, low, high, threshold, rounds,
                      f"signed-rank interval of the Hodges-Lehmann ratio over {pairs} "
                      f"interleaved pairs", reason, confidence)


def compare_processes(processes: Sequence[Sequence[tuple[Sequence[float], Sequence[float]]]],
                      *, threshold: float = DEFAULT_THRESHOLD,
                      confidence: float = CONFIDENCE) -> Comparison:
    """B against A over several pairs of worker processes, each given as its builds'
    (A times, B times): Student's t over each process pair's mean of its builds'
    Hodges-Lehmann log-ratios (see the module docstring)."""
    estimates = []
    for builds in processes:
        found = [hodges_lehmann(log_ratios(a_s, b_s)) for a_s, b_s in builds if a_s]
        if found:
            estimates.append(statistics.fmean(found))
    pairs = sum(len(a_s) for builds in processes for a_s, _ in builds)
    built = sum(1 for builds in processes for a_s, _ in builds if a_s)
    if len(estimates) < MIN_PROCESSES:
        return _untestable((pairs, pairs), threshold,
                           f"{len(estimates)} process pair(s) measured")
    centre = statistics.fmean(estimates)
    spread = statistics.stdev(estimates) / math.sqrt(len(estimates))
    half = t_quantile(0.5 + confidence / 2, len(estimates) - 1) * spread
    estimate, low, high = (math.exp(v) for v in (centre, centre - half, centre + half))
    verdict = classify(estimate, low, high, threshold)
    reason = (_noisy_reason(low, high, threshold, len(estimates)) if verdict is Verdict.NOISY
              else "")
    of_builds = f"{built} builds, " if built > len(estimates) else ""
    return Comparison(verdict, estimate, low, high, threshold, (pairs, pairs),
                      f"t over {len(estimates)} pairs of processes (Hodges-Lehmann of "
                      f"{of_builds}{pairs} interleaved pairs)", reason, confidence)


def compare_case(case: PairedCase, *, threshold: float = DEFAULT_THRESHOLD,
                 confidence: float = CONFIDENCE) -> Comparison:
    """One case of an A/B run: over its process pairs when it has several, else over its
    pairs, saying that the difference between processes was not measured."""
    processes = case.process_blocks()
    if len(processes) >= MIN_PROCESSES:
        return compare_processes(processes, threshold=threshold, confidence=confidence)
    found = compare_pairs(case.a_s, case.b_s, threshold=threshold, confidence=confidence)
    note = "one pair of processes: the difference between processes was not measured"
    return dataclasses.replace(found, reason=f"{found.reason}; {note}" if found.reason
                               else note)


def hodges_lehmann(values: Sequence[float]) -> float:
    """The median of the Walsh averages: the centre of a symmetric sample, robust."""
    import numpy as np

    return float(np.median(_walsh_averages(np.asarray(values, dtype=float))))


def walsh_interval(values: Sequence[float], confidence: float
                   ) -> tuple[float, float, float] | None:
    """(Hodges-Lehmann estimate, low, high) of the centre of ``values``; None when there
    are too few values for an interval at ``confidence``."""
    import numpy as np

    sample = np.asarray(values, dtype=float)
    n = len(sample)
    upper = signed_rank_critical(n, 1 - confidence)
    total = n * (n + 1) // 2
    lowest = total + 1 - upper  # 1-based rank of the interval's lower end (C_alpha)
    if lowest < 1:
        return None
    walsh = _walsh_averages(sample)
    return float(np.median(walsh)), float(walsh[lowest - 1]), float(walsh[total - lowest])


def signed_rank_critical(n: int, alpha: float) -> int:
    """The smallest t with P(T+ >= t) <= alpha / 2 under the null (T+ the sum of the ranks
    of the positive differences of n): the upper critical value of a two-sided test."""
    total = n * (n + 1) // 2
    if n > EXACT_MAX_PAIRS:
        from statistics import NormalDist

        mean, sd = total / 2, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        return math.ceil(mean + 0.5 + NormalDist().inv_cdf(1 - alpha / 2) * sd)
    tail = _upper_tail(n)
    fits = [t for t in range(total + 2) if tail[t] <= alpha / 2]
    return fits[0]


def _upper_tail(n: int) -> np.ndarray:
    """P(T+ >= t) for t = 0 .. n(n+1)/2 + 1, from the exact null distribution: each rank
    i is in T+ with probability 1/2, independently."""
    import numpy as np

    total = n * (n + 1) // 2
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    for rank in range(1, n + 1):
        shifted = np.zeros_like(pmf)
        shifted[rank:] = pmf[:total + 1 - rank]
        pmf = (pmf + shifted) / 2
    tail = np.cumsum(pmf[::-1])[::-1]
    return np.append(tail, 0.0)


def _walsh_averages(sample: np.ndarray) -> np.ndarray:
    """Every (x_i + x_j) / 2 with i <= j, sorted."""
    import numpy as np

    rows, cols = np.triu_indices(len(sample))
    return np.sort((sample[rows] + sample[cols]) / 2)


def _noisy_reason(low: float, high: float, threshold: float, units: int) -> str:
    up, down = 1 + threshold, 1 / (1 + threshold)
    if low < down and high > up:
        return (f"the interval spans both bounds: {units} observations could not resolve "
                f"a {threshold:.0%} change on this machine")
    return "the interval straddles the threshold: the change is near the threshold"


def _untestable(rounds: tuple[int, int], threshold: float, why: str) -> Comparison:
    nan = math.nan
    return Comparison(Verdict.NOISY, nan, nan, nan, threshold, rounds, "none",
                      f"cannot test: {why}")


def _percent(confidence: float) -> str:
    return f"{100 * confidence:.2f}".rstrip("0").rstrip(".") + "%"


def judge_record(record: ABRecord) -> list[tuple[PairedCase, Comparison]]:
    """Every case of an A/B run with its verdict, at the Bonferroni level over all of its
    cases (results/compare.py's family_confidence): the one place an A/B verdict is made,
    for the terminal, ``--format json``, the report and the pytest gate alike."""
    confidence = family_confidence(len(record.cases))
    judged = []
    for case in record.cases:
        comparison = compare_case(case, threshold=record.threshold, confidence=confidence)
        if case.error:
            comparison = dataclasses.replace(
                comparison, verdict=Verdict.NOISY if case.pairs else comparison.verdict,
                reason=f"{comparison.reason}; {case.error}" if comparison.reason
                else case.error)
        judged.append((case, comparison))
    return judged


def count_verdicts(record: ABRecord) -> list[tuple[InstructionCount, InstructionCount,
                                                   CountComparison]]:
    """The cases both sides counted (``--count-instructions``), judged B against A."""
    if record.counts_a is None or record.counts_b is None:
        return []
    return compare_count_records(record.counts_a, record.counts_b)

"""Statistics that decide: is run B's figure faster, slower, the same as run A's, or noisy?

A difference of two medians is not a verdict: each median has an uncertainty set by the
spread of the rounds behind it. For each figure blitzbench computes the ratio of medians
(B over A, in time: above 1 is slower) and a confidence interval for it, then reads the
interval against a threshold ``t`` (the smallest change worth calling):

- SLOWER: the interval lies above 1 and the ratio is at least ``1 + t``;
- FASTER: the interval lies below 1 and the ratio is at most ``1 / (1 + t)``;
- SAME: the whole interval lies within ``[1 / (1 + t), 1 + t]``: any change is smaller
  than the threshold, at the stated confidence;
- NOISY: none of these: the rounds are too spread (or too few) to tell.

Why a bootstrap confidence interval of the median ratio, not a Mann-Whitney U test: the
rank test answers "do the two samples differ at all?", and with hundreds of rounds it
calls a 0.5% shift significant; it says nothing of how large the change is, which is what
a threshold is about. The interval of the ratio gives the size of the change with its
uncertainty, in the unit the threshold is written in, and works on the median, the figure
blitzbench reports (robust to the outlier rounds a shared machine produces). The
percentile bootstrap makes no assumption about the shape of the timing distribution
(right-skewed, sometimes bimodal). Resampling is seeded, so a verdict is reproducible.

Format-1 records kept no per-round times, only median, IQR and rounds; for them the
interval comes from the normal approximation of a median's standard error
(1.2533 sigma / sqrt(n), sigma = IQR / 1.349), and the evidence says so.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blitzbench.results.records import Measurement

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BOOTSTRAP_RESAMPLES", "CONFIDENCE", "DEFAULT_THRESHOLD", "FLEET_THRESHOLD",
           "MIN_ROUNDS",
           "Comparison", "Verdict", "classify", "compare_measurements",
           "compare_summaries", "compare_times"]

#: The smallest change called FASTER or SLOWER by default (5%): the synthetic proof in
#: tests/test_compare_stats.py holds at it, and quiet runs of this project's >=100 us
#: cases stay inside it (README, "Comparing two runs").
DEFAULT_THRESHOLD = 0.05
#: Between nodes of a fleet (and for ``accept --baseline``'s default rules): 15%, well
#: above the run-to-run drift of a quiet node, 10% being where a figure is called noisy.
FLEET_THRESHOLD = 0.15
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
#: Rounds used per side: beyond this the interval is already narrow; a seeded subsample
#: keeps a 10,000-round case from costing seconds (a smaller sample only widens it).
MAX_BOOTSTRAP_ROUNDS = 2000
MIN_ROUNDS = 3  # below, a median has no spread to test
SEED = 0
#: A median's standard error is sqrt(pi/2) sigma / sqrt(n) for normal data; IQR = 1.349 sigma.
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)
IQR_PER_SIGMA = 1.349


class Verdict(str, enum.Enum):
    FASTER = "FASTER"
    SLOWER = "SLOWER"
    SAME = "SAME"
    NOISY = "NOISY"


@dataclass(frozen=True)
class Comparison:
    """B against A for one figure: the verdict and everything it rests on."""

    verdict: Verdict
    ratio: float  # median time of B over A: above 1, B is slower
    low: float
    high: float
    threshold: float
    rounds: tuple[int, int]
    method: str
    reason: str = ""

    @property
    def change(self) -> float:
        """The change in time, as a fraction (+0.12: 12% slower)."""
        return self.ratio - 1

    def evidence(self) -> str:
        """``1.123x (95% CI 1.080-1.170), threshold 5%, 30 vs 30 rounds, bootstrap``."""
        if not math.isfinite(self.ratio):
            return self.reason
        text = (f"{self.ratio:.3f}x ({CONFIDENCE:.0%} CI {self.low:.3f}-{self.high:.3f}), "
                f"threshold {self.threshold:.0%}, {self.rounds[0]} vs {self.rounds[1]} "
                f"rounds, {self.method}")
        return f"{text}; {self.reason}" if self.reason else text


def classify(ratio: float, low: float, high: float, threshold: float) -> Verdict:
    """The verdict for a ratio and its interval (see the module docstring)."""
    up, down = 1 + threshold, 1 / (1 + threshold)
    if low > 1 and ratio >= up:
        return Verdict.SLOWER
    if high < 1 and ratio <= down:
        return Verdict.FASTER
    if low >= down and high <= up:
        return Verdict.SAME
    return Verdict.NOISY


def compare_times(a: Sequence[float], b: Sequence[float], *,
                  threshold: float = DEFAULT_THRESHOLD, resamples: int = BOOTSTRAP_RESAMPLES,
                  seed: int = SEED) -> Comparison:
    """Per-round times of A and B: percentile bootstrap of the ratio of medians."""
    import numpy as np  # here, not at the top: the CLI's light commands import this module

    rounds = (len(a), len(b))
    if min(rounds) < MIN_ROUNDS:
        return _untestable(rounds, threshold, f"fewer than {MIN_ROUNDS} rounds")
    rng = np.random.default_rng(seed)
    sample_a, sample_b = _thin(np.asarray(a, float), rng), _thin(np.asarray(b, float), rng)
    ratio = float(np.median(sample_b) / np.median(sample_a))
    medians_a = _resampled_medians(sample_a, resamples, rng)
    medians_b = _resampled_medians(sample_b, resamples, rng)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(medians_b / medians_a, [tail, 1 - tail])
    return _decided(ratio, float(low), float(high), threshold, rounds,
                    f"bootstrap ({resamples} resamples)")


def compare_summaries(a: tuple[float, float, int], b: tuple[float, float, int], *,
                      threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """(median, IQR, rounds) of A and B: normal approximation on the log ratio."""
    rounds = (a[2], b[2])
    if min(rounds) < MIN_ROUNDS:
        return _untestable(rounds, threshold, f"fewer than {MIN_ROUNDS} rounds")
    ratio = b[0] / a[0]
    spread = math.hypot(_log_se(*a), _log_se(*b))
    z = _z(CONFIDENCE)
    return _decided(ratio, ratio * math.exp(-z * spread), ratio * math.exp(z * spread),
                    threshold, rounds, "normal approximation from median, IQR and rounds "
                                       "(no per-round times in a format-1 record)")


def compare_measurements(a: Measurement, b: Measurement, *,
                         threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """A figure of two runs: by their per-round times when both kept them."""
    if not (a.ok and b.ok):
        failed = a if not a.ok else b
        return _untestable((a.rounds, b.rounds), threshold,
                           f"not measured in one run: {failed.error or 'no rounds'}")
    if a.has_times and b.has_times:
        return compare_times(a.times_s, b.times_s, threshold=threshold)
    return compare_summaries((a.median_s, a.iqr_s, a.rounds), (b.median_s, b.iqr_s, b.rounds),
                             threshold=threshold)


def _decided(ratio: float, low: float, high: float, threshold: float,
             rounds: tuple[int, int], method: str) -> Comparison:
    verdict = classify(ratio, low, high, threshold)
    reason = ("the interval straddles the threshold: the rounds are too spread to tell"
              if verdict is Verdict.NOISY else "")
    return Comparison(verdict, ratio, low, high, threshold, rounds, method, reason)


def _untestable(rounds: tuple[int, int], threshold: float, why: str) -> Comparison:
    nan = math.nan
    return Comparison(Verdict.NOISY, nan, nan, nan, threshold, rounds, "none",
                      f"cannot test: {why}")


def _thin(sample: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """At most MAX_BOOTSTRAP_ROUNDS rounds, drawn without replacement."""
    if len(sample) <= MAX_BOOTSTRAP_ROUNDS:
        return sample
    return rng.choice(sample, MAX_BOOTSTRAP_ROUNDS, replace=False)


def _resampled_medians(sample: np.ndarray, resamples: int,
                       rng: np.random.Generator) -> np.ndarray:
    import numpy as np

    picks = rng.integers(0, len(sample), size=(resamples, len(sample)))
    return np.median(sample[picks], axis=1)


def _log_se(median: float, iqr: float, rounds: int) -> float:
    """Standard error of log(median) from the median's normal-theory standard error."""
    sigma = iqr / IQR_PER_SIGMA
    return MEDIAN_SE_FACTOR * sigma / math.sqrt(rounds) / median


def _z(confidence: float) -> float:
    """The two-sided standard normal quantile (1.96 for 95%)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)

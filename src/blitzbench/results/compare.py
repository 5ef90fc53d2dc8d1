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

Rounds of one process are not independent samples of a machine: a shared machine drifts
(on this project's 2-core VM, a 512x512 matmul's 20-call median moves between 1.45 and
3.3 ms from one two-second window to the next, docs/benchmarks.md, "Comparing two
runs"), so two runs minutes apart differ by far more than their rounds' spread says, and a
round bootstrap calls that drift SLOWER. ``accept`` therefore measures every case in
several *repeats* spread across the run (``Measurement.blocks``), as pyperf runs several
worker processes.
When both runs have two or more repeats the interval is built from the repeats: the log
of each repeat's median is one observation, and the log ratio's interval is Welch's
t-interval of the difference of their means (unequal variances and repeat counts). The
machine's drift is then in the interval, and a real change must stand out of it. With a
single repeat on either side (pytest-benchmark's path) the round bootstrap is used and
the evidence says the drift between repeats was not measured.

Format-1 records kept no per-round times, only median, IQR and rounds; for them the
interval comes from the normal approximation of a median's standard error
(1.2533 sigma / sqrt(n), sigma = IQR / 1.349), and the evidence says so.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from blitzbench.results.records import Measurement

__all__ = ["BOOTSTRAP_RESAMPLES", "CONFIDENCE", "DEFAULT_THRESHOLD", "FLEET_THRESHOLD",
           "MIN_REPEATS", "MIN_ROUNDS",
           "Comparison", "Verdict", "classify", "compare_measurements", "compare_repeats",
           "compare_summaries", "compare_times", "detectable_change", "family_confidence",
           "interval_text", "noisy_why", "percent", "shown_figures", "t_quantile"]

#: The smallest change called FASTER or SLOWER by default (5%): the synthetic proof in
#: tests/test_compare_stats.py holds at it, and quiet runs of this project's >=100 us
#: cases stay inside it (docs/benchmarks.md, "Comparing two runs").
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
MIN_REPEATS = 2  # repeats per side for the between-repeat interval (Welch needs a variance)
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
    confidence: float = 0.95
    #: the two figures the ratio is B's over A's (NaN where the ratio is no quotient of
    #: two figures: a paired estimate, an untested figure), and what they are
    estimates: tuple[float, float] = (math.nan, math.nan)
    estimator: str = ""

    @property
    def change(self) -> float:
        """The change in time, as a fraction (+0.12: 12% slower)."""
        return self.ratio - 1

    def evidence(self) -> str:
        """``1.123x (95% CI 1.080-1.170), threshold 5%, 30 vs 30 rounds, bootstrap``."""
        if not math.isfinite(self.ratio):
            return self.reason
        text = (f"{self.ratio:.3f}x ({percent(self.confidence)} CI "
                f"{self.low:.3f}-{self.high:.3f}), "
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
                  seed: int = SEED, confidence: float = CONFIDENCE) -> Comparison:
    """Per-round times of A and B: percentile bootstrap of the ratio of medians."""
    import numpy as np  # here, not at the top: the CLI's light commands import this module

    rounds = (len(a), len(b))
    if min(rounds) < MIN_ROUNDS:
        return _untestable(rounds, threshold, f"fewer than {MIN_ROUNDS} rounds")
    rng = np.random.default_rng(seed)
    sample_a, sample_b = _thin(np.asarray(a, float), rng), _thin(np.asarray(b, float), rng)
    centre_a, centre_b = float(np.median(sample_a)), float(np.median(sample_b))
    ratio = centre_b / centre_a
    medians_a = _resampled_medians(sample_a, resamples, rng)
    medians_b = _resampled_medians(sample_b, resamples, rng)
    tail = (1 - confidence) / 2
    low, high = np.quantile(medians_b / medians_a, [tail, 1 - tail])
    thinned = max(rounds) > MAX_BOOTSTRAP_ROUNDS
    found = _decided(ratio, float(low), float(high), threshold, rounds,
                     f"bootstrap ({resamples} resamples)", confidence)
    return dataclasses.replace(found, estimates=(centre_a, centre_b), estimator=(
        f"median of {MAX_BOOTSTRAP_ROUNDS} sampled rounds" if thinned
        else "median of all rounds"))


def compare_repeats(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], *,
                    threshold: float = DEFAULT_THRESHOLD,
                    confidence: float = CONFIDENCE) -> Comparison:
    """Per-round times of each repeat of A and B: Welch's t-interval of the mean log
    repeat median (see the module docstring). The ratio is the ratio of the geometric
    means of the repeat medians, the estimate the interval is centred on."""
    logs_a = [math.log(statistics.median(r)) for r in a if r]
    logs_b = [math.log(statistics.median(r)) for r in b if r]
    rounds = (sum(len(r) for r in a), sum(len(r) for r in b))
    if min(len(logs_a), len(logs_b)) < MIN_REPEATS:
        return _untestable(rounds, threshold, f"fewer than {MIN_REPEATS} repeats")
    diff = statistics.fmean(logs_b) - statistics.fmean(logs_a)
    var_a = statistics.variance(logs_a) / len(logs_a)
    var_b = statistics.variance(logs_b) / len(logs_b)
    spread = math.sqrt(var_a + var_b)
    df = _welch_df(var_a, var_b, len(logs_a), len(logs_b))
    half = t_quantile(0.5 + confidence / 2, df) * spread
    found = _decided(math.exp(diff), math.exp(diff - half), math.exp(diff + half), threshold,
                     rounds, f"Welch t over {len(logs_a)} vs {len(logs_b)} repeats "
                             f"(df {df:.1f})", confidence)
    return dataclasses.replace(
        found, estimates=(math.exp(statistics.fmean(logs_a)), math.exp(statistics.fmean(logs_b))),
        estimator="geometric mean of the repeats' medians")


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, else the Cornish-Fisher
    expansion of Abramowitz & Stegun 26.7.5 (error under 0.002 at df 3, p 0.975; 2.775
    against 2.776 at df 4). A fractional Welch df is rounded down: a wider interval."""
    whole = max(1, math.floor(df))
    if whole == 1:
        return math.tan(math.pi * (p - 0.5))
    if whole == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z, v = _z_at(p), float(whole)
    return (z + (z**3 + z) / (4 * v)
            + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


def _welch_df(var_a: float, var_b: float, n_a: int, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom (of the squared standard errors given)."""
    total = var_a + var_b
    if total == 0:
        return float(n_a + n_b - 2)
    return total**2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))


def compare_summaries(a: tuple[float, float, int], b: tuple[float, float, int], *,
                      threshold: float = DEFAULT_THRESHOLD,
                      confidence: float = CONFIDENCE) -> Comparison:
    """(median, IQR, rounds) of A and B: normal approximation on the log ratio."""
    rounds = (a[2], b[2])
    if min(rounds) < MIN_ROUNDS:
        return _untestable(rounds, threshold, f"fewer than {MIN_ROUNDS} rounds")
    ratio = b[0] / a[0]
    spread = math.hypot(_log_se(*a), _log_se(*b))
    z = _z(confidence)
    found = _decided(ratio, ratio * math.exp(-z * spread), ratio * math.exp(z * spread),
                     threshold, rounds, "normal approximation from median, IQR and rounds "
                                        "(no per-round times in a format-1 record)",
                     confidence)
    return dataclasses.replace(found, estimates=(a[0], b[0]), estimator="stored median")


def compare_measurements(a: Measurement, b: Measurement, *,
                         threshold: float = DEFAULT_THRESHOLD,
                         confidence: float = CONFIDENCE) -> Comparison:
    """A figure of two runs: by their repeats when both have several, else by their
    per-round times when both kept them, else by their stored summaries."""
    if not (a.ok and b.ok):
        failed = a if not a.ok else b
        return _untestable((a.rounds, b.rounds), threshold,
                           f"not measured in one run: {failed.error or 'no rounds'}")
    if len(a.block_times()) >= MIN_REPEATS and len(b.block_times()) >= MIN_REPEATS:
        return compare_repeats(a.block_times(), b.block_times(), threshold=threshold,
                               confidence=confidence)
    if a.has_times and b.has_times:
        found = compare_times(a.times_s, b.times_s, threshold=threshold,
                              confidence=confidence)
        note = "one repeat: drift between repeats not measured"
        return dataclasses.replace(found, reason=f"{found.reason}; {note}" if found.reason
                                   else note)
    return compare_summaries((a.median_s, a.iqr_s, a.rounds), (b.median_s, b.iqr_s, b.rounds),
                             threshold=threshold, confidence=confidence)


def family_confidence(figures: int, confidence: float = CONFIDENCE) -> float:
    """Bonferroni: the per-figure confidence that keeps the chance of *any* false verdict
    among ``figures`` compared at ``1 - confidence`` (one run-level exit code rests on
    them all; 33 figures each at 95% would call one of two identical runs SLOWER or
    FASTER most of the time)."""
    return 1 - (1 - confidence) / max(1, figures)


def percent(confidence: float) -> str:
    """``95%``, ``99.85%``: as many decimals as the value needs (up to two)."""
    return f"{100 * confidence:.2f}".rstrip("0").rstrip(".") + "%"


def _decided(ratio: float, low: float, high: float, threshold: float,
             rounds: tuple[int, int], method: str, confidence: float) -> Comparison:
    verdict = classify(ratio, low, high, threshold)
    reason = ("the interval straddles the threshold: the rounds are too spread to tell"
              if verdict is Verdict.NOISY else "")
    return Comparison(verdict, ratio, low, high, threshold, rounds, method, reason,
                      confidence)


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
    return _z_at(0.5 + confidence / 2)


def _z_at(p: float) -> float:
    return statistics.NormalDist().inv_cdf(p)


#: At most this many decimals in an interval's ends (see :func:`interval_text`).
MAX_DECIMALS = 6


def detectable_change(comparison: Comparison) -> float:
    """The smallest slowdown (as a fraction) this figure could have called SLOWER: the
    interval's half-width sets how far the ratio must lie from 1 for the interval to clear
    it, and the threshold sets the least change called at all. NaN when untested. One
    place for ``compare``, ``ab`` and the pages: a SAME is only as good as this number."""
    if not math.isfinite(comparison.ratio) or comparison.low <= 0:
        return math.nan
    half_width = (math.log(comparison.high) - math.log(comparison.low)) / 2
    return max(comparison.threshold, math.exp(half_width) - 1)


def shown_figures(a: Measurement, b: Measurement,
                  comparison: Comparison) -> tuple[float, float, str]:
    """A's and B's figures as a table shows them beside B/A, and what they are: the
    estimates the ratio is computed from (so that B/A is B over A as printed), or, for a
    figure not tested, each run's median of all rounds."""
    if all(math.isfinite(e) for e in comparison.estimates):
        return comparison.estimates[0], comparison.estimates[1], comparison.estimator
    return a.median_s, b.median_s, "median of all rounds"


def interval_text(comparison: Comparison, sep: str = "–") -> str:
    """``0.969–1.0503``: the interval's ends with three decimals, or more where three would
    put an end on the wrong side of 1 or of a threshold edge (1.0503 printed as 1.050 reads
    inside a 5% band it lies outside of: the figure then looks SAME but is NOISY)."""
    c = comparison
    if not math.isfinite(c.ratio):
        return ""
    marks = (1.0, 1 + c.threshold, 1 / (1 + c.threshold))
    decimals = next((d for d in range(3, MAX_DECIMALS + 1)
                     if all(_same_side(end, mark, d) for end in (c.low, c.high)
                            for mark in marks)), MAX_DECIMALS)
    return f"{c.low:.{decimals}f}{sep}{c.high:.{decimals}f}"


def noisy_why(comparison: Comparison) -> str:
    """Why a NOISY figure is NOISY, in words a reader can act on ("" for a decided one):
    which edge of the threshold band its interval crosses, and the smallest change its
    spread could have detected, with the test's own note (one repeat, too few rounds)."""
    c = comparison
    if c.verdict is not Verdict.NOISY:
        return ""
    if not math.isfinite(c.ratio):
        return c.reason
    up, down = 1 + c.threshold, 1 / (1 + c.threshold)
    crossed = []
    if c.high > up:
        crossed.append(f"above {up:.3f} (+{c.threshold:.0%})")
    if c.low < down:
        crossed.append(f"below {down:.3f} (-{c.threshold:.0%})")
    detect = detectable_change(c)
    text = (f"the interval {interval_text(c)} reaches {' and '.join(crossed)}: a change "
            f"past the {c.threshold:.0%} threshold is not ruled out")
    if detect > c.threshold:
        text += f"; too spread to resolve less than {detect:.0%}"
    notes = [part for part in c.reason.split("; ") if part and
             not part.startswith("the interval")]  # the test's own notes (one repeat...)
    return "; ".join([text, *notes])


def _same_side(end: float, mark: float, decimals: int) -> bool:
    """Whether ``end`` rounded to ``decimals`` compares with ``mark`` as ``end`` does."""
    shown = round(end, decimals)
    return (end > mark) == (shown > mark) and (end < mark) == (shown < mark)

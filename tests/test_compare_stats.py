"""The comparison's verdicts on synthetic timings with a fixed seed: identical
distributions are called SAME, a 10% shift SLOWER, each in at least 95% of 200 trials.

Synthetic rounds are log-normal around a median (right-skewed, as timings are) with an
IQR of about 4% of the median, the spread of a quiet figure here, plus a few slow
outlier rounds (a shared machine's hiccups)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blitzbench.results.compare import (
    DEFAULT_THRESHOLD,
    Verdict,
    classify,
    compare_measurements,
    compare_summaries,
    compare_times,
)
from blitzbench.results.records import Measurement, RoundSummary

TRIALS = 200
ROUNDS = 30
SIGMA = 0.03  # log-normal sigma: IQR/median = 2 * 0.6745 * sigma = 4%
OUTLIER_SHARE = 0.05
MEDIAN_S = 1e-3
REQUIRED = 0.95


def _rounds(rng: np.random.Generator, scale: float = 1.0, n: int = ROUNDS) -> list[float]:
    times = MEDIAN_S * scale * np.exp(rng.normal(0, SIGMA, n))
    slow = rng.random(n) < OUTLIER_SHARE
    times[slow] *= 1.5
    return times.tolist()


def _share(verdict: Verdict, shift: float) -> float:
    rng = np.random.default_rng(12345)
    hits = sum(compare_times(_rounds(rng), _rounds(rng, shift)).verdict is verdict
               for _ in range(TRIALS))
    return hits / TRIALS


def test_identical_distributions_are_same_in_95_percent():
    assert _share(Verdict.SAME, 1.0) >= REQUIRED


def test_a_10_percent_shift_is_slower_in_95_percent():
    assert _share(Verdict.SLOWER, 1.10) >= REQUIRED


def test_a_10_percent_speedup_is_faster_in_95_percent():
    assert _share(Verdict.FASTER, 1 / 1.10) >= REQUIRED


def test_wide_spread_is_noisy_not_a_verdict():
    rng = np.random.default_rng(1)
    wide = [float(v) for v in MEDIAN_S * np.exp(rng.normal(0, 0.4, 10))]
    other = [float(v) for v in MEDIAN_S * 1.08 * np.exp(rng.normal(0, 0.4, 10))]
    assert compare_times(wide, other).verdict is Verdict.NOISY


def test_too_few_rounds_cannot_be_tested():
    result = compare_times([1e-3, 1e-3], [2e-3, 2e-3, 2e-3])
    assert result.verdict is Verdict.NOISY
    assert "fewer than" in result.evidence()


@pytest.mark.parametrize(("ratio", "low", "high", "verdict"), [
    (1.10, 1.06, 1.14, Verdict.SLOWER),
    (1.03, 1.01, 1.05, Verdict.SAME),  # real but smaller than the threshold
    (1.06, 0.99, 1.13, Verdict.NOISY),
    (0.90, 0.87, 0.93, Verdict.FASTER),
    (1.00, 0.97, 1.03, Verdict.SAME),
])
def test_classify_reads_the_interval_against_the_threshold(ratio, low, high, verdict):
    assert classify(ratio, low, high, DEFAULT_THRESHOLD) is verdict


def test_the_evidence_names_ratio_interval_threshold_and_method():
    rng = np.random.default_rng(3)
    text = compare_times(_rounds(rng), _rounds(rng, 1.25)).evidence()
    assert "x (95% CI" in text and "threshold 5%" in text and "30 vs 30 rounds" in text


def test_the_verdict_is_reproducible():
    rng = np.random.default_rng(4)
    a, b = _rounds(rng), _rounds(rng, 1.04)
    assert compare_times(a, b) == compare_times(a, b)


def test_format_one_summaries_use_the_normal_approximation():
    same = compare_summaries((1e-3, 4e-5, 100), (1.005e-3, 4e-5, 100))
    slower = compare_summaries((1e-3, 4e-5, 100), (1.2e-3, 4e-5, 100))
    assert same.verdict is Verdict.SAME and slower.verdict is Verdict.SLOWER
    assert "format-1" in same.method


def test_measurements_without_times_fall_back_to_their_summary():
    old = Measurement("lenet.train_step", "cpu", stored=RoundSummary(1e-3, 4e-5, 100))
    rng = np.random.default_rng(5)
    new = Measurement("lenet.train_step", "cpu", times_s=tuple(_rounds(rng, 1.3, 100)))
    result = compare_measurements(old, new)
    assert result.verdict is Verdict.SLOWER and "normal approximation" in result.method


def test_a_failed_case_cannot_be_compared():
    failed = Measurement("lenet.train_step", "cuda:0", error="CUDA out of memory")
    fine = Measurement("lenet.train_step", "cuda:0", times_s=(1e-3,) * 5)
    result = compare_measurements(fine, failed)
    assert result.verdict is Verdict.NOISY and "out of memory" in result.evidence()
    assert math.isnan(result.ratio)


def test_an_interval_end_just_past_the_edge_is_printed_past_it():
    """The issue's figure: B/A 1.009 with CI 0.969-1.050 read SAME to a person but is
    NOISY: its upper end is 1.0503, past 1.05. Enough decimals to show it, and why."""
    from blitzbench.results.compare import Comparison, interval_text, noisy_why

    noisy = Comparison(Verdict.NOISY, 1.009, 0.969, 1.0503, 0.05, (30, 30), "Welch t",
                       "the interval straddles the threshold: too spread")
    assert interval_text(noisy) == "0.9690–1.0503"
    assert noisy_why(noisy).startswith("the interval 0.9690–1.0503 reaches above 1.050 (+5%)")
    inside = Comparison(Verdict.SAME, 1.0, 0.96, 1.0497, 0.05, (30, 30), "Welch t")
    assert interval_text(inside) == "0.9600–1.0497" and noisy_why(inside) == ""
    plain = Comparison(Verdict.SLOWER, 1.25, 1.238, 1.263, 0.05, (30, 30), "Welch t")
    assert interval_text(plain) == "1.238–1.263"


def test_noisy_says_which_edges_and_what_it_could_resolve():
    from blitzbench.results.compare import (
        Comparison,
        compare_times,
        detectable_change,
        noisy_why,
    )

    wide = Comparison(Verdict.NOISY, 1.0, 0.8, 1.25, 0.05, (30, 30), "Welch t",
                      "the interval straddles the threshold; one repeat: drift between "
                      "repeats not measured")
    why = noisy_why(wide)
    assert "above 1.050 (+5%) and below 0.952 (-5%)" in why
    assert detectable_change(wide) == pytest.approx(0.25)  # the interval clears 1 past 1.25
    assert "too spread to resolve less than 25%" in why
    assert why.endswith("; one repeat: drift between repeats not measured")
    untested = compare_times([1.0], [1.0])
    assert noisy_why(untested) == untested.reason == "cannot test: fewer than 3 rounds"

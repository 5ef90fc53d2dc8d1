"""The paired test of ``blitzbench ab`` (results/paired.py), proved on synthetic pairs with a
fixed seed: the signed-rank critical values against their published table, no false
verdict for A against A under drift and bursts, a real change found, an outlier ignored."""

from __future__ import annotations

import math
import random

import pytest

from blitzbench.results.ab import ABRecord, PairedCase, Side
from blitzbench.results.compare import Verdict, family_confidence
from blitzbench.results.paired import (
    compare_pairs,
    detectable_change,
    judge_record,
    signed_rank_critical,
    walsh_interval,
)

TRIALS = 200
FIGURES = 33  # a quick A/B run's cases: the Bonferroni level the verdicts are read at
CONFIDENCE = family_confidence(FIGURES)


@pytest.mark.parametrize(("n", "lower_rank"), [(6, 1), (10, 9), (15, 26), (20, 53),
                                                (30, 138)])
def test_critical_values_match_the_published_table(n, lower_rank):
    """C_alpha of the 95% interval (Hollander & Wolfe, Table A.4: n = 10 gives the 9th
    smallest and 9th largest Walsh average)."""
    upper = signed_rank_critical(n, 0.05)
    assert n * (n + 1) // 2 + 1 - upper == lower_rank


def test_the_normal_approximation_joins_the_exact_distribution(monkeypatch):
    from blitzbench.results import paired

    exact = [signed_rank_critical(n, 0.01) for n in (50, 120, 300)]
    monkeypatch.setattr(paired, "EXACT_MAX_PAIRS", 0)
    approximate = [signed_rank_critical(n, 0.01) for n in (50, 120, 300)]
    for n, e, a in zip((50, 120, 300), exact, approximate, strict=True):
        assert 0 <= a - e <= 8 and (a - e) / (n * (n + 1) / 2) < 0.003  # conservative


def test_too_few_pairs_give_no_interval():
    assert walsh_interval([0.1] * 5, 0.95) is None
    assert walsh_interval([0.1] * 10, CONFIDENCE) is None  # 2^-10 > 0.05 / 33 / 2
    found = compare_pairs([1.0] * 4, [1.1] * 4)
    assert found.verdict is Verdict.NOISY and "at least" in found.reason


def _pairs(rng: random.Random, n: int, factor: float, *, noise: float = 0.05,
           drift: float = 0.3, burst: float = 0.0) -> tuple[list[float], list[float]]:
    """A and B slot times sharing a drifting machine state per pair (log-normal, sd
    ``drift``), each with its own slot noise, and a ``burst`` share of slots 5x slower."""
    a_s, b_s = [], []
    for _ in range(n):
        state = math.exp(rng.gauss(0, drift))
        a = state * math.exp(rng.gauss(0, noise)) * (5 if rng.random() < burst else 1)
        b = factor * state * math.exp(rng.gauss(0, noise)) * (5 if rng.random() < burst
                                                               else 1)
        a_s.append(1e-3 * a)
        b_s.append(1e-3 * b)
    return a_s, b_s


def _verdicts(factor: float, n: int, **kwargs: float) -> list[Verdict]:
    rng = random.Random(20191)
    return [compare_pairs(*_pairs(rng, n, factor, **kwargs), confidence=CONFIDENCE).verdict
            for _ in range(TRIALS)]


def test_a_against_a_is_never_called_faster_or_slower_under_drift_and_bursts():
    found = _verdicts(1.0, 30, drift=0.4, burst=0.05)
    assert found.count(Verdict.SLOWER) == 0 and found.count(Verdict.FASTER) == 0


def test_a_25_percent_slowdown_is_slower_at_the_quick_level():
    """30 pairs (runner/ab.py's quick level), 2% of slots hit by a 5x burst."""
    assert _verdicts(1.25, 30, burst=0.02).count(Verdict.SLOWER) >= 0.95 * TRIALS


def test_a_6_percent_slowdown_is_slower_at_the_full_level():
    """120 pairs (the full level). A true change equal to the threshold is a coin flip
    by construction (the estimate must reach it), so the full level is proved at 6%."""
    assert _verdicts(1.06, 120, noise=0.03, burst=0.02).count(Verdict.SLOWER) >= \
        0.95 * TRIALS
    assert _verdicts(1.0, 120, burst=0.02).count(Verdict.SAME) >= 0.95 * TRIALS


def test_a_speedup_is_faster():
    assert _verdicts(1 / 1.25, 24).count(Verdict.FASTER) >= 0.95 * TRIALS


def test_the_drift_the_pairs_share_cancels():
    """Unpaired, a machine drifting by 30% between slots hides a 25% change; paired, the
    interval is as narrow as the slot noise."""
    rng = random.Random(7)
    a_s, b_s = _pairs(rng, 24, 1.25, drift=0.3)
    found = compare_pairs(a_s, b_s, confidence=CONFIDENCE)
    assert found.verdict is Verdict.SLOWER and found.high / found.low < 1.15


def test_one_pair_at_ten_times_does_not_move_the_verdict():
    rng = random.Random(3)
    a_s, b_s = _pairs(rng, 24, 1.0, noise=0.01)
    before = compare_pairs(a_s, b_s, confidence=CONFIDENCE)
    b_s[5] *= 10
    after = compare_pairs(a_s, b_s, confidence=CONFIDENCE)
    assert before.verdict is after.verdict is Verdict.SAME
    assert abs(math.log(after.ratio / before.ratio)) < 0.01


def test_the_detectable_change_follows_the_interval():
    rng = random.Random(5)
    narrow = compare_pairs(*_pairs(rng, 96, 1.0, noise=0.01), confidence=CONFIDENCE)
    wide = compare_pairs(*_pairs(rng, 12, 1.0, noise=0.2), confidence=CONFIDENCE)
    assert detectable_change(narrow) == pytest.approx(0.05)  # the threshold
    assert detectable_change(wide) > 0.2
    assert math.isnan(detectable_change(compare_pairs([1.0], [1.0])))


def _record(*cases: PairedCase) -> ABRecord:
    side = Side("A", ("python",))
    return ABRecord(side, Side("B", ("python",)), 1, "quick", 0, 0.05, cases)


def test_a_case_a_side_failed_on_is_never_judged_same():
    rng = random.Random(11)
    a_s, b_s = _pairs(rng, 24, 1.0, noise=0.01)
    whole = PairedCase("lenet.forward", "cpu", {}, tuple(a_s), tuple(b_s), (False,) * 24)
    broken = PairedCase("lenet.train_step", "cpu", {}, tuple(a_s), tuple(b_s),
                        (False,) * 24, error="side B's worker ended (signal SIGKILL)")
    empty = PairedCase("tensor_ops.add", "cpu", {}, error="side B: prepare failed: boom")
    (_, first), (_, second), (_, third) = judge_record(_record(whole, broken, empty))
    assert first.verdict is Verdict.SAME
    assert second.verdict is Verdict.NOISY and "SIGKILL" in second.reason
    assert third.verdict is Verdict.NOISY and "boom" in third.reason


def test_the_record_reads_back_and_refuses_damage():
    from blitzbench.errors import UsageError

    case = PairedCase("lenet.forward", "cpu", {"batch_size": 4}, (1e-3,) * 12, (1e-3,) * 12,
                      (True,) * 12, calls=5, rounds=3, wall_s=0.4)
    record = _record(case)
    assert ABRecord.from_json(record.to_json()) == record
    damaged = record.to_json()
    damaged["cases"][0]["b_s"] = damaged["cases"][0]["b_s"][:-1]
    with pytest.raises(UsageError, match="one of each per pair"):
        ABRecord.from_json(damaged)
    damaged = record.to_json()
    damaged["cases"][0]["a_s"][0] = -1.0
    with pytest.raises(UsageError, match=r"a_s\[0\]"):
        ABRecord.from_json(damaged)

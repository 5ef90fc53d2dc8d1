"""Repeats: a case measured in several passes spread across a run, and the verdict that
tests the repeats (Welch's t over repeat medians) instead of the rounds.

The synthetic machine here drifts like this project's VM does: each repeat sees its own
machine state (a log-normal factor, sigma 0.2 between repeats), and inside a repeat the
rounds agree closely (sigma 0.03). A round bootstrap reads such runs as different; the
repeat test must not, and must still find a real change that stands out of the drift.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from blitzbench.errors import UsageError
from blitzbench.results.compare import (
    CONFIDENCE,
    Verdict,
    compare_measurements,
    compare_repeats,
    compare_times,
    family_confidence,
    t_quantile,
)
from blitzbench.results.records import Measurement
from blitzbench.workloads.catalog import Case
from blitzbench.workloads.repeats import merge_repeats

TRIALS = 200
DRIFT_SIGMA = 0.2  # between repeats: what quick runs measured here (README)
ROUND_SIGMA = 0.03
ROUNDS_PER_REPEAT = 4
MEDIAN_S = 1e-3


def _run(rng: np.random.Generator, repeats: int, scale: float = 1.0) -> list[list[float]]:
    states = np.exp(rng.normal(0, DRIFT_SIGMA, repeats))
    return [(MEDIAN_S * scale * state * np.exp(rng.normal(0, ROUND_SIGMA, ROUNDS_PER_REPEAT))
             ).tolist() for state in states]


def _flat(run: list[list[float]]) -> list[float]:
    return [t for block in run for t in block]


@pytest.mark.parametrize(("df", "reference"), [(1, 12.706), (2, 4.303), (3, 3.182),
                                               (4, 2.776), (10, 2.228), (30, 2.042)])
def test_t_quantile_matches_the_tables(df, reference):
    assert t_quantile(0.975, df) == pytest.approx(reference, abs=0.005)


def test_drifting_identical_runs_are_never_slower_when_the_repeats_are_tested():
    rng = np.random.default_rng(7)
    verdicts = [compare_repeats(_run(rng, 8), _run(rng, 8)).verdict for _ in range(TRIALS)]
    assert verdicts.count(Verdict.SLOWER) / TRIALS <= 1 - CONFIDENCE


def test_the_round_bootstrap_mistakes_the_same_drift_for_changes():
    """Why the repeats are needed: the rounds' spread hides the drift."""
    rng = np.random.default_rng(7)
    wrong = sum(compare_times(_flat(_run(rng, 1)), _flat(_run(rng, 1))).verdict
                in (Verdict.SLOWER, Verdict.FASTER) for _ in range(TRIALS))
    assert wrong / TRIALS > 0.5


def test_a_change_well_outside_the_drift_is_slower():
    rng = np.random.default_rng(11)
    verdicts = [compare_repeats(_run(rng, 16), _run(rng, 16, 1.5)).verdict
                for _ in range(TRIALS)]
    assert verdicts.count(Verdict.SLOWER) / TRIALS >= 0.95


def test_family_confidence_is_bonferroni():
    assert family_confidence(1) == pytest.approx(0.95)
    assert family_confidence(50) == pytest.approx(0.999)


def test_a_family_of_drifting_identical_figures_rarely_has_any_false_verdict():
    rng = np.random.default_rng(3)
    figures, runs = 30, 100
    level = family_confidence(figures)
    any_wrong = sum(any(compare_repeats(_run(rng, 8), _run(rng, 8), confidence=level).verdict
                        in (Verdict.SLOWER, Verdict.FASTER) for _ in range(figures))
                    for _ in range(runs))
    assert any_wrong / runs <= 0.10


def test_measurements_with_repeats_are_compared_by_their_repeats():
    rng = np.random.default_rng(5)
    a, b = (_measurement(_run(rng, 4)) for _ in range(2))
    found = compare_measurements(a, b)
    assert found.method.startswith("Welch t over 4 vs 4 repeats")
    assert "95% CI" in found.evidence()


def test_a_single_repeat_says_the_drift_was_not_measured():
    rng = np.random.default_rng(5)
    a, b = (Measurement("x.y", "cpu", {}, tuple(_flat(_run(rng, 1)))) for _ in range(2))
    assert "drift between repeats not measured" in compare_measurements(a, b).evidence()


def test_blocks_round_trip_and_split_the_times():
    m = _measurement([[1e-3, 2e-3], [3e-3]])
    assert m.block_times() == ((1e-3, 2e-3), (3e-3,))
    assert Measurement.from_json(m.to_json()) == m


@pytest.mark.parametrize("blocks", [[2, 2], [3, 0], ["3"], "3", [True, 2]])
def test_blocks_that_do_not_split_the_times_are_refused(blocks):
    data = {**_measurement([[1e-3, 2e-3], [3e-3]]).to_json(), "blocks": blocks}
    with pytest.raises(UsageError, match="blocks"):
        Measurement.from_json(data)


def test_merging_repeats_keeps_every_round_and_marks_a_failure():
    case = Case("x.y", "cpu", {"n": 1}, frozenset({"quick"}), build=lambda: None)
    parts = [Measurement("x.y", "cpu", {"n": 1}, (1e-3, 2e-3), {"calls_per_round": 4}),
             Measurement("x.y", "cpu", {"n": 1}, (3e-3,), {"calls_per_round": 4, "r": 2})]
    merged = merge_repeats(case, parts, 1.25)
    assert merged.times_s == (1e-3, 2e-3, 3e-3) and merged.blocks == (2, 1)
    assert merged.extra["r"] == 2 and merged.wall_s == 1.25
    failed = merge_repeats(case, [parts[0], Measurement("x.y", "cpu", error="boom")], 1.0)
    assert failed.error == "boom" and not failed.ok and math.isnan(failed.median_s)


def _measurement(blocks: list[list[float]]) -> Measurement:
    return Measurement("x.y", "cpu", {}, tuple(_flat(blocks)),
                       blocks=tuple(len(b) for b in blocks))


def test_a_repeat_holds_three_rounds_and_a_long_case_three_repeats():
    """A repeat's median is never a single round; a case whose call is a DataLoader pass
    is measured in three repeats (first, middle, last pass) of three rounds."""
    from blitzbench.results.records import Measurement
    from blitzbench.workloads.repeats import MIN_REPEAT_ROUNDS, takes_part

    assert MIN_REPEAT_ROUNDS == 3
    long = [Measurement("loading.dataloader", "cpu", {}, (0.4, 0.41, 0.42))]
    short = [Measurement("lenet.forward", "cpu", {}, (0.002, 0.002, 0.0021))]
    assert [r for r in range(8) if takes_part(long, r, 8)] == [0, 4, 7]
    assert [r for r in range(8) if takes_part(short, r, 8)] == list(range(8))
    assert takes_part([], 3, 8)  # not measured yet: it takes part

"""The doubling-loop helpers behind the scaling claims: closed form, loops, probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from blitzbench.claims.scaling import (
    THRESHOLD,
    closed_form_exponents,
    doubling_exponents,
    octant_probabilities,
    tutorial_loop,
)

EDGE = THRESHOLD / 1024  # 2^10 * EDGE is exactly 1000


def _below(value: float) -> float:
    return float(np.nextafter(np.float32(value), np.float32(0)))


@pytest.mark.parametrize(("norm", "k"), [
    (EDGE, 10), (_below(EDGE), 11), (2 * EDGE, 9), (_below(2 * EDGE), 10),
    (THRESHOLD / 2, 1), (THRESHOLD, 1), (5 * THRESHOLD, 1), (1e-3, 20),
])
def test_closed_form_and_both_loops_agree_on_edges(norm: float, k: int) -> None:
    x = torch.tensor([norm, 0.0, 0.0])
    assert closed_form_exponents(np.array([norm], dtype=np.float32))[0] == k
    assert tutorial_loop(x)[1] == k
    assert doubling_exponents(x[None])[0].item() == k


def test_loop_result_is_exactly_a_power_of_two_times_x() -> None:
    x = torch.tensor([0.3, 0.2, 0.1])
    y, k = tutorial_loop(x)
    assert torch.equal(y, x * 2**k)
    assert float(y.norm()) >= THRESHOLD > float((y / 2).norm())


def test_vectorized_loop_matches_the_literal_loop() -> None:
    xs = torch.rand(300, 3, generator=torch.Generator().manual_seed(1))
    literal = [tutorial_loop(x)[1] for x in xs]
    assert doubling_exponents(xs).tolist() == literal


def test_zero_vector_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="did not reach"):
        tutorial_loop(torch.zeros(3))
    with pytest.raises(RuntimeError, match="did not reach"):
        doubling_exponents(torch.zeros(2, 3))


def test_octant_probabilities_sum_to_one_and_match_the_ball_volume() -> None:
    probabilities = octant_probabilities(40)
    assert min(probabilities) == 10
    assert math.isclose(sum(probabilities.values()), 1.0, rel_tol=1e-12)
    assert math.isclose(probabilities[10], 1 - math.pi / 6 * (THRESHOLD / 1024) ** 3)
    assert 0.51 < probabilities[10] < 0.52

"""Progress in a log (stderr not a terminal): a line per section with the elapsed time and
an estimate of what is left, claims and the tutorial weighed as what they cost, not one
step each (issue "a newcomer's first hour": piped into a CI log, accept was silent for
about 100 s, and its bar counted 267 steps with claims and tutorial as one each).

The clock is a fake one the tests move by hand."""

from __future__ import annotations

import io
import re

import pytest

from blitzbench.runner.progress import (
    BENCHMARK_STEP_S,
    CLAIMS_S,
    LINE_EVERY_S,
    TUTORIAL_S,
    Tracker,
    accept_sections,
    progress,
)

LINE = re.compile(r"^accept: .+; (\d+) s elapsed, about (\d+) s left$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _tracker(steps: int = 100, tutorial: bool = True) -> tuple[Tracker, Clock, io.StringIO]:
    clock, out = Clock(), io.StringIO()
    plan = accept_sections(steps, preflight_s=3.0, tutorial=tutorial)
    return Tracker(plan, "accept", stream=out, clock=clock), clock, out


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_each_section_prints_a_line_with_elapsed_and_what_is_left() -> None:
    tracker, clock, out = _tracker(steps=100)
    tracker.advance("pre-flight: watching the machine for 3 s")
    clock.now += 3
    tracker.advance("claims")
    clock.now += CLAIMS_S
    tracker.advance("tutorial: its own code blocks")
    clock.now += TUTORIAL_S
    for case in range(100):
        tracker.advance(f"lenet.train_step cpu (repeat {case % 3 + 1}/3)")
        clock.now += BENCHMARK_STEP_S
    tracker.advance("profile: LeNet training step")
    tracker.finish()
    lines = _lines(out)
    starts = [line for line in lines if "section" in line]
    assert [re.search(r"accept: ([\w-]+)", line).group(1) for line in starts] == [
        "pre-flight", "claims", "tutorial", "benchmarks", "profile"]
    assert all(LINE.match(line) for line in lines[:-1]), lines
    assert "benchmarks (section 4 of 5, 100 steps)" in starts[3]
    assert lines[-1] == f"accept: done in {clock.now - 1000:.0f} s"


def test_claims_and_the_tutorial_weigh_what_they_cost() -> None:
    """After claims and the tutorial, the work done is theirs in seconds: a third of the
    plan here, not 2 steps of 104 (the bar stood at 2% when a third was done)."""
    tracker, clock, _ = _tracker(steps=100)
    for label in ("pre-flight", "claims", "tutorial", "lenet.forward cpu (repeat 1/3)"):
        tracker.advance(label)
        clock.now += 1
    planned = 3.0 + CLAIMS_S + TUTORIAL_S + 100 * BENCHMARK_STEP_S
    done = tracker.expected_done_s() / planned
    assert done == pytest.approx((3.0 + CLAIMS_S + TUTORIAL_S) / planned, rel=0.01)
    assert done > 0.3 and 2 / 104 < 0.02


def test_the_estimate_follows_this_machines_pace() -> None:
    """A machine that took twice the planned time for the first sections is told about
    twice the plan's rest."""
    tracker, clock, _ = _tracker(steps=100)
    tracker.advance("pre-flight")
    clock.now += 2 * 3.0
    tracker.advance("claims")
    clock.now += 2 * CLAIMS_S
    tracker.advance("tutorial")
    rest = TUTORIAL_S + 100 * BENCHMARK_STEP_S + accept_sections(0, preflight_s=0)[-1].seconds
    assert tracker.left_s() == pytest.approx(2 * rest, rel=0.01)


def test_a_long_section_reports_every_ten_seconds_not_every_step() -> None:
    tracker, clock, out = _tracker(steps=200)
    for label in ("pre-flight", "claims", "tutorial"):
        tracker.advance(label)
    before = len(_lines(out))
    for case in range(200):
        tracker.advance(f"tensor_ops.add cpu (repeat {case})")
        clock.now += 1.0  # 200 s of benchmarks
    inside = _lines(out)[before:]
    assert len(inside) == pytest.approx(200 / LINE_EVERY_S, abs=2)
    assert re.search(r"benchmarks 1\d/200: tensor_ops\.add cpu", inside[1])


def test_benchmarks_not_measured_leave_the_estimate() -> None:
    """A busy pre-flight measures no benchmark: the profile follows the tutorial, and the
    estimate drops the benchmarks' share instead of counting it as still to come."""
    tracker, clock, out = _tracker(steps=300)
    for label in ("pre-flight", "claims", "tutorial"):
        tracker.advance(label)
        clock.now += 1
    tracker.advance("profile: LeNet training step")
    assert tracker.left_s() < 1
    assert "benchmarks" not in out.getvalue()


def test_a_plain_count_of_steps_still_works_and_prints_in_a_log(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``ab`` gives a number of equal steps; stderr under pytest is not a terminal."""
    with progress(total=3, label="ab") as advance:
        for case in ("a", "b", "c"):
            advance(f"case {case}")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("ab: run (section 1 of 1, 3 steps); 0 s elapsed, about ")
    assert err[-1].startswith("ab: done in ")


def test_accept_plans_its_sections_in_order() -> None:
    plan = accept_sections(267, preflight_s=3.0, tutorial=False,
                           extra=["instruction counts"])
    assert [s.name for s in plan] == ["pre-flight", "claims", "benchmarks",
                                      "instruction counts", "profile"]
    assert plan[2].steps == 267 and plan[2].prefix is None


def test_a_pre_flight_that_waits_does_not_set_the_pace() -> None:
    """The pre-flight may wait out a lagging load average (40 s for its planned 3): that
    says nothing of how fast the machine works, so the estimate after it is the plan's."""
    tracker, clock, _ = _tracker(steps=100)
    tracker.advance("pre-flight")
    clock.now += 40.0
    assert tracker.left_s() == pytest.approx(
        sum(s.seconds for s in accept_sections(100, preflight_s=3.0)), rel=0.01)
    tracker.advance("claims")
    clock.now += CLAIMS_S
    tracker.advance("tutorial")
    rest = TUTORIAL_S + 100 * BENCHMARK_STEP_S + accept_sections(0, preflight_s=0)[-1].seconds
    assert tracker.left_s() == pytest.approx(rest, rel=0.01)

"""Proof that every claim check can fail: plant a defect, judge the CPU claims, and require
that exactly the claims depending on it turn red.

Two routes, the same claims. Most breakages are judged in a forked child of this process
(tests/breakages/fork_judge.py: torch imported once, every CPU claim judged through
claims/runner.py, the failed ids sent back through a pipe), so ~100 planted defects cost
minutes, not the half hour a pytest subprocess each would. ``pytest checks`` itself runs in
a subprocess for the unbroken case, for a few breakages (the pytest route stays proven) and
for the ddp and main_guard breakages, whose patch must reach fresh interpreters (the ranks,
the loader scripts).

The score (claims whose planted breaks are caught / claims judged on the CPU, and how many
of the defects the tutorial's own example would not reveal) is printed at the end of the
session by tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import pytest
from breakages import ALL_BREAKAGES, fork_judge
from breakages.model import Breakage

from blitzbench.claims import ALL_CLAIMS, Scope

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "breakages" / "run_broken.py"
RUN_TIMEOUT_S = 600
CPU_CLAIMS = frozenset(c.id for c in ALL_CLAIMS if c.scope is Scope.EACH_DEVICE)
#: Breakages also run through ``pytest checks`` in a subprocess: one the example reveals
#: and one beyond it, so both kinds are proven on the route users run.
PYTEST_ROUTE = ("tensors_add_inplace_copies", "tensors_add_inplace_noncontiguous_copy")
#: Claims the self-test wants at least this many beyond-example breakages for (the issue).
BEYOND_EXAMPLE_FLOOR = 2

#: breakage name -> claim ids caught; filled as tests pass, read by the score summary.
CAUGHT: dict[str, frozenset[str]] = {}
#: breakage name -> the record, for the beyond-example count in the score.
BREAKAGE_BY_NAME = {b.name: b for b in ALL_BREAKAGES}

#: Breakages of claims judged in fresh interpreters only (the ddp ranks, the main_guard
#: scripts: fork_judge.NOT_FORKABLE) can be caught by ``pytest checks`` alone.
FRESH_ONLY = [b for b in ALL_BREAKAGES if b.breaks <= fork_judge.NOT_FORKABLE]
FORKED = [b for b in ALL_BREAKAGES if b not in FRESH_ONLY]
BY_PYTEST = [b for b in ALL_BREAKAGES if b in FRESH_ONLY or b.name in PYTEST_ROUTE]


def run_checks(breakage: str, junit: Path) -> tuple[set[str], set[str], str]:
    """Failed and passed claim ids of a CPU ``pytest checks`` run with ``breakage``."""
    done = subprocess.run([sys.executable, str(RUNNER), breakage, str(junit)], cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    failed, passed = set(), set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        claim_id = case.get("name", "").partition("[")[2].rsplit("-", 1)[0]
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(claim_id)
        elif case.find("skipped") is None:
            passed.add(claim_id)
    return failed, passed, done.stdout[-3000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def forked_results() -> dict[str, fork_judge.Judged]:
    """Every forkable breakage (and none) judged once, two children at a time."""
    return fork_judge.judge_with(["none", *(b.name for b in FORKED)])


def test_unbroken_checks_all_pass(tmp_path: Path) -> None:
    failed, passed, output = run_checks("none", tmp_path / "junit.xml")
    assert not failed, output
    assert passed == CPU_CLAIMS, output


def test_unbroken_forked_judging_all_pass(forked_results: dict[str, fork_judge.Judged]) -> None:
    unbroken = forked_results["none"]
    assert not unbroken.failed, unbroken.log
    assert unbroken.judged == fork_judge.forkable_claim_ids(), unbroken.log


def test_every_cpu_claim_has_breakages() -> None:
    covered = frozenset().union(*(b.breaks for b in ALL_BREAKAGES))
    assert CPU_CLAIMS - covered == set(), "claims no breakage targets"
    assert covered - CPU_CLAIMS == set(), "breakages name unknown or CUDA-only claims"
    assert len(BREAKAGE_BY_NAME) == len(ALL_BREAKAGES), "breakage names repeat"


def short_of_beyond_example(breakages: Iterable[Breakage]) -> dict[str, int]:
    """CPU claims with fewer than BEYOND_EXAMPLE_FLOOR of ``breakages`` that the tutorial's
    example would not reveal, and how many they have (read by the score in conftest.py)."""
    beyond = [b for b in breakages if b.beyond_example]
    counts = {claim: sum(claim in b.breaks for b in beyond) for claim in CPU_CLAIMS}
    return {claim: n for claim, n in sorted(counts.items()) if n < BEYOND_EXAMPLE_FLOOR}


def test_every_cpu_claim_has_breakages_beyond_the_example() -> None:
    """Each claim is judged over its input space, not on the tutorial's example alone: at
    least BEYOND_EXAMPLE_FLOOR of its breakages are ones that example would not reveal."""
    short = short_of_beyond_example(ALL_BREAKAGES)
    assert not short, f"claims with fewer than {BEYOND_EXAMPLE_FLOOR}: {short}"


@pytest.mark.parametrize("breakage", FORKED, ids=lambda b: b.name)
def test_breakage_is_caught(breakage: Breakage,
                            forked_results: dict[str, fork_judge.Judged]) -> None:
    judged = forked_results[breakage.name]
    expected = breakage.breaks - fork_judge.NOT_FORKABLE
    assert judged.failed == expected, (
        f"{breakage.description}: expected exactly {sorted(expected)} to fail, got "
        f"{sorted(judged.failed)}\n{judged.log}")
    CAUGHT[breakage.name] = breakage.breaks


@pytest.mark.parametrize("breakage", BY_PYTEST, ids=lambda b: b.name)
def test_breakage_is_caught_by_pytest_checks(breakage: Breakage, tmp_path: Path) -> None:
    failed, _, output = run_checks(breakage.name, tmp_path / "junit.xml")
    assert failed == set(breakage.breaks), (
        f"{breakage.description}: expected exactly {sorted(breakage.breaks)} to fail, "
        f"got {sorted(failed)}\n{output}")
    CAUGHT[breakage.name] = breakage.breaks

"""Proof that every claim check can fail: plant a defect, judge the CPU claims, and require
that exactly the claims depending on it turn red.

Two routes, the same claims. Most breakages are judged in forked children of a fork server
(tests/breakages/fork_judge.py: torch imported once, claims judged through claims/runner.py,
the failed ids sent back through a pipe), in two parts (tests/breakages/grouping.py):
*alone*, each breakage in its own child judging the claims it aims at, which must all fail;
*together*, breakages that replace no attribute in common applied at once, each child
judging only claims none of them aims at, which must all pass, and every (breakage, other
claim) pair judged so. The exhaustive test at the end (by hand: ``--run-exhaustive``, 11
minutes) judges each breakage alone on every claim, as the two parts together stand for.
``pytest checks`` itself runs in a subprocess that forks a child per run
(tests/breakages/run_broken.py): the unbroken run, two breakages (the pytest route stays
proven) and the ddp and main_guard breakages, whose patch must reach fresh interpreters (the
ranks, the loader scripts). Every judging test here is slow (about 3 of the everyday
command's minutes, 2026-12-06): CI (``-- --run-slow``) runs them all, the everyday session
only the static checks of the breakage catalogue.

The score (claims whose planted breaks are caught / claims judged on the CPU, and how many
of the defects the tutorial's own example would not reveal) is printed at the end of the
session by tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from breakages import ALL_BREAKAGES, fork_judge, grouping
from breakages.fork_judge import Job, Judged
from breakages.model import Breakage

from blitzbench.claims import ALL_CLAIMS, Scope

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "breakages" / "run_broken.py"
#: The whole pytest route (10 runs of ``pytest checks``) took 100-250 s here.
RUN_TIMEOUT_S = 900
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


@dataclass(frozen=True)
class Checked:
    """One ``pytest checks`` run of the route: claim ids failed and passed, its output."""

    failed: frozenset[str]
    passed: frozenset[str]
    output: str


def read_junit(junit: Path, output: str) -> Checked:
    """Failed and passed claim ids of one run, from its JUnit file."""
    failed, passed = set(), set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        claim_id = case.get("name", "").partition("[")[2].rsplit("-", 1)[0]
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(claim_id)
        elif case.find("skipped") is None:
            passed.add(claim_id)
    return Checked(frozenset(failed), frozenset(passed), output[-5000:])


def run_route(out: Path, names: list[str]) -> dict[str, Checked]:
    """Each name (a breakage, or none) a CPU ``pytest checks`` run in a child of one
    run_broken.py process, by name."""
    done = subprocess.run([sys.executable, str(RUNNER), str(out), *names], cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    runs = {}
    for name in names:
        log = out / f"{name}.log"
        output = (log.read_text(errors="replace") if log.exists() else "") + done.stderr
        junit = out / f"{name}.xml"
        runs[name] = read_junit(junit, output) if junit.exists() else Checked(
            frozenset(), frozenset(), f"no JUnit file: the run did not finish\n{output}")
    return runs


@pytest.fixture(scope="module")
def pytest_route(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    """The unbroken run and the BY_PYTEST breakages' runs (a run of one claim is 10-17 s
    here, the unbroken run of all 31 is 33 s, 2026-12-06)."""
    names = ["none", *(b.name for b in BY_PYTEST)]
    return run_route(tmp_path_factory.mktemp("pytest-route"), names)


@pytest.fixture(scope="module")
def alone() -> dict[str, Judged]:
    """Nothing applied (every forkable claim judged), then each breakage applied alone,
    judging the claims it aims at; two children at a time."""
    return fork_judge.judge_jobs(grouping.alone_jobs(ALL_BREAKAGES))


@dataclass(frozen=True)
class Together:
    """Breakages applied at once (grouping.py): the layers, the jobs, what each judged."""

    layers: list[tuple[Breakage, ...]]
    jobs: list[Job]
    judged: dict[str, Judged]


@pytest.fixture(scope="module")
def together(alone: dict[str, Judged]) -> Together:
    """Layers of breakages that replace no attribute in common (read by ``alone``'s
    children), each child judging the claims none of its breakages aims at."""
    patched = {b.name: alone[b.name].patched for b in ALL_BREAKAGES}
    layers = grouping.layers(ALL_BREAKAGES, patched)
    jobs = grouping.together_jobs(layers)
    return Together(layers, jobs, fork_judge.judge_jobs(jobs))


@pytest.mark.slow  # the unbroken run of the route (2026-12-06: 33 s alone)
def test_unbroken_checks_all_pass(pytest_route: dict[str, Checked]) -> None:
    unbroken = pytest_route["none"]
    assert not unbroken.failed, unbroken.output
    assert unbroken.passed == CPU_CLAIMS, unbroken.output


@pytest.mark.slow  # the grouped forked judging: 41 s here (2026-12-06); CI runs it
def test_unbroken_forked_judging_all_pass(alone: dict[str, Judged]) -> None:
    unbroken = alone[grouping.UNBROKEN]
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


@pytest.mark.slow  # shares the 41 s forked judging; CI runs it
@pytest.mark.parametrize("breakage", FORKED, ids=lambda b: b.name)
def test_breakage_is_caught(breakage: Breakage, alone: dict[str, Judged]) -> None:
    """Applied alone, the breakage turns every forkable claim it aims at red."""
    judged = alone[breakage.name]
    expected = breakage.breaks - fork_judge.NOT_FORKABLE
    assert judged.judged == expected and judged.failed == expected, (
        f"{breakage.description}: expected {sorted(expected)} to fail, got "
        f"{sorted(judged.failed)} of {sorted(judged.judged)}\n{judged.log}")
    CAUGHT[breakage.name] = breakage.breaks


@pytest.mark.slow  # the grouped children: 52 s here (2026-12-06); CI runs it
@pytest.mark.parametrize("breakage", ALL_BREAKAGES, ids=lambda b: b.name)
def test_breakage_turns_no_other_claim_red(breakage: Breakage, alone: dict[str, Judged],
                                           together: Together) -> None:
    """Every forkable claim the breakage does not aim at passes with it applied (in a
    child with breakages of other attributes), and the breakage replaced an attribute the
    grouping can see (else it could share a child with a patch of the same thing)."""
    assert alone[breakage.name].patched, (
        f"{breakage.name} replaced nothing fork_judge.patch_points reads "
        f"(extend PATCHED_PACKAGES?)\n{alone[breakage.name].log}")
    assert not grouping.uncovered(breakage, together.jobs)
    for job in (j for j in together.jobs if breakage.name in j.breakages):
        judged = together.judged[job.key]
        assert judged.judged == job.claims and not judged.failed, (
            f"with {breakage.name} and {len(job.breakages) - 1} other breakages of other "
            f"attributes applied ({', '.join(job.breakages)}), {sorted(judged.failed)} "
            f"failed; of {sorted(job.claims)} judged {sorted(judged.judged)}\n{judged.log}")


@pytest.mark.slow  # shares the grouped children; CI runs it
def test_no_two_breakages_of_a_child_replace_the_same_attribute(
        alone: dict[str, Judged], together: Together) -> None:
    """What keeps one patch from undoing another in ``together``; and ``alone``'s unbroken
    child replaced nothing, so what the others read is theirs."""
    assert not alone[grouping.UNBROKEN].patched
    by_name = {b.name: alone[b.name].patched for b in ALL_BREAKAGES}
    for job in together.jobs:
        seen: dict[str, str] = {}
        for name in job.breakages:
            shared = {point: seen[point] for point in by_name[name] if point in seen}
            assert not shared, f"{job.key}: {name} replaces what others replace: {shared}"
            seen.update(dict.fromkeys(by_name[name], name))


@pytest.mark.slow  # the route's runs: 10-17 s a claim here (2026-12-06); CI runs them
@pytest.mark.parametrize("breakage", BY_PYTEST, ids=lambda b: b.name)
def test_breakage_is_caught_by_pytest_checks(breakage: Breakage,
                                             pytest_route: dict[str, Checked]) -> None:
    run = pytest_route[breakage.name]
    assert run.failed == set(breakage.breaks), (
        f"{breakage.description}: expected exactly {sorted(breakage.breaks)} to fail, "
        f"got {sorted(run.failed)}\n{run.output}")
    CAUGHT[breakage.name] = breakage.breaks


@pytest.fixture(scope="module")
def alone_on_every_claim() -> dict[str, Judged]:
    """Each forkable breakage applied alone, judging every forkable claim."""
    forkable = fork_judge.forkable_claim_ids()
    return fork_judge.judge_jobs(Job(b.name, (b.name,), forkable) for b in FORKED)


# 664 s here for all of them under load 5 (2026-12-06, 2-core VM): CI would take 27 min
# with it, so it runs by hand (--run-exhaustive), after a change to the grouping
@pytest.mark.exhaustive
@pytest.mark.parametrize("breakage", FORKED, ids=lambda b: b.name)
def test_breakage_alone_fails_exactly_its_claims(
        breakage: Breakage, alone_on_every_claim: dict[str, Judged]) -> None:
    """What ``alone`` and ``together`` stand for, judged directly: the breakage alone,
    every forkable claim judged, exactly its claims red."""
    judged = alone_on_every_claim[breakage.name]
    expected = breakage.breaks - fork_judge.NOT_FORKABLE
    assert judged.judged == fork_judge.forkable_claim_ids() and judged.failed == expected, (
        f"{breakage.description}: expected exactly {sorted(expected)} to fail, got "
        f"{sorted(judged.failed)}\n{judged.log}")

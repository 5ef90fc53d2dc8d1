"""Proof that every claim check can fail: plant a defect, run ``pytest checks`` on the CPU
in a subprocess, and require that exactly the claims depending on it turn red.

The score (claims whose planted break is caught / claims judged on the CPU) is printed at
the end of the session by tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from breakages import ALL_BREAKAGES
from breakages.model import Breakage

from blitzbench.claims import ALL_CLAIMS, Scope

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "breakages" / "run_broken.py"
RUN_TIMEOUT_S = 600
CPU_CLAIMS = frozenset(c.id for c in ALL_CLAIMS if c.scope is Scope.EACH_DEVICE)

#: breakage name -> claim ids caught; filled as tests pass, read by the score summary.
CAUGHT: dict[str, frozenset[str]] = {}


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


def test_unbroken_checks_all_pass(tmp_path: Path) -> None:
    failed, passed, output = run_checks("none", tmp_path / "junit.xml")
    assert not failed, output
    assert passed == CPU_CLAIMS, output


def test_every_cpu_claim_has_a_breakage() -> None:
    covered = frozenset().union(*(b.breaks for b in ALL_BREAKAGES))
    assert CPU_CLAIMS - covered == set(), "claims no breakage targets"
    assert covered - CPU_CLAIMS == set(), "breakages name unknown or CUDA-only claims"


@pytest.mark.parametrize("breakage", ALL_BREAKAGES, ids=lambda b: b.name)
def test_breakage_is_caught(breakage: Breakage, tmp_path: Path) -> None:
    failed, _, output = run_checks(breakage.name, tmp_path / "junit.xml")
    assert failed == set(breakage.breaks), (
        f"{breakage.description}: expected exactly {sorted(breakage.breaks)} to fail, "
        f"got {sorted(failed)}\n{output}")
    CAUGHT[breakage.name] = breakage.breaks

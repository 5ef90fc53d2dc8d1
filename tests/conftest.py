"""Harness tests: make ``tests/`` importable (for ``breakages``) and print the self-test
score at the end of the session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    selftest = sys.modules.get("test_selftest") or sys.modules.get("tests.test_selftest")
    if selftest is None or not selftest.CAUGHT:
        return
    caught = frozenset().union(*selftest.CAUGHT.values())
    total = selftest.CPU_CLAIMS
    terminalreporter.section("blitzbench self-test score")
    terminalreporter.write_line(
        f"claims whose planted break is caught: {len(caught & total)}/{len(total)} "
        f"(CPU-judged claims; {len(selftest.CAUGHT)} breakages caught)")

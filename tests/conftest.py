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
    caught_breakages = [selftest.BREAKAGE_BY_NAME[name] for name in selftest.CAUGHT]
    beyond = [b for b in caught_breakages if b.beyond_example]
    short = list(selftest.short_of_beyond_example(caught_breakages))
    terminalreporter.section("blitzbench self-test score")
    terminalreporter.write_line(
        f"claims whose planted break is caught: {len(caught & total)}/{len(total)} "
        f"(CPU-judged claims; {len(selftest.CAUGHT)} breakages caught)")
    terminalreporter.write_line(
        f"beyond the tutorial's example: {len(beyond)} breakages caught; claims with fewer "
        f"than {selftest.BEYOND_EXAMPLE_FLOOR}: {len(short)}"
        + (f" ({', '.join(short)})" if short else ""))

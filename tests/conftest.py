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
    beyond = [name for name in selftest.CAUGHT if selftest.BREAKAGE_BY_NAME[name].beyond_example]
    per_claim = {claim: sum(claim in selftest.BREAKAGE_BY_NAME[name].breaks for name in beyond)
                 for claim in total}
    short = sorted(c for c, n in per_claim.items() if n < selftest.BEYOND_EXAMPLE_FLOOR)
    terminalreporter.section("blitzbench self-test score")
    terminalreporter.write_line(
        f"claims whose planted break is caught: {len(caught & total)}/{len(total)} "
        f"(CPU-judged claims; {len(selftest.CAUGHT)} breakages caught)")
    terminalreporter.write_line(
        f"beyond the tutorial's example: {len(beyond)} breakages caught; claims with fewer "
        f"than {selftest.BEYOND_EXAMPLE_FLOOR}: {len(short)}"
        + (f" ({', '.join(short)})" if short else ""))

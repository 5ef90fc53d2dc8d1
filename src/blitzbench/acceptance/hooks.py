"""Test hooks of a torchrun job of ``blitzbench accept``: environment variables that make
a job small, or break it on purpose at a chosen point. Read here and nowhere else; they
exist for tests/test_accept_torchrun.py and are never set in a real run.

- ``BLITZBENCH_TEST_ONLY=REGEX``: each rank measures only the cases whose metric prefix
  (``tensor_ops.add_out[scale=tutorial,size=5x3]``) and judges only the claims whose id
  matches REGEX (``re.search``), and no rank runs the profiler capture, so that an
  end-to-end job takes seconds instead of a minute per rank.
- ``BLITZBENCH_TEST_KILL=RANK:POINT``: rank RANK kills itself with SIGKILL at POINT:
  ``claims`` (after its claim step: mid-run, while the others measure) or ``gather`` (as
  the other ranks enter the gather collective). A signal at a named point, not a timer,
  so the test does not race the run.
- ``BLITZBENCH_TEST_VERSIONS=RANK:JSON``: rank RANK reports the versions in JSON
  (``1:{"torch": "9.9.9"}``) in the job's version check: a rank with another install,
  without installing one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from blitzbench.errors import UsageError

__all__ = ["KILL_POINTS", "ONLY_ENV", "kill_point", "only", "profile_allowed",
           "version_overrides"]

ONLY_ENV = "BLITZBENCH_TEST_ONLY"
KILL_ENV = "BLITZBENCH_TEST_KILL"
VERSIONS_ENV = "BLITZBENCH_TEST_VERSIONS"
KILL_POINTS = ("claims", "gather")

T = TypeVar("T")


def only(items: Iterable[T], name: Callable[[T], str]) -> list[T]:
    """``items`` whose ``name`` matches BLITZBENCH_TEST_ONLY (all of them when unset)."""
    pattern = os.environ.get(ONLY_ENV)
    items = list(items)
    if not pattern:
        return items
    regex = re.compile(pattern)
    return [item for item in items if regex.search(name(item))]


def profile_allowed() -> bool:
    """No profiler capture in a job made small by BLITZBENCH_TEST_ONLY."""
    return not os.environ.get(ONLY_ENV)


def kill_point(point: str, rank: int) -> None:
    """SIGKILL this process when BLITZBENCH_TEST_KILL names this rank and point."""
    wanted = os.environ.get(KILL_ENV)
    if wanted and wanted == f"{rank}:{point}":
        # the line a test times the job's end from
        print(f"blitzbench: test hook: rank {rank} kills itself at {point}",
              file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def version_overrides(rank: int) -> Mapping[str, str]:
    """Versions BLITZBENCH_TEST_VERSIONS makes this rank report."""
    text = os.environ.get(VERSIONS_ENV)
    wanted, _, versions_text = (text or "").partition(":")
    if not text or wanted != str(rank):
        return {}
    try:
        versions = json.loads(versions_text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{VERSIONS_ENV}: not RANK:JSON ({exc.msg})") from None
    if not isinstance(versions, dict):
        raise UsageError(f"{VERSIONS_ENV}: not RANK:JSON (a JSON object of versions)")
    return {str(k): str(v) for k, v in versions.items()}

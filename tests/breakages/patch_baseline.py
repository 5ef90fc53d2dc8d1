"""The patch points as the fork server sees them before any child applies a breakage.

Read once, at import: fork_judge.py has the server preload this module after torch,
blitzbench and the breakages, so every child it forks inherits the reading instead of
taking it again (~0.13 s of ~0.5 s per child judging a claim or two, measured here
2026-12-06). A child whose server did not preload it imports it before applying anything,
which reads the same state.
"""

from __future__ import annotations

from breakages.fork_judge import patch_points

__all__ = ["BEFORE"]

BEFORE = patch_points()

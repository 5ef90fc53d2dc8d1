"""Claims of the tutorial section 'autograd' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "autograd"
CLAIMS: tuple[Claim, ...] = ()
